import { readFileSync } from 'node:fs';
import net from 'node:net';
import { createClient } from '@clickhouse/client';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../actor.ts';
import { type ClickHouse, qualified } from '../../clickhouse/connect.ts';
import { currentTraceTtlDays, migrateClickHouse } from '../../clickhouse/migrate.ts';
import { ConfigError, loadApiConfig } from '../../config.ts';
import { rowsOf } from '../../db/connect.ts';
import { Unavailable } from '../../errors.ts';
import { createLogger } from '../../logger.ts';
import { clickhouseMigrateOptions } from '../../migrate-stores.ts';
import { createRuntime } from '../../runtime.ts';
import {
  clickhouseTargets,
  createScratchClickHouse,
  createTestRuntime,
  databaseTargets,
  newId,
  type TestRuntime,
} from '../../testing/index.ts';
import { type AggregateSums, emptySums, toFigures } from '../figures.ts';
import { HISTOGRAM_BOUNDS_NS, histogramBucket } from '../latency-histogram.ts';
import {
  type AnalyticsFilters,
  type AnalyticsGroupBy,
  bucketText,
  summaryInput,
  type TimeseriesInput,
  timeseriesInput,
} from '../schemas.ts';
import { AnalyticsFeed } from './analytics-feed.ts';
import { ClickHouseAnalytics, coveredRange } from './clickhouse-analytics.ts';
import { CLICKHOUSE_ANALYTICS_ENV, clickhouseContractEngine } from './testing.ts';

const BASE = Date.parse('2026-03-02T00:00:00Z');
const HOUR = 3_600_000;
const FROM = new Date(BASE).toISOString();
const TO = new Date(BASE + 72 * HOUR).toISOString();

interface RunFact {
  id: string;
  agent: string;
  status: string;
  model: string | null;
  provider: string | null;
  at: number;
  duration: bigint | null;
  ttft: bigint | null;
}
interface StepFact {
  runId: string;
  agent: string;
  model: string | null;
  provider: string | null;
  at: number;
  error: boolean;
  tokens: [number, number, number, number, number, number];
  cost: bigint;
  unpriced: number;
  llm: bigint;
}

/**
 * The figures recomputed here from Postgres's rows by the documented semantics, independently of the engine: what
 * every engine must answer.
 */
async function expectedPoints(rt: TestRuntime, actor: Actor, input: TimeseriesInput, summary = false) {
  const q = timeseriesInput.parse(input);
  const { runs, steps } = await facts(rt, actor);
  // the summary: one cell over exactly [from, to)
  const range = summary ? { from: new Date(q.from), to: new Date(q.to) } : coveredRange(q.from, q.to, q.bucket);
  const size = summary ? range.to.getTime() - range.from.getTime() : q.bucket === 'hour' ? HOUR : 24 * HOUR;
  const f: AnalyticsFilters = q.filters ?? {};
  const statusOf = new Map(runs.map((r) => [r.id, r.status]));
  const keep = (at: number, agent: string, model: string | null, provider: string | null, status: string) =>
    at >= range.from.getTime() &&
    at < range.to.getTime() &&
    (!f.agentIds || f.agentIds.includes(agent)) &&
    (!f.models || (model !== null && f.models.includes(model))) &&
    (!f.providers || (provider !== null && f.providers.map((p) => p.toLowerCase()).includes(provider))) &&
    (!f.statuses || f.statuses.includes(status as never));
  const cells = new Map<string, { bucket: number; group: string | null; sums: AggregateSums }>();
  const cell = (at: number, group: string | null) => {
    const bucket = summary ? range.from.getTime() : Math.floor(at / size) * size;
    const key = `${bucket}|${group}`;
    if (!cells.has(key)) cells.set(key, { bucket, group, sums: emptySums() });
    return cells.get(key)!.sums;
  };
  const groupOf = (
    g: AnalyticsGroupBy | null | undefined,
    x: { agent: string; model: string | null; provider: string | null; status: string },
  ) =>
    g === 'agent'
      ? x.agent
      : g === 'model'
        ? x.model
        : g === 'provider'
          ? x.provider
          : g === 'status'
            ? x.status
            : null;
  for (const r of runs) {
    if (!keep(r.at, r.agent, r.model, r.provider, r.status)) continue;
    const s = cell(r.at, groupOf(q.groupBy, r));
    s.runs += 1;
    if (r.status === 'failed') s.failedRuns += 1;
    if (r.duration !== null) s.durationHistogram[histogramBucket(r.duration)]! += 1;
    if (r.ttft !== null) s.ttftHistogram[histogramBucket(r.ttft)]! += 1;
  }
  for (const st of steps) {
    const status = statusOf.get(st.runId)!;
    if (!keep(st.at, st.agent, st.model, st.provider, status)) continue;
    const s = cell(st.at, groupOf(q.groupBy, { ...st, status }));
    s.steps += 1;
    if (st.error) s.stepErrors += 1;
    s.inputTokens += st.tokens[0];
    s.cachedInputTokens += st.tokens[1];
    s.cacheWriteTokens += st.tokens[2];
    s.outputTokens += st.tokens[3];
    s.reasoningTokens += st.tokens[4];
    s.totalTokens += st.tokens[5];
    s.costPusd += st.cost;
    s.unpricedTokens += st.unpriced;
    s.llmNs += st.llm;
  }
  return [...cells.values()]
    .sort(
      (a, b) =>
        a.bucket - b.bucket ||
        (a.group === b.group ? 0 : a.group === null ? -1 : b.group === null ? 1 : a.group < b.group ? -1 : 1),
    )
    .map((c) => ({ bucket: bucketText(c.bucket), group: c.group, ...toFigures(c.sums) }));
}

