import type { AddressInfo } from 'node:net';
import { type Actor, newId } from '@runtrace/core';
import { createTestRuntime, databaseTargets, sampleTraces, type TestRuntime } from '@runtrace/core/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from './server.ts';

describe.each(databaseTargets())('provider traces over HTTP on $name', (target) => {
  let rt: TestRuntime;
  let app: FastifyInstance;
  let url: string;
  let orgB: { key: string; actor: Actor };

  const call = async (procedure: string, input: unknown, options: { key?: string; method?: 'GET' | 'POST' } = {}) => {
    const method = options.method ?? 'POST';
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.key) headers.authorization = `Bearer ${options.key}`;
    const res =
      method === 'POST'
        ? await fetch(`${url}/trpc/${procedure}`, { method, headers, body: JSON.stringify(input) })
        : await fetch(
            `${url}/trpc/${procedure}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`,
            { headers },
          );
    return {
      status: res.status,
      body: (await res.json()) as {
        result?: { data: unknown };
        error?: { message: string; data: Record<string, unknown> };
      },
    };
  };

  beforeAll(async () => {
    rt = await createTestRuntime(target, { NODE_ENV: 'production' });
    app = await buildServer(rt);
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const org = await rt.auth.createOrganization('b');
    const key = await rt.auth.createApiKey(org.id, 'b');
    orgB = { key: key.key, actor: { organizationId: org.id, userId: org.userId } };
  });
  afterAll(async () => {
    await app?.close();
    await rt?.dispose();
  });

  it('records a trace for a step and reads it back through steps.trace and providerTraces.list', async () => {
    const run = await rt.runs.create(await rt.auth.ensureDefaultActor(), { agentId: newId('agent') });
    const step = await rt.steps.create(await rt.auth.ensureDefaultActor(), { runId: run.id });
    const sample = sampleTraces()[0]!;
    const created = await call('providerTraces.create', { ...sample, stepId: step.id, runId: run.id });
    expect(created.status).toBe(200);
    const trace = created.body.result?.data as { id: string; requestJson: unknown };
    expect(trace.id).toMatch(/^provider_trace-/);
    const read = await call('steps.trace', { stepId: step.id }, { method: 'GET' });
    expect(read.body.result?.data).toMatchObject({ id: trace.id, requestJson: sample.requestJson, stepId: step.id });
    const listed = await call('providerTraces.list', { runId: run.id }, { method: 'GET' });
    expect((listed.body.result!.data as { items: { id: string }[] }).items.map((t) => t.id)).toEqual([trace.id]);
    const none = await rt.steps.create(await rt.auth.ensureDefaultActor(), { runId: run.id });
    expect((await call('steps.trace', { stepId: none.id }, { method: 'GET' })).body.result?.data).toBeNull();
    // another organization: the same NOT_FOUND as an unknown id, for reads and for references in writes
    const foreign = await call('steps.trace', { stepId: step.id }, { method: 'GET', key: orgB.key });
    const unknown = await call('steps.trace', { stepId: newId('step') }, { method: 'GET', key: orgB.key });
    expect([foreign.status, unknown.status]).toEqual([404, 404]);
    expect(foreign.body.error?.data.code).toBe('NOT_FOUND');
    const write = await call('providerTraces.create', { ...sample, stepId: step.id }, { key: orgB.key });
    expect(write.status).toBe(404);
    expect((await call('providerTraces.list', { runId: run.id }, { method: 'GET', key: orgB.key })).status).toBe(404);
    // deleting the run deletes its traces
    await rt.runs.delete(await rt.auth.ensureDefaultActor(), { runId: run.id });
    expect(await rt.telemetry.readByStep(await rt.auth.ensureDefaultActor(), step.id)).toBeNull();
  });

  it('refuses unknown keys such as organizationId, naming the key, and writes nothing', async () => {
    const id = newId('providerTrace');
    const res = await call('providerTraces.create', { id, requestJson: {}, responseJson: {}, organizationId: 'org-x' });
    expect(res.status).toBe(400);
    expect(res.body.error?.data.field).toBe('organizationId');
    expect(res.body.error?.message).toMatch(/organizationId/);
    const missing = await call('providerTraces.create', { requestJson: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.error?.data.field).toBe('responseJson');
    const notObject = await call('providerTraces.create', { requestJson: [], responseJson: {} });
    expect(notObject.body.error?.data.field).toBe('requestJson');
  });

  it('takes bodies up to 32 MiB for providerTraces.create and 1 MiB elsewhere, answering 413 beyond', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024);
    const ok = await call('providerTraces.create', { requestJson: { big }, responseJson: {} });
    expect(ok.status).toBe(200);
    const tooBigForRuns = await call('runs.create', { agentId: newId('agent'), metadata: { big } });
    expect(tooBigForRuns.status).toBe(413);
    expect(tooBigForRuns.body.error?.data.code).toBe('PAYLOAD_TOO_LARGE');
    const huge = 'y'.repeat(33 * 1024 * 1024);
    const tooBig = await call('providerTraces.create', { requestJson: { huge }, responseJson: {} });
    expect(tooBig.status).toBe(413);
  });

  it('counts a chunked body (no Content-Length) against the same limits as it streams', async () => {
    const chunked = (path: string, size: number) => {
      const text = JSON.stringify({ agentId: newId('agent'), metadata: { pad: 'z'.repeat(size) } });
      const bytes = new TextEncoder().encode(text);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.subarray(i, i + 64 * 1024));
          controller.close();
        },
      });
      return fetch(`${url}/trpc/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        duplex: 'half',
      } as RequestInit);
    };
    const small = await chunked('runs.create', 1000);
    expect(small.status).toBe(200);
    const tooBig = await chunked('runs.create', 2 * 1024 * 1024);
    expect(tooBig.status).toBe(413);
  });

  it('exposes per-backend counters on /metrics and providerTraces.health', async () => {
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/runtrace_provider_trace_writes_total\{backend="postgres",result="ok"\} [1-9]/);
    expect(text).toContain('runtrace_provider_trace_queue_depth{backend="postgres"}');
    expect(text).toContain('runtrace_provider_trace_dropped_total{backend="postgres"}');
    expect(text).toContain('runtrace_provider_trace_reconnects_total{backend="postgres"}');
    const health = await call('providerTraces.health', undefined, { method: 'GET' });
    expect(
      (health.body.result!.data as { backends: { backend: string; writesOk: number }[] }).backends[0],
    ).toMatchObject({
      backend: 'postgres',
      writesOk: expect.any(Number),
    });
  });
});
