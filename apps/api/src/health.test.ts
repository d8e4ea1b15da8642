/**
 * `providerTraces.health` over HTTP: the caller's write latency and OTLP counters move with its own provider-trace
 * writes and `POST /v1/traces` requests, another organization sees none of them, and the process-wide figures name
 * no organization. On PGlite and Postgres, with ClickHouse embedded (chdb) for the spans.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createTestRuntime, databaseTargets, sampleTraces, type TestRuntime } from '@runtrace/core/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from './server.ts';

interface Health {
  now: number;
  backends: {
    backend: string;
    writesOk: number;
    latency: { count: number; p50Ms: number | null; p99Ms: number | null };
    lastOkAt: number | null;
    lastFailureAt: number | null;
  }[];
  otlp: {
    enabled: boolean;
    spans: { written: number; rejected: number; failed: number };
    requests: Record<string, number>;
    rejectedByReason: { reason: string; spans: number }[];
    lastRejectedAt: number | null;
    lastWrittenAt: number | null;
    server: { queueDepth: number; queueBytes: number; unattributedRequests: { outcome: string; requests: number }[] };
  };
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** An OTLP/JSON export request of `valid` spans, plus one span with a trace id of the wrong length. */
function exportBody(valid: number): string {
  const traceId = hex(16);
  const t0 = BigInt(Date.now()) * 1_000_000n;
  const span = (id: string, trace = traceId) => ({
    traceId: trace,
    spanId: id,
    name: 'agent_step',
    kind: 1,
    startTimeUnixNano: String(t0),
    endTimeUnixNano: String(t0 + 5_000_000n),
  });
  const spans = [...Array.from({ length: valid }, () => span(hex(8))), span(hex(8), 'abc')];
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ spans }] }] });
}

describe.each(databaseTargets())('telemetry health over HTTP on $name', (target) => {
  let rt: TestRuntime;
  let app: FastifyInstance;
  let url: string;
  const keys: { a: string; b: string; orgA: string } = { a: '', b: '', orgA: '' };

  const health = async (key: string): Promise<{ health: Health; text: string }> => {
    const res = await fetch(`${url}/trpc/providerTraces.health`, { headers: { authorization: `Bearer ${key}` } });
    const text = await res.text();
    expect(res.status).toBe(200);
    return { health: (JSON.parse(text) as { result: { data: Health } }).result.data, text };
  };
  const postTraces = (body: string, key: string) =>
    fetch(`${url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body,
    });

  beforeAll(async () => {
    rt = await createTestRuntime(target, { NODE_ENV: 'production', CLICKHOUSE_URL: 'chdb:memory' });
    app = await buildServer(rt);
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const a = await rt.auth.createOrganization('a');
    const b = await rt.auth.createOrganization('b');
    keys.a = (await rt.auth.createApiKey(a.id, 'a')).key;
    keys.b = (await rt.auth.createApiKey(b.id, 'b')).key;
    keys.orgA = a.id;
  });
  afterAll(async () => {
    await app?.close();
    await rt?.dispose();
  });

  it('shows an organization its own write latency and OTLP counters, and nothing of another organization', async () => {
    const before = (await health(keys.a)).health;
    expect(before.backends[0]).toMatchObject({
      backend: 'postgres',
      writesOk: 0,
      latency: { count: 0, p50Ms: null, p99Ms: null },
      lastOkAt: null,
      lastFailureAt: null,
    });
    expect(before.otlp).toMatchObject({ enabled: true, spans: { written: 0, rejected: 0, failed: 0 } });

    const sample = sampleTraces()[0]!;
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${url}/trpc/providerTraces.create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.a}` },
        body: JSON.stringify(sample),
      });
      expect(res.status).toBe(200);
    }
    expect((await postTraces(exportBody(2), keys.a)).status).toBe(200);
    expect((await postTraces('{not json', keys.a)).status).toBe(400);
    expect((await postTraces(exportBody(1), 'rt_not-a-key')).status).toBe(401);

    const { health: after } = await health(keys.a);
    const postgres = after.backends[0]!;
    expect(postgres.writesOk).toBe(3);
    expect(postgres.latency.count).toBe(3);
    expect(postgres.latency.p50Ms).toBeGreaterThan(0);
    expect(postgres.latency.p99Ms).toBeGreaterThanOrEqual(postgres.latency.p50Ms!);
    expect(postgres.lastOkAt).toBeGreaterThanOrEqual(before.now);
    expect(postgres.lastOkAt).toBeLessThanOrEqual(after.now);
    expect(after.otlp.spans).toEqual({ written: 2, rejected: 1, failed: 0 });
    expect(after.otlp.requests).toMatchObject({ accepted: 0, partial: 1, malformed: 1, unauthorized: 0 });
    expect(after.otlp.rejectedByReason).toEqual([
      { reason: 'traceId is not 16 bytes (32 hex digits), or is all zeros', spans: 1 },
    ]);
    expect(after.otlp.lastRejectedAt).toBeGreaterThanOrEqual(before.now);
    expect(after.otlp.lastWrittenAt).toBeGreaterThanOrEqual(before.now);
    // The refused key belongs to nobody: counted process-wide only.
    expect(after.otlp.server.unattributedRequests).toEqual([{ outcome: 'unauthorized', requests: 1 }]);

    const { health: other, text: otherText } = await health(keys.b);
    expect(other.backends[0]).toMatchObject({ writesOk: 0, latency: { count: 0, p50Ms: null }, lastOkAt: null });
    expect(other.otlp.spans).toEqual({ written: 0, rejected: 0, failed: 0 });
    expect(Object.values(other.otlp.requests).every((n) => n === 0)).toBe(true);
    expect(other.otlp.rejectedByReason).toEqual([]);
    expect(other.otlp.lastRejectedAt).toBeNull();
    expect(otherText).not.toContain(keys.orgA);

    // /metrics counts the same requests over every caller.
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^runtrace_otlp_requests_total\{outcome="partial"\} 1$/m);
    expect(metrics).toMatch(/^runtrace_otlp_requests_total\{outcome="unauthorized"\} 1$/m);
    expect(metrics).toMatch(/^runtrace_otlp_requests_total\{outcome="malformed"\} 1$/m);
  });
});