async function facts(rt: TestRuntime, actor: Actor): Promise<{ runs: RunFact[]; steps: StepFact[] }> {
  const runs = rowsOf<Record<string, string | null>>(
    await rt.database.db.execute(sql`
      select id, agent_id, status, model, lower(provider) as provider,
        (extract(epoch from created_at) * 1000)::bigint::text as at,
        coalesce(run_ns, total_duration_ns)::text as duration, ttft_ns::text as ttft
      from runs where organization_id = ${actor.organizationId}`),
  );
  const steps = rowsOf<Record<string, string | null>>(
    await rt.database.db.execute(sql`
      select run_id, agent_id, model, lower(provider_name) as provider,
        (extract(epoch from created_at) * 1000)::bigint::text as at,
        (status = 'failed' or error_type is not null) as error,
        input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, total_tokens,
        cost_pusd::text as cost, unpriced_tokens, llm_request_ns::text as llm
      from steps where organization_id = ${actor.organizationId}`),
  );
  const n = (v: unknown) => (v == null ? 0 : Number(v));
  return {
    runs: runs.map((r) => ({
      id: r.id!,
      agent: r.agent_id!,
      status: r.status!,
      model: r.model ?? null,
      provider: r.provider ?? null,
      at: Number(r.at),
      duration: r.duration === null ? null : BigInt(r.duration!),
      ttft: r.ttft === null ? null : BigInt(r.ttft!),
    })),
    steps: steps.map((s) => ({
      runId: s.run_id!,
      agent: s.agent_id!,
      model: s.model ?? null,
      provider: s.provider ?? null,
      at: Number(s.at),
      error: s.error === (true as never) || s.error === 'true' || s.error === 't',
      tokens: [
        n(s.input_tokens),
        n(s.cached_input_tokens),
        n(s.cache_write_tokens),
        n(s.output_tokens),
        n(s.reasoning_tokens),
        n(s.total_tokens),
      ],
      cost: s.cost == null ? 0n : BigInt(s.cost),
      unpriced: s.unpriced_tokens == null ? n(s.total_tokens) : n(s.unpriced_tokens),
      llm: s.llm == null ? 0n : BigInt(s.llm),
    })),
  };
}

/** A ClickHouse handle on `url` that is not a working ClickHouse (nothing listens, or nothing answers). */
function brokenClickHouse(url: string): ClickHouse {
  const client = createClient({ url, request_timeout: 60_000 });
  return { client, kind: 'server', database: 'runtrace', location: url, close: () => client.close() };
}

