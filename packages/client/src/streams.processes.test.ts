import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createScratchDatabase, newId } from '@runtrace/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntraceClient, type RuntraceClient } from './create-runtrace-client.ts';
import { type ApiProcess, spawnApi } from './testing/api-process.ts';
import { sharedServers } from './testing/shared-servers.ts';
import { codeOf, until, watchChanges, watchStream } from './testing/streams.ts';
import type { RunEventInput } from './types.ts';

const assistant = (id: string, content: string): RunEventInput => ({ messageType: 'assistant_message', id, content });
const RECONNECT_MS = 50;

describe('an api process of its own (PGlite, in-process broker)', () => {
  let dataDir: string;
  let api: ApiProcess | null = null;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'runtrace-streams-'));
  });
  afterAll(async () => {
    await api?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('ends open subscriptions on SIGTERM and exits 0 at once; after a restart the lost stream is a clear NOT_FOUND', async () => {
    api = await spawnApi({ RUNTRACE_DATA_DIR: dataDir });
    const client = createRuntraceClient({ url: api.url, reconnectDelayMs: RECONNECT_MS });
    const run = await client.runs.create.mutate({ agentId: newId('agent'), background: true });
    await client.runs.appendEvents.mutate({ runId: run.id, events: [assistant('m', 'a'), assistant('m', 'b')] });
    const w = watchStream(client, { runId: run.id });
    await until('the backlog', () => w.events().length === 2);

    const t0 = performance.now();
    const code = await api.stop();
    expect(code).toBe(0);
    expect(performance.now() - t0).toBeLessThan(5000);
    // Told SERVICE_UNAVAILABLE (not a normal end): the client keeps reconnecting.
    await until('the client to reconnect', () => w.reconnects >= 1);
    expect(w.completed).toBe(false);
    expect(w.error).toBeNull();

    // The in-process broker does not survive a restart: resuming after "<epoch>:2" is refused, not silently empty.
    const port = Number(new URL(api.url).port);
    api = await spawnApi({ RUNTRACE_DATA_DIR: dataDir }, { port });
    await w.done;
    expect(codeOf(w.error)).toBe('NOT_FOUND');
    expect(w.error?.message).toMatch(/lost/);
    expect(w.events()).toHaveLength(2);
  });
});

/** Both servers' URLs, or nothing: the suite needs a Postgres and a Redis that several processes share. */
const servers = sharedServers('the two-process suite');
const shared = servers ? [servers] : [];

describe.each(shared)('two api processes sharing one Redis and one Postgres', ({ databaseUrl, redisUrl }) => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let a: ApiProcess;
  let b: ApiProcess;
  let viaA: RuntraceClient;
  let viaB: RuntraceClient;
  const env = () => ({ DATABASE_URL: scratch.url, REDIS_URL: redisUrl });

  beforeAll(async () => {
    scratch = await createScratchDatabase(databaseUrl);
    // Started together: migrations run once, under the advisory lock. If one fails, the other is stopped too.
    const started = await Promise.allSettled([spawnApi(env()), spawnApi(env())]);
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : null)));
      throw failed.reason;
    }
    [a, b] = started.map((s) => (s as PromiseFulfilledResult<ApiProcess>).value) as [ApiProcess, ApiProcess];
    viaA = createRuntraceClient({ url: a.url, reconnectDelayMs: RECONNECT_MS });
    viaB = createRuntraceClient({ url: b.url, reconnectDelayMs: RECONNECT_MS });
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await scratch?.drop();
  });

  it('delivers events appended through A to subscribers of B (and of A), live, in order, until the end', async () => {
    const run = await viaA.runs.create.mutate({ agentId: newId('agent'), background: true });
    const watchers = [
      watchStream(viaB, { runId: run.id }),
      watchStream(viaB, { runId: run.id }),
      watchStream(viaA, { runId: run.id }),
    ];
    await until('the subscriptions to start', () => watchers.every((w) => w.started > 0));
    const messageId = newId('message');
    for (let batch = 0; batch < 20; batch++) {
      await viaA.runs.appendEvents.mutate({
        runId: run.id,
        events: Array.from({ length: 10 }, (_, i) => assistant(messageId, String(batch * 10 + i + 1))),
      });
    }
    await until('the live events on B', () => watchers.every((w) => w.events().length === 200));
    expect(watchers.every((w) => !w.completed)).toBe(true);
    await viaA.runs.appendEvents.mutate({
      runId: run.id,
      events: [{ messageType: 'stop_reason', stopReason: 'end_turn' }],
      end: true,
    });
    await Promise.all(watchers.map((w) => w.done));
    for (const w of watchers) {
      expect(w.error).toBeNull();
      expect(w.events().map((e) => e.data.seqId)).toEqual(Array.from({ length: 201 }, (_, i) => i + 1));
    }
    expect(await viaB.runs.retrieve.query({ runId: run.id })).toMatchObject({ status: 'completed' });
  });

  it('ends B’s subscribers with stop_reason cancelled within 1 s when A cancels the run', async () => {
    const run = await viaA.runs.create.mutate({ agentId: newId('agent'), background: true });
    const w = watchStream(viaB, { runId: run.id });
    await viaA.runs.appendEvents.mutate({ runId: run.id, events: [assistant('m', 'thinking')] });
    await until('the first event', () => w.events().length === 1);
    const t0 = performance.now();
    await viaA.runs.cancel.mutate({ runId: run.id });
    await w.done;
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(w.events().at(-1)?.data).toMatchObject({ messageType: 'stop_reason', stopReason: 'cancelled' });
  });

  it('delivers run changes made through A to runs.changes subscribers of B', async () => {
    const w = watchChanges(viaB);
    await until('the feed to start', () => w.started > 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const run = await viaA.runs.create.mutate({ agentId: newId('agent'), background: true });
    await viaA.runs.update.mutate({ runId: run.id, status: 'running' });
    await viaA.runs.cancel.mutate({ runId: run.id });
    await until('three changes', () => w.values.filter((c) => c.run.id === run.id).length >= 3);
    expect(w.values.filter((c) => c.run.id === run.id).map((c) => [c.type, c.run.status])).toEqual([
      ['created', 'created'],
      ['status_changed', 'running'],
      ['status_changed', 'cancelled'],
    ]);
    w.unsubscribe();
  });

  it('resumes a subscriber of B on B restarted after SIGTERM, with nothing lost while B was down', async () => {
    const run = await viaA.runs.create.mutate({ agentId: newId('agent'), background: true });
    const w = watchStream(viaB, { runId: run.id });
    const messageId = newId('message');
    await viaA.runs.appendEvents.mutate({
      runId: run.id,
      events: Array.from({ length: 50 }, (_, i) => assistant(messageId, String(i + 1))),
    });
    await until('the first events', () => w.events().length === 50);

    const port = Number(new URL(b.url).port);
    expect(await b.stop()).toBe(0);
    await viaA.runs.appendEvents.mutate({
      runId: run.id,
      events: Array.from({ length: 50 }, (_, i) => assistant(messageId, String(i + 51))),
    });
    b = await spawnApi(env(), { port });
    await viaA.runs.appendEvents.mutate({
      runId: run.id,
      events: [assistant(messageId, '101'), { messageType: 'stop_reason', stopReason: 'end_turn' }],
      end: true,
    });
    await w.done;
    expect(w.error).toBeNull();
    expect(w.reconnects).toBeGreaterThanOrEqual(1);
    expect(w.events().map((e) => e.data.seqId)).toEqual(Array.from({ length: 102 }, (_, i) => i + 1));
  });
});
