/**
 * runs.traceUpdates' core: spans ingested by one OtelTraces reach the subscribers of another, over each feed (the
 * in-process one, shared as one process shares it; Redis, with a second pair of connections as another api process
 * would have), on a real chdb and a real database.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Actor, DEFAULT_ACTOR } from '../actor.ts';
import { RedisRunChangeFeed } from '../streams/redis-changes.ts';
import { MemoryRunChangeFeed, type RunChangeFeed } from '../streams/run-changes.ts';
import { createTestRuntime, databaseTargets, newId, streamTargets, type TestRuntime } from '../testing/index.ts';
import { traceSpansTopic } from './live-spans.ts';
import { OtelTraces, TRACE_WATCHERS_TOPIC } from './otel-traces.ts';
import type { TraceSpan } from './schemas.ts';
import type { TraceUpdate } from './trace-updates.ts';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

interface Span {
  id: string;
  name: string;
  parent?: string;
  /** ms after the trace's start */
  at: number;
  attrs?: Record<string, string | number>;
  rich?: boolean;
}

/** An OTLP/JSON request of one trace's spans; `rich` spans carry events and a link (their nanoseconds too). */
function request(traceId: string, t0: bigint, spans: Span[]): Buffer {
  const ns = (ms: number) => String(t0 + BigInt(ms) * 1_000_000n + 123n);
  return Buffer.from(
    JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'agent' } }] },
          scopeSpans: [
            {
              scope: { name: 'letta', version: '1' },
              spans: spans.map((s) => ({
                traceId,
                spanId: s.id,
                parentSpanId: s.parent ?? '',
                name: s.name,
                kind: 1,
                startTimeUnixNano: ns(s.at),
                endTimeUnixNano: ns(s.at + 5),
                attributes: Object.entries(s.attrs ?? {}).map(([key, value]) => ({
                  key,
                  value: typeof value === 'number' ? { intValue: String(value) } : { stringValue: value },
                })),
                status: { code: 1 },
                ...(s.rich
                  ? {
                      events: [{ name: 'first token', timeUnixNano: ns(s.at + 1), attributes: [] }],
                      links: [{ traceId: hex(16), spanId: hex(8), attributes: [] }],
                    }
                  : {}),
              })),
            },
          ],
        },
      ],
    }),
  );
}

