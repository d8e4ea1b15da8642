/**
 * runs.traceUpdates over the real server through the typed client: spans exported to /v1/traces for the run's trace
 * arrive while subscribed, filtered as runs.trace filters them; the errors are runs.trace's.
 */
import { randomBytes } from 'node:crypto';
import { databaseTargets, newId, streamTargets } from '@runtrace/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntraceClient } from './create-runtrace-client.ts';
import { startApi, type TestApi } from './testing/start-api.ts';
import { codeOf, sleep, until, watchTraceUpdates } from './testing/streams.ts';
import type { TraceSpan, TraceUpdate } from './types.ts';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** Exports spans of one trace over OTLP/HTTP JSON: [spanId, name, parentSpanId, ms after t0, attributes]. */
async function exportSpans(
  api: TestApi,
  traceId: string,
  spans: [string, string, string, number, Record<string, string>?][],
  apiKey?: string,
): Promise<void> {
  const t0 = BigInt(Date.now()) * 1_000_000n;
  const ns = (ms: number) => String(t0 + BigInt(ms) * 1_000_000n);
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'agent' } }] },
        scopeSpans: [
          {
            spans: spans.map(([spanId, name, parentSpanId, at, attrs]) => ({
              traceId,
              spanId,
              parentSpanId,
              name,
              startTimeUnixNano: ns(at),
              endTimeUnixNano: ns(at + 3),
              attributes: Object.entries(attrs ?? {}).map(([key, v]) => ({ key, value: { stringValue: v } })),
            })),
          },
        ],
      },
    ],
  };
  const res = await fetch(`${api.url}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`OTLP export answered ${res.status}: ${await res.text()}`);
}

/** The spans a subscriber holds after its updates: a snapshot replaces, spans merge by id. */
function held(updates: TraceUpdate[]): TraceSpan[] {
  const byId = new Map<string, TraceSpan>();
  for (const u of updates) {
    if (u.kind === 'snapshot') byId.clear();
    for (const span of u.spans) byId.set(span.spanId, span);
  }
  return [...byId.values()];
}

const targets = databaseTargets()
  .slice(0, 1)
  .flatMap((db) => streamTargets().map((stream) => ({ db, stream, name: `${db.name}, ${stream.name}` })));

describe.each(targets)('runs.traceUpdates over HTTP ($name)', ({ db, stream }) => {
  let api: TestApi;
  let client: RuntraceClient;
  let other: RuntraceClient;

  beforeAll(async () => {
    api = await startApi(db, { CLICKHOUSE_URL: 'chdb:memory', ...stream.env });
    client = api.client(undefined, { reconnectDelayMs: 20 });
    const org = await api.runtime.auth.createOrganization('other org');
    other = api.client((await api.runtime.auth.createApiKey(org.id, 'k')).key, { reconnectDelayMs: 20 });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('yields the run’s trace, then the spans posted to /v1/traces for it as they are written', async () => {
    const run = await client.runs.create.mutate({ agentId: newId('agent') });
    const traceId = hex(16);
    await client.steps.create.mutate({ runId: run.id, traceId });
    const root = hex(8);
    await exportSpans(api, traceId, [[root, 'POST /v1/agents/messages', '', 0]]);
    const w = watchTraceUpdates(client, { runId: run.id });
    const llm = watchTraceUpdates(client, { runId: run.id, llmSpans: true });
    await until('both snapshots', () => w.values.length >= 1 && llm.values.length >= 1);
    expect(w.values[0]).toEqual({ kind: 'snapshot', spans: await client.runs.trace.query({ runId: run.id }) });
    expect(w.values[0]?.spans.map((s) => s.spanName)).toEqual(['POST /v1/agents/messages']);

    const step = hex(8);
    await exportSpans(api, traceId, [
      [step, 'agent_step', root, 1],
      [hex(8), 'chat', step, 2, { 'gen_ai.request.model': 'gpt-4o' }],
      [hex(8), 'http.get', step, 3],
      [hex(8), 'ToolExecutor._execute_tool', step, 4],
    ]);
    await until('the new spans', () => held(w.values).length === 3 && held(llm.values).length === 4);
    expect(w.values[1]?.kind).toBe('spans');
    expect(held(w.values)).toEqual(await client.runs.trace.query({ runId: run.id }));
    expect(held(llm.values)).toEqual(await client.runs.trace.query({ runId: run.id, llmSpans: true }));
    w.unsubscribe();
    llm.unsubscribe();
    await until('the server to close both streams', () => api.openStreams() === 0, 5000);
  });

  it('answers NOT_FOUND for another organization’s run and an unknown one, BAD_REQUEST naming runId for a bad id', async () => {
    const run = await client.runs.create.mutate({ agentId: newId('agent') });
    const foreign = watchTraceUpdates(other, { runId: run.id });
    const unknown = watchTraceUpdates(client, { runId: newId('run') });
    const bad = watchTraceUpdates(client, { runId: 'run-nope' });
    await Promise.all([foreign.done, unknown.done, bad.done]);
    expect(codeOf(foreign.error)).toBe('NOT_FOUND');
    expect(codeOf(unknown.error)).toBe('NOT_FOUND');
    expect(codeOf(bad.error)).toBe('BAD_REQUEST');
    expect((bad.error?.data as { field?: string } | undefined)?.field).toBe('runId');
    // Not retried: errors that are not SERVICE_UNAVAILABLE end the subscription.
    await sleep(200);
    expect(api.sseRequests.filter((r) => r.url.includes('traceUpdates') && r.url.includes(run.id))).toHaveLength(1);
  });

  it('does not deliver another organization’s spans of the same trace id', async () => {
    const run = await client.runs.create.mutate({ agentId: newId('agent') });
    const traceId = hex(16);
    await client.steps.create.mutate({ runId: run.id, traceId });
    const w = watchTraceUpdates(client, { runId: run.id });
    await until('the snapshot', () => w.values.length >= 1);
    const org = await api.runtime.auth.createOrganization('third org');
    const key = (await api.runtime.auth.createApiKey(org.id, 'k')).key;
    await exportSpans(api, traceId, [[hex(8), 'theirs', '', 0]], key);
    await exportSpans(api, traceId, [[hex(8), 'ours', '', 0]]);
    await until('our span', () => held(w.values).length >= 1);
    await sleep(100);
    expect(held(w.values).map((s) => s.spanName)).toEqual(['ours']);
    w.unsubscribe();
  });
});

describe('runs.traceUpdates with CLICKHOUSE_URL=off', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startApi(databaseTargets()[0]!, { CLICKHOUSE_URL: 'off' });
  });
  afterAll(async () => {
    await api?.close();
  });

  it('answers NOT_IMPLEMENTED naming CLICKHOUSE_URL, as runs.trace does', async () => {
    const client = api.client();
    const run = await client.runs.create.mutate({ agentId: newId('agent') });
    const w = watchTraceUpdates(client, { runId: run.id });
    await w.done;
    expect(codeOf(w.error)).toBe('NOT_IMPLEMENTED');
    expect(w.error?.message).toMatch(/CLICKHOUSE_URL/);
  });
});

describe('runs.traceUpdates and a server shutting down', () => {
  it('ends the open subscription, so the server closes promptly, and the client tries to reconnect', async () => {
    const api = await startApi(databaseTargets()[0]!, { CLICKHOUSE_URL: 'chdb:memory' });
    const client = api.client(undefined, { reconnectDelayMs: 20 });
    try {
      const run = await client.runs.create.mutate({ agentId: newId('agent') });
      const w = watchTraceUpdates(client, { runId: run.id });
      await until('the snapshot', () => w.values.length === 1);
      expect(api.openStreams()).toBe(1);
      const started = Date.now();
      await api.close();
      // The HTTP server's close waits for every response: an SSE response that never ended would hold it.
      expect(Date.now() - started).toBeLessThan(10_000);
      await until('the client to see the stream end', () => w.reconnects > 0 || w.error !== null, 5000);
      w.unsubscribe();
    } catch (err) {
      await api.close().catch(() => {});
      throw err;
    }
  });
});