describe('the analytics tables of the ClickHouse migration', () => {
  it('bucket durations by exactly the bounds of latency-histogram.ts', () => {
    const sql = readFileSync(new URL('../../clickhouse/migrations/0003_analytics.sql', import.meta.url), 'utf8');
    const lists = [...sql.matchAll(/assumeNotNull\((\w+)\), \[([\d, ]+)\]\)/g)];
    expect(lists.map((m) => m[1])).toEqual(['duration_ns', 'ttft_ns']);
    for (const m of lists) expect(m[2]!.split(', ').map(BigInt)).toEqual([...HISTOGRAM_BOUNDS_NS]);
  });

  it('keep the days of RUNTRACE_RETENTION_DAYS (migrate sets, changes and removes the TTL)', async () => {
    const scratch = await createScratchClickHouse(clickhouseTargets()[0]!);
    try {
      const ttls = () =>
        Promise.all(['analytics_runs', 'analytics_steps'].map((t) => currentTraceTtlDays(scratch.ch, t)));
      expect(await ttls()).toEqual([null, null]);
      await migrateClickHouse(scratch.ch, { ttlDays: 30, analyticsTtlDays: 90 });
      expect(await ttls()).toEqual([90, 90]);
      await migrateClickHouse(scratch.ch, { ttlDays: 30, analyticsTtlDays: 0 });
      expect(await ttls()).toEqual([null, null]);
      expect(clickhouseMigrateOptions(loadApiConfig({ RUNTRACE_RETENTION_DAYS: '14' })).analyticsTtlDays).toBe(14);
      expect(clickhouseMigrateOptions(loadApiConfig({})).analyticsTtlDays).toBe(0);
    } finally {
      await scratch.drop();
    }
  });

  it('RUNTRACE_ANALYTICS_SOURCE=clickhouse without ClickHouse is a ConfigError at start, before anything opens', async () => {
    const config = loadApiConfig({ CLICKHOUSE_URL: 'off', RUNTRACE_ANALYTICS_SOURCE: 'clickhouse' });
    await expect(createRuntime({ config, logger: createLogger('silent') })).rejects.toThrow(
      new ConfigError('RUNTRACE_ANALYTICS_SOURCE=clickhouse needs ClickHouse, but CLICKHOUSE_URL is off'),
    );
    expect(loadApiConfig({}).analyticsSource).toBe('postgres');
    expect(() => loadApiConfig({ RUNTRACE_ANALYTICS_SOURCE: 'mysql' })).toThrow(/RUNTRACE_ANALYTICS_SOURCE/);
  });
});