/** Pulls updates, failing (not hanging) when none comes in time. */
function puller(updates: AsyncIterable<TraceUpdate>) {
  const it = updates[Symbol.asyncIterator]();
  return async (ms = 8000): Promise<TraceUpdate> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no update within ${ms} ms`)), ms);
    });
    try {
      const r = await Promise.race([it.next(), late]);
      if (r.done) throw new Error('the updates ended');
      return r.value;
    } finally {
      clearTimeout(timer);
    }
  };
}

const names = (spans: TraceSpan[]) => spans.map((s) => s.spanName);

describe.each(streamTargets())('runs.traceUpdates over the $name feed', (target) => {
  let rt: TestRuntime;
  /** The subscribing side (a short trace-id refresh, so that gaining a trace id is quick to see). */
  let sub: OtelTraces;
  /** The ingesting side: another process with Redis, this process's feed in memory. */
  let pub: OtelTraces;
  let pubFeed: RunChangeFeed;
  const t0 = BigInt(Date.now() - 60_000) * 1_000_000n;

  beforeAll(async () => {
    rt = await createTestRuntime(databaseTargets()[0]!, { CLICKHOUSE_URL: 'chdb:memory', ...target.env });
    const url = target.env.REDIS_URL;
    pubFeed = url ? await RedisRunChangeFeed.connect({ url }) : rt.runChanges;
    const base = { clickhouse: rt.clickhouse, db: rt.database.db, batching: { minBatchRows: 1, flushIntervalMs: 5 } };
    sub = new OtelTraces({ ...base, feed: rt.runChanges, live: { traceIdsRefreshMs: 100 } });
    pub = new OtelTraces({ ...base, feed: pubFeed });
  });
  afterAll(async () => {
    await pub?.close();
    await sub?.close();
    if (pubFeed !== rt?.runChanges) await pubFeed?.close();
    await rt?.dispose();
  });

  const held = () =>
    rt.runChanges instanceof MemoryRunChangeFeed
      ? rt.runChanges.stats().subscribers
      : (rt.runChanges as RedisRunChangeFeed).stats().subscribers;

  async function runWithTrace(actor: Actor = DEFAULT_ACTOR) {
    const run = await rt.runs.create(actor, { agentId: newId('agent') });
    const traceId = hex(16);
    await rt.steps.create(actor, { runId: run.id, traceId });
    return { run, traceId };
  }

  it('yields the trace as runs.trace has it, then the spans ingested elsewhere as they are written, filtered alike', async () => {
    const { run, traceId } = await runWithTrace();
    const root = hex(8);
    await pub.ingest(DEFAULT_ACTOR, request(traceId, t0, [{ id: root, name: 'POST /v1/agents', at: 0 }]), 'json');
    const ac = new AbortController();
    const next = puller(await sub.updates(DEFAULT_ACTOR, { runId: run.id }, ac.signal));
    const withLlm = puller(await sub.updates(DEFAULT_ACTOR, { runId: run.id, llmSpans: true }, ac.signal));
    expect(await next()).toEqual({ kind: 'snapshot', spans: await rt.traces.forRun(DEFAULT_ACTOR, { runId: run.id }) });
    expect(names((await withLlm()).spans)).toEqual(['POST /v1/agents']);

    const step = hex(8);
    await pub.ingest(
      DEFAULT_ACTOR,
      request(traceId, t0, [
        { id: step, name: 'agent_step', parent: root, at: 10, rich: true },
        { id: hex(8), name: 'chat gpt-4o', parent: step, at: 11, attrs: { 'gen_ai.request.model': 'gpt-4o' } },
        { id: hex(8), name: 'db.query', parent: step, at: 12 },
        { id: hex(8), name: 'Agent._execute_tool', parent: step, at: 13, attrs: { 'tool.calls': 2 } },
      ]),
      'json',
    );
    const live = await next();
    expect(live.kind).toBe('spans');
    expect(names(live.spans)).toEqual(['agent_step', 'Agent._execute_tool']);
    expect(names((await withLlm()).spans)).toEqual(['agent_step', 'chat gpt-4o', 'Agent._execute_tool']);
    // Exactly what a read of the stored rows answers: nanoseconds, attributes, events and links alike.
    const stored = await rt.traces.forRun(DEFAULT_ACTOR, { runId: run.id });
    expect(live.spans).toEqual(stored.slice(1));
    ac.abort();
  });

  it('follows the trace ids the run gains while subscribed, with their spans written before', async () => {
    const { run } = await runWithTrace();
    const ac = new AbortController();
    const next = puller(await sub.updates(DEFAULT_ACTOR, { runId: run.id }, ac.signal));
    expect(await next()).toEqual({ kind: 'snapshot', spans: [] });
    const gained = hex(16);
    await pub.ingest(DEFAULT_ACTOR, request(gained, t0, [{ id: hex(8), name: 'early root', at: 0 }]), 'json');
    await rt.steps.create(DEFAULT_ACTOR, { runId: run.id, traceId: gained });
    expect(names((await next()).spans)).toEqual(['early root']);
    await pub.ingest(
      DEFAULT_ACTOR,
      request(gained, t0, [{ id: hex(8), name: 'agent_step', parent: hex(8), at: 1 }]),
      'json',
    );
    expect(names((await next()).spans)).toEqual(['agent_step']);
    ac.abort();
  });

  it("hears nothing of another organization's spans of the same trace id, nor lets it subscribe to the run", async () => {
    const { run, traceId } = await runWithTrace();
    const org = await rt.auth.createOrganization('other');
    const other: Actor = { organizationId: org.id, userId: org.userId };
    const ac = new AbortController();
    await expect(sub.updates(other, { runId: run.id }, ac.signal)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const next = puller(await sub.updates(DEFAULT_ACTOR, { runId: run.id }, ac.signal));
    await next();
    await pub.ingest(other, request(traceId, t0, [{ id: hex(8), name: 'theirs', at: 0 }]), 'json');
    await pub.ingest(DEFAULT_ACTOR, request(traceId, t0, [{ id: hex(8), name: 'ours', at: 1 }]), 'json');
    expect(names((await next()).spans)).toEqual(['ours']);
    ac.abort();
  });

  it('a subscriber that falls behind gets a fresh snapshot instead of unbounded spans', async () => {
    const { run, traceId } = await runWithTrace();
    const slow = new OtelTraces({
      clickhouse: rt.clickhouse,
      db: rt.database.db,
      feed: rt.runChanges,
      live: { maxPendingSpans: 3 },
    });
    const ac = new AbortController();
    const next = puller(await slow.updates(DEFAULT_ACTOR, { runId: run.id }, ac.signal));
    expect((await next()).spans).toEqual([]);
    // Not pulled while 5 spans arrive (two messages): past 3 pending, they are dropped for a snapshot.
    const root = hex(8);
    await pub.ingest(
      DEFAULT_ACTOR,
      request(traceId, t0, [
        { id: root, name: 'root', at: 0 },
        { id: hex(8), name: 'agent_step', parent: root, at: 1 },
      ]),
      'json',
    );
    await pub.ingest(
      DEFAULT_ACTOR,
      request(
        traceId,
        t0,
        [2, 3, 4].map((at) => ({ id: hex(8), name: 'agent_step', parent: root, at })),
      ),
      'json',
    );
    await new Promise((r) => setTimeout(r, 300));
    const update = await next();
    expect(update.kind).toBe('snapshot');
    expect(names(update.spans)).toEqual(['root', 'agent_step', 'agent_step', 'agent_step', 'agent_step']);
    ac.abort();
  });

  it('publishes live spans only for organizations whose subscribers announced themselves, in any process', async () => {
    const org = await rt.auth.createOrganization('watched later');
    const actor: Actor = { organizationId: org.id, userId: org.userId };
    const traceId = hex(16);
    const ac = new AbortController();
    const heard: string[] = [];
    const messages = await rt.runChanges.subscribeTopic(traceSpansTopic(org.id, traceId), ac.signal);
    void (async () => {
      for await (const m of messages) heard.push(...names((m as { spans: TraceSpan[] }).spans));
    })().catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 300)); // the ingesting side hears announcements by now
    await pub.ingest(actor, request(traceId, t0, [{ id: hex(8), name: 'unwatched root', at: 0 }]), 'json');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(heard).toEqual([]);
    await rt.runChanges.publishTopic(TRACE_WATCHERS_TOPIC, { organizationId: org.id });
    await vi.waitFor(async () => {
      await pub.ingest(actor, request(traceId, t0, [{ id: hex(8), name: 'watched root', at: 1 }]), 'json');
      expect(heard).toContain('watched root');
    });
    expect(heard).not.toContain('unwatched root');
    ac.abort();
  });

  it('ends when the subscriber leaves, releasing its feed subscriptions; answers NotImplemented with ClickHouse off', async () => {
    const { run } = await runWithTrace();
    const before = held();
    const ac = new AbortController();
    const updates = await sub.updates(DEFAULT_ACTOR, { runId: run.id }, ac.signal);
    const it = updates[Symbol.asyncIterator]();
    await it.next();
    expect(held()).toBe(before + 1);
    const waiting = it.next();
    ac.abort();
    expect((await waiting).done).toBe(true);
    expect(held()).toBe(before);
    const off = new OtelTraces({ clickhouse: null, db: rt.database.db, feed: rt.runChanges });
    await expect(off.updates(DEFAULT_ACTOR, { runId: run.id }, ac.signal)).rejects.toMatchObject({
      code: 'NOT_IMPLEMENTED',
      message: expect.stringMatching(/runs\.traceUpdates.*CLICKHOUSE_URL=off/),
    });
  });
});