describe.each(databaseTargets())('ClickHouse analytics (chdb) fed from $name', (target) => {
  let rt: TestRuntime;
  let actor: Actor;
  let other: Actor;
  let engine: ClickHouseAnalytics;
  const agents = [newId('agent'), newId('agent'), newId('agent')];
  const runIds: string[] = [];

  const exec = (query: ReturnType<typeof sql>) => rt.database.db.execute(query);

  /** Records runs and steps through the managers, then sets time, cost and token columns as pricing would. */
  async function record(who: Actor, count: number, seed: number) {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const k = seed + i;
      const run = await rt.runs.create(who, { agentId: agents[k % 3]! });
      ids.push(run.id);
      const models = ['gpt-4o', 'claude-sonnet-4', null];
      const providers = ['OpenAI', 'anthropic', null];
      for (let j = 0; j < (k % 4) + 1; j++) {
        await rt.steps.create(who, {
          runId: run.id,
          model: models[(k + j) % 3],
          providerName: providers[(k + j) % 3],
          promptTokens: 100 * (j + 1),
          completionTokens: 7 * k,
          status: (k + j) % 5 === 0 ? 'failed' : 'success',
          errorType: (k + j) % 7 === 0 ? 'rate_limit' : null,
          llmRequestNs: j === 2 ? null : String(1_000_000 * (k + 1) + j),
        });
      }
      if (k % 3 === 1) await rt.runs.update(who, { runId: run.id, status: 'running' });
      if (k % 3 === 2) await rt.runs.update(who, { runId: run.id, status: k % 2 ? 'failed' : 'completed' });
      // spread over three days, several per hour; a price on some steps, none on others
      const at = BASE + ((k * 7919) % (72 * 60)) * 60_000 + k;
      await exec(sql`update runs set created_at = ${new Date(at).toISOString()},
        model = (select model from steps where run_id = ${run.id} order by created_at, id limit 1),
        provider = (select lower(provider_name) from steps where run_id = ${run.id} order by created_at, id limit 1),
        run_ns = case when ${k % 4} = 0 then null else ${String(BigInt(k) * 987_654_321n)}::bigint end,
        total_duration_ns = ${String(BigInt(k) * 1_000_000n)}::bigint,
        ttft_ns = case when ${k % 5} = 0 then null else ${String(BigInt(k) * 12_345_678n)}::bigint end
        where id = ${run.id}`);
      await exec(sql`update steps set created_at = ${new Date(at + 1000).toISOString()},
        input_tokens = case when ${k % 6} = 0 then null else prompt_tokens - 10 end,
        cached_input_tokens = case when ${k % 6} = 0 then null else 10 end,
        cache_write_tokens = case when ${k % 2} = 0 then 3 else null end,
        output_tokens = completion_tokens, reasoning_tokens = ${k % 3},
        cost_pusd = case when model = 'gpt-4o' then (9223372036854775 + ${k})::bigint else null end,
        unpriced_tokens = case when model = 'gpt-4o' then 0 when model is null then null else total_tokens end
        where run_id = ${run.id}`);
    }
    return ids;
  }

  beforeAll(async () => {
    rt = await createTestRuntime(target, CLICKHOUSE_ANALYTICS_ENV);
    actor = await rt.auth.ensureDefaultActor();
    const org = await rt.auth.createOrganization('other');
    other = { organizationId: org.id, userId: org.userId };
    engine = rt.clickhouseAnalytics!;
    runIds.push(...(await record(actor, 30, 0)));
    await record(other, 6, 100);
    await rt.analyticsFeed!.flush();
    await rt.analyticsFeed!.backfill({ from: new Date(BASE), to: new Date(BASE + 72 * HOUR) });
  }, 120_000);
  afterAll(async () => {
    await rt?.dispose();
  });

  const shapes: TimeseriesInput[] = [
    { from: FROM, to: TO, bucket: 'hour' },
    { from: FROM, to: TO, bucket: 'day', groupBy: 'model' },
    { from: FROM, to: TO, bucket: 'hour', groupBy: 'agent', filters: { models: ['gpt-4o', 'claude-sonnet-4'] } },
    { from: FROM, to: TO, bucket: 'day', groupBy: 'status' },
    { from: FROM, to: TO, bucket: 'day', groupBy: 'provider', filters: { statuses: ['completed', 'failed'] } },
    {
      from: new Date(BASE + 5 * HOUR + 1234).toISOString(),
      to: new Date(BASE + 30 * HOUR - 1).toISOString(),
      bucket: 'hour',
      groupBy: 'model',
      filters: { agentIds: [agents[0]!, agents[2]!], providers: ['openai'] },
    },
  ];

  it.each(shapes.map((s, i) => [i, s] as const))(
    'timeseries shape %i equals the sums of the recorded rows',
    async (_, shape) => {
      const answer = await engine.timeseries(actor, timeseriesInput.parse(shape));
      expect(answer.source).toBe('clickhouse');
      const expected = await expectedPoints(rt, actor, shape);
      expect(expected.length).toBeGreaterThan(0);
      expect(answer.points).toEqual(expected);
    },
  );

  it('counts histogram buckets exactly as latency-histogram.ts does, and cost beyond 2^63 pico-USD exactly', async () => {
    const { points } = await engine.timeseries(actor, timeseriesInput.parse({ from: FROM, to: TO, bucket: 'day' }));
    const [expected] = [await expectedPoints(rt, actor, { from: FROM, to: TO, bucket: 'day' })];
    expect(points.map((p) => [p.runDurationMs, p.ttftMs, p.costUsd])).toEqual(
      expected.map((p) => [p.runDurationMs, p.ttftMs, p.costUsd]),
    );
    const total = points.reduce((a, p) => a + Number(p.costUsd.replace('.', '').replace(/^0+/, '') || 0), 0);
    expect(total).toBeGreaterThan(0);
  });

  it('summary: totals and top lists from the same sums', async () => {
    const s = await engine.summary(actor, summaryInput.parse({ from: FROM, to: TO, top: 2 }));
    const [all] = [await expectedPoints(rt, actor, { from: FROM, to: TO, bucket: 'day' })];
    expect(s.source).toBe('clickhouse');
    expect(s.totals.runs).toBe(30);
    expect(s.totals.steps).toBe(all.reduce((a, p) => a + p.steps, 0));
    const [whole] = await expectedPoints(rt, actor, { from: FROM, to: TO }, true);
    const { bucket: _, group: __, ...totals } = whole!;
    expect(s.totals).toEqual(totals);
    const byAgent = await expectedPoints(rt, actor, { from: FROM, to: TO, bucket: 'day', groupBy: 'agent' });
    const agentSteps = (id: string) => byAgent.filter((p) => p.group === id).reduce((a, p) => a + p.steps, 0);
    expect(s.topAgentsByCost).toHaveLength(2);
    for (const e of s.topAgentsByCost) expect(e.steps).toBe(agentSteps(e.key));
    // the models by cost: gpt-4o (priced) first, the unpriced one after at 0 USD, as on Postgres
    expect(s.topModelsByCost.map((e) => [e.key, e.costUsd === '0'])).toEqual([
      ['gpt-4o', false],
      ['claude-sonnet-4', true],
    ]);
    expect(s.topModelsByP95.map((e) => e.key).sort()).toEqual(['claude-sonnet-4', 'gpt-4o']);
  });

  it("another organization's rows are invisible, and its own query sees only them", async () => {
    const mine = await engine.summary(actor, summaryInput.parse({ from: FROM, to: TO }));
    const theirs = await engine.summary(other, summaryInput.parse({ from: FROM, to: TO }));
    expect(mine.totals.runs).toBe(30);
    expect(theirs.totals.runs).toBe(6);
    expect(await engine.timeseries(other, timeseriesInput.parse({ from: FROM, to: TO, bucket: 'day' }))).toMatchObject({
      points: await expectedPoints(rt, other, { from: FROM, to: TO, bucket: 'day' }),
    });
  });

  it('a run status change is copied by the write path: the new version wins', async () => {
    const runId = runIds[0]!; // k = 0: still created
    await rt.runs.update(actor, { runId, status: 'failed' });
    await rt.analyticsFeed!.flush();
    const shape: TimeseriesInput = { from: FROM, to: TO, bucket: 'day', groupBy: 'status' };
    expect((await engine.timeseries(actor, timeseriesInput.parse(shape))).points).toEqual(
      await expectedPoints(rt, actor, shape),
    );
  });

  it('a step recorded through steps.create reaches ClickHouse with its run', async () => {
    // an agent of its own: the recorded runs' first copies (before their times were moved to BASE) are at now
    const agent = newId('agent');
    const run = await rt.runs.create(actor, { agentId: agent });
    await rt.steps.create(actor, { runId: run.id, model: 'gpt-4o', providerName: 'OpenAI', promptTokens: 5 });
    await rt.analyticsFeed!.flush();
    const now = Date.now();
    const shape: TimeseriesInput = {
      from: new Date(now - 2 * HOUR).toISOString(),
      to: new Date(now + HOUR).toISOString(),
      bucket: 'day',
      filters: { agentIds: [agent] },
    };
    const { points } = await engine.timeseries(actor, timeseriesInput.parse(shape));
    expect(points).toEqual(await expectedPoints(rt, actor, shape));
    expect(points.reduce((a, p) => a + p.runs, 0)).toBe(1);
    expect(points.reduce((a, p) => a + p.steps, 0)).toBe(1);
  });

  it('a deleted run and its steps disappear; backfill removes what Postgres lost meanwhile', async () => {
    await rt.runs.delete(actor, { runId: runIds[1]! });
    await rt.analyticsFeed!.flush();
    const shape: TimeseriesInput = { from: FROM, to: TO, bucket: 'day', groupBy: 'agent' };
    expect((await engine.timeseries(actor, timeseriesInput.parse(shape))).points).toEqual(
      await expectedPoints(rt, actor, shape),
    );
    // a deletion the feed never heard of (e.g. ClickHouse was down): only a backfill notices
    await exec(sql`delete from runs where id = ${runIds[2]!}`);
    expect((await engine.timeseries(actor, timeseriesInput.parse(shape))).points).not.toEqual(
      await expectedPoints(rt, actor, shape),
    );
    const result = await rt.analyticsFeed!.backfill({
      from: new Date(BASE),
      to: new Date(BASE + 72 * HOUR),
      organizationId: actor.organizationId,
    });
    expect(result.removed).toBeGreaterThanOrEqual(2);
    expect((await engine.timeseries(actor, timeseriesInput.parse(shape))).points).toEqual(
      await expectedPoints(rt, actor, shape),
    );
  });

  it("the shared contract suite's engine (resynced from Postgres) answers as the backfilled one", async () => {
    const shape = timeseriesInput.parse({ from: FROM, to: TO, bucket: 'day', groupBy: 'agent' });
    const contract = clickhouseContractEngine(rt);
    expect(await contract.timeseries(actor, shape)).toEqual(await engine.timeseries(actor, shape));
    expect((await contract.timeseries(actor, shape)).points).toEqual(await expectedPoints(rt, actor, shape));
  });

  it('ClickHouse unreachable or silent → Unavailable (503) within the query timeout', async () => {
    const refused = brokenClickHouse('http://127.0.0.1:1');
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket)); // accepts, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const hung = brokenClickHouse(`http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`);
    try {
      for (const ch of [refused, hung]) {
        const broken = new ClickHouseAnalytics({ db: rt.database.db, clickhouse: ch, queryTimeoutMs: 500 });
        const started = performance.now();
        const err = await broken
          .timeseries(actor, timeseriesInput.parse({ from: FROM, to: TO, bucket: 'hour' }))
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(Unavailable);
        expect(performance.now() - started).toBeLessThan(3000);
      }
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
      await refused.close();
      await hung.close();
    }
  });
});

describe.each(databaseTargets())('the analytics backfill on $name', (target) => {
  let rt: TestRuntime;
  beforeAll(async () => {
    rt = await createTestRuntime(target, CLICKHOUSE_ANALYTICS_ENV);
  }, 120_000);
  afterAll(async () => {
    await rt?.dispose();
  });

  it('copies a day holding more steps than the insert queue takes, waiting for its inserts instead of failing', async () => {
    const actor = await rt.auth.ensureDefaultActor();
    const org = actor.organizationId;
    const runId = newId('run');
    const at = new Date(BASE + 3 * HOUR).toISOString();
    const db = rt.database.db;
    await db.execute(sql`insert into runs (id, organization_id, agent_id, status, create_fingerprint, created_at)
      values (${runId}, ${org}, 'agent-backfill', 'completed', 'fp', ${at})`);
    await db.execute(sql`insert into steps (id, organization_id, run_id, agent_id, model, total_tokens, status,
        create_fingerprint, created_at)
      select 'step-backfill-' || i, ${org}, ${runId}, 'agent-backfill', 'gpt-4o', i, 'success', 'fp' || i,
        ${at}::timestamptz + i * interval '1 millisecond'
      from generate_series(1, 5000) i`);
    const clickhouse = rt.clickhouse!;
    // A queue of 2,000 rows: one day's 5,000 steps handed over at once would be refused as "not keeping up".
    const feed = new AnalyticsFeed({ db, clickhouse, logger: createLogger('silent'), maxQueueRows: 2_000 });
    try {
      const result = await feed.backfill({ from: new Date(BASE), to: new Date(BASE + 24 * HOUR), organizationId: org });
      expect(result).toMatchObject({ runs: 1, steps: 5_000 });
    } finally {
      await feed.close();
    }
    const counted = await clickhouse.client.query({
      query: `SELECT count() AS n, sum(total_tokens) AS tokens FROM ${qualified(clickhouse, 'analytics_steps')} FINAL WHERE run_id = {run:String}`,
      query_params: { run: runId },
      format: 'JSONEachRow',
    });
    const [row] = await counted.json<{ n: number | string; tokens: number | string }>();
    expect({ n: Number(row?.n), tokens: Number(row?.tokens) }).toEqual({ n: 5_000, tokens: (5_000 * 5_001) / 2 });
  }, 120_000);
});
