import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../actor.ts';
import { InvalidArgument } from '../errors.ts';
import { newId } from '../ids.ts';
import type { RunStatus } from '../runs/status.ts';
import type { Runtime } from '../runtime.ts';
import { HISTOGRAM_BOUNDS_NS } from './latency-histogram.ts';
import type {
  AnalyticsEngine,
  AnalyticsFigures,
  AnalyticsSummary,
  SummaryInput,
  Timeseries,
  TimeseriesInput,
} from './schemas.ts';

/** A run as the contract records it: created at a known time, with a known outcome and timings. */
export interface ContractRun {
  agentId: string;
  createdAt: string;
  /** A terminal status is set through RunManager.update; absent: the run stays `created`. */
  status?: RunStatus;
  totalDurationNs?: bigint;
  ttftNs?: bigint;
}

/** A step as the contract records it: StepManager.create, then the pricing columns as steps.create fills them. */
export interface ContractStep {
  runId: string;
  createdAt: string;
  model?: string;
  providerName?: string;
  totalTokens: number;
  status?: 'success' | 'failed';
  errorType?: string;
  llmRequestNs?: bigint;
  /** Token types and cost as pricing writes them; absent: a step never priced (cost and types null). */
  priced?: {
    input: number;
    cachedInput: number;
    cacheWrite: number;
    output: number;
    reasoning: number;
    costPusd: bigint | null;
    unpricedTokens: number;
  };
}

/** What the contract needs of an engine's world: writes through the managers, and the engine to ask. */
export interface AnalyticsWorld {
  /** The engine under test. */
  engine: AnalyticsEngine;
  /** When set, every query's answer must equal this engine's (all but `source`): e.g. the raw Postgres path. */
  oracle?: AnalyticsEngine;
  actor: Actor;
  /** Another organization, whose data no answer may include. */
  other: Actor;
  recordRun(actor: Actor, run: ContractRun): Promise<string>;
  recordStep(actor: Actor, step: ContractStep): Promise<string>;
  /** A recompute's UPDATE of a step's price columns. */
  repriceStep(actor: Actor, stepId: string, costPusd: bigint | null, unpricedTokens: number | null): Promise<void>;
  setRunStatus(actor: Actor, runId: string, status: RunStatus): Promise<void>;
  deleteRun(actor: Actor, runId: string): Promise<void>;
  setAgentName(actor: Actor, agentId: string, name: string): Promise<void>;
  /** Waits until the engine sees every write made so far (an engine fed asynchronously). */
  settle?(): Promise<void>;
  dispose(): Promise<void>;
}

/**
 * A world over a Runtime's Postgres: runs and steps through RunManager and StepManager, then what other writers
 * do (steps.create's pricing columns and run model, prices.recompute, a time in the past) as direct UPDATEs, which
 * the rollup triggers see like any write. Other engines (ClickHouse) can wrap it and feed themselves after each write.
 */
export function postgresWorld(
  runtime: Runtime,
  actors: { actor: Actor; other: Actor },
  engine: AnalyticsEngine,
  oracle?: AnalyticsEngine,
): Omit<AnalyticsWorld, 'dispose'> {
  const db = runtime.database.db;
  return {
    engine,
    oracle,
    ...actors,
    async recordRun(actor, run) {
      const created = await runtime.runs.create(actor, { agentId: run.agentId });
      if (run.status && run.status !== 'created') {
        await runtime.runs.update(actor, {
          runId: created.id,
          status: run.status,
          ...(run.totalDurationNs !== undefined ? { totalDurationNs: String(run.totalDurationNs) } : {}),
          ...(run.ttftNs !== undefined ? { ttftNs: String(run.ttftNs) } : {}),
        });
      } else if (run.ttftNs !== undefined) {
        await runtime.runs.update(actor, { runId: created.id, ttftNs: String(run.ttftNs) });
      }
      await db.execute(sql`update runs set created_at = ${run.createdAt}::timestamptz where id = ${created.id}`);
      return created.id;
    },
    async recordStep(actor, step) {
      const created = await runtime.steps.create(actor, {
        runId: step.runId,
        model: step.model ?? null,
        providerName: step.providerName ?? null,
        totalTokens: step.totalTokens,
        status: step.status ?? 'success',
        errorType: step.errorType ?? null,
        llmRequestNs: step.llmRequestNs !== undefined ? String(step.llmRequestNs) : null,
      });
      const p = step.priced;
      await db.execute(sql`update steps set created_at = ${step.createdAt}::timestamptz,
        input_tokens = ${p?.input ?? null}, cached_input_tokens = ${p?.cachedInput ?? null},
        cache_write_tokens = ${p?.cacheWrite ?? null}, output_tokens = ${p?.output ?? null},
        reasoning_tokens = ${p?.reasoning ?? null}, cost_pusd = ${p?.costPusd ?? null}::bigint,
        unpriced_tokens = ${p?.unpricedTokens ?? null}::int
        where id = ${created.id}`);
      // The run's model and provider are its first step's (what steps.create keeps).
      await db.execute(sql`update runs set model = ${step.model ?? null}, provider = lower(${step.providerName ?? null})
        where id = ${step.runId} and model is null and provider is null`);
      return created.id;
    },
    async repriceStep(_actor, stepId, costPusd, unpricedTokens) {
      await db.execute(
        sql`update steps set cost_pusd = ${costPusd}::bigint, unpriced_tokens = ${unpricedTokens}::int where id = ${stepId}`,
      );
    },
    async setRunStatus(actor, runId, status) {
      await db.execute(
        sql`update runs set status = ${status} where id = ${runId} and organization_id = ${actor.organizationId}`,
      );
    },
    async deleteRun(actor, runId) {
      await runtime.runs.delete(actor, { runId });
    },
    async setAgentName(actor, agentId, name) {
      await db.execute(
        sql`update agents set name = ${name} where id = ${agentId} and organization_id = ${actor.organizationId}`,
      );
    },
  };
}

const BASE = Date.parse('2026-01-05T00:00:00Z');
const at = (minutes: number) => new Date(BASE + minutes * 60_000).toISOString();
const MS = 1_000_000n;

const zeroFigures = (): AnalyticsFigures => ({
  runs: 0,
  failedRuns: 0,
  errorRate: null,
  steps: 0,
  stepErrors: 0,
  tokens: { input: 0, cachedInput: 0, cacheWrite: 0, output: 0, reasoning: 0, total: 0 },
  costUsd: '0',
  unpricedTokens: 0,
  runDurationMs: null,
  ttftMs: null,
  llmMs: 0,
});

/**
 * The analytics contract: every engine (Postgres rollups, raw Postgres, ClickHouse) answers these questions the same
 * way. `createWorld` gives a fresh world per suite; the suite writes its own data through it.
 */
export function analyticsContract(name: string, createWorld: () => Promise<AnalyticsWorld>) {
  describe(`analytics contract: ${name}`, () => {
    let w: AnalyticsWorld;
    const agentA = newId('agent');
    const agentB = newId('agent');
    const ids: Record<string, string> = {};

    const settle = async () => w.settle?.();
    async function timeseries(input: TimeseriesInput, actor = w.actor): Promise<Timeseries> {
      await settle();
      const answer = await w.engine.timeseries(actor, input as never);
      if (w.oracle) {
        const expected = await w.oracle.timeseries(actor, input as never);
        expect(answer.points, `oracle: ${JSON.stringify(input)}`).toEqual(expected.points);
      }
      return answer;
    }
    async function summary(input: SummaryInput, actor = w.actor): Promise<AnalyticsSummary> {
      await settle();
      const answer = await w.engine.summary(actor, input as never);
      if (w.oracle) {
        const { source: _, ...expected } = await w.oracle.summary(actor, input as never);
        const { source: __, ...got } = answer;
        expect(got, `oracle: ${JSON.stringify(input)}`).toEqual(expected);
      }
      return answer;
    }
    const day = { from: at(0), to: at(24 * 60) };

    beforeAll(async () => {
      w = await createWorld();
      // Hour 0: run1 (A, completed, 100 ms, TTFT 20 ms) with a priced step; run2 (B, failed, 2 s, 300 ms) with an
      // erroring step partly unpriced. Hour 1: run1's second step (never priced, failed); run3 (A, created exactly at
      // 01:00) with a step at 01:00. 02:00: run4 (A), outside [00:00, 02:00).
      ids.run1 = await w.recordRun(w.actor, {
        agentId: agentA,
        createdAt: at(10),
        status: 'completed',
        totalDurationNs: 100n * MS,
        ttftNs: 20n * MS,
      });
      ids.run2 = await w.recordRun(w.actor, {
        agentId: agentB,
        createdAt: at(30),
        status: 'failed',
        totalDurationNs: 2000n * MS,
        ttftNs: 300n * MS,
      });
      ids.run3 = await w.recordRun(w.actor, { agentId: agentA, createdAt: at(60) });
      ids.run4 = await w.recordRun(w.actor, {
        agentId: agentA,
        createdAt: at(120),
        status: 'completed',
        totalDurationNs: 50n * MS,
      });
      ids.s1 = await w.recordStep(w.actor, {
        runId: ids.run1,
        createdAt: at(10),
        model: 'gpt-4o',
        providerName: 'OpenAI',
        totalTokens: 185,
        llmRequestNs: 50n * MS,
        priced: {
          input: 100,
          cachedInput: 20,
          cacheWrite: 5,
          output: 50,
          reasoning: 10,
          costPusd: 1000n,
          unpricedTokens: 0,
        },
      });
      ids.s2 = await w.recordStep(w.actor, {
        runId: ids.run1,
        createdAt: at(65),
        model: 'gpt-4o',
        providerName: 'openai',
        totalTokens: 40,
        status: 'failed',
      });
      ids.s3 = await w.recordStep(w.actor, {
        runId: ids.run2,
        createdAt: at(30),
        model: 'claude-sonnet',
        providerName: 'Anthropic',
        totalTokens: 70,
        errorType: 'rate_limit',
        llmRequestNs: 7n * MS,
        priced: {
          input: 60,
          cachedInput: 0,
          cacheWrite: 0,
          output: 10,
          reasoning: 0,
          costPusd: 5000n,
          unpricedTokens: 10,
        },
      });
      ids.s4 = await w.recordStep(w.actor, {
        runId: ids.run3,
        createdAt: at(60),
        model: 'gpt-4o',
        providerName: 'openai',
        totalTokens: 10,
        priced: {
          input: 10,
          cachedInput: 0,
          cacheWrite: 0,
          output: 0,
          reasoning: 0,
          costPusd: 200n,
          unpricedTokens: 0,
        },
      });
      ids.s5 = await w.recordStep(w.actor, {
        runId: ids.run4,
        createdAt: at(120),
        model: 'gpt-4o',
        providerName: 'openai',
        totalTokens: 1,
      });
      await w.setAgentName(w.actor, agentA, 'Alpha');
      const foreign = await w.recordRun(w.other, {
        agentId: agentA,
        createdAt: at(10),
        status: 'failed',
        totalDurationNs: MS,
      });
      await w.recordStep(w.other, {
        runId: foreign,
        createdAt: at(10),
        model: 'gpt-4o',
        providerName: 'openai',
        totalTokens: 999,
      });
    }, 120_000);
    afterAll(async () => {
      await w?.dispose();
    });

    it('answers an empty range with no points and zero totals', async () => {
      const range = { from: at(-48 * 60), to: at(-24 * 60) };
      expect((await timeseries({ ...range, bucket: 'hour' })).points).toEqual([]);
      const s = await summary(range);
      expect(s.totals).toEqual(zeroFigures());
      expect(s.topAgentsByCost).toEqual([]);
      expect(s.topModelsByP95).toEqual([]);
    });

    it('puts runs and steps in hour buckets, from inclusive and to exclusive', async () => {
      const { points } = await timeseries({ from: at(0), to: at(120), bucket: 'hour' });
      expect(points.map((p) => [p.bucket, p.group, p.runs, p.steps])).toEqual([
        ['2026-01-05T00:00:00Z', null, 2, 2],
        ['2026-01-05T01:00:00Z', null, 1, 2],
      ]);
      const [h0, h1] = points;
      expect(h0).toMatchObject({
        failedRuns: 1,
        errorRate: 0.5,
        stepErrors: 1,
        tokens: { input: 160, cachedInput: 20, cacheWrite: 5, output: 60, reasoning: 10, total: 255 },
        costUsd: '0.000000006',
        unpricedTokens: 10,
        llmMs: 57,
      });
      // run2's TTFT is the p95/p99 of two; their p50 is run1's bucket.
      expect(h0?.ttftMs?.p99).toBeGreaterThan(250);
      expect(h0?.ttftMs?.p50).toBeLessThan(25);
      // s2 never priced: all of its 40 tokens are unpriced; it failed.
      expect(h1).toMatchObject({ failedRuns: 0, stepErrors: 1, unpricedTokens: 40, costUsd: '0.0000000002' });
      expect(h1?.runDurationMs).toBeNull();
      const wider = await timeseries({ from: at(0), to: at(121), bucket: 'hour' });
      expect(wider.points.map((p) => p.bucket)).toEqual([
        '2026-01-05T00:00:00Z',
        '2026-01-05T01:00:00Z',
        '2026-01-05T02:00:00Z',
      ]);
      const daily = await timeseries({ ...day, bucket: 'day' });
      expect(daily.points.map((p) => [p.bucket, p.runs, p.steps])).toEqual([['2026-01-05T00:00:00Z', 4, 5]]);
    });

    it('counts a summary over exactly [from, to), edges inside hours included', async () => {
      const s = await summary({ from: at(30), to: at(65) });
      expect([s.totals.runs, s.totals.steps]).toEqual([2, 2]); // run2, run3; s3, s4 (s2 at 01:05 is outside)
      const all = await summary({ from: at(0), to: at(24 * 60 + 1) });
      expect([all.totals.runs, all.totals.steps]).toEqual([4, 5]);
      const end = await summary({ from: at(0), to: at(120) });
      expect([end.totals.runs, end.totals.steps]).toEqual([3, 4]);
    });

    it('groups by agent, model, provider and status', async () => {
      const groups = async (groupBy: 'agent' | 'model' | 'provider' | 'status') =>
        (await timeseries({ ...day, bucket: 'day', groupBy })).points.map((p) => [p.group, p.runs, p.steps]);
      expect(await groups('agent')).toEqual(
        [
          [agentA, 3, 4],
          [agentB, 1, 1],
        ].sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
      );
      // Runs by their first step's model; run3's first step is gpt-4o too.
      expect(await groups('model')).toEqual([
        ['claude-sonnet', 1, 1],
        ['gpt-4o', 3, 4],
      ]);
      expect(await groups('provider')).toEqual([
        ['anthropic', 1, 1],
        ['openai', 3, 4],
      ]);
      // Steps by their run's status.
      expect(await groups('status')).toEqual([
        ['completed', 2, 3],
        ['created', 1, 1],
        ['failed', 1, 1],
      ]);
      const hourly = await timeseries({ from: at(0), to: at(120), bucket: 'hour', groupBy: 'agent' });
      expect(hourly.points.filter((p) => p.group === agentA).map((p) => [p.bucket, p.runs, p.steps])).toEqual([
        ['2026-01-05T00:00:00Z', 1, 1],
        ['2026-01-05T01:00:00Z', 1, 2],
      ]);
    });

    it('filters by agents, models, providers and statuses', async () => {
      const totals = async (filters: TimeseriesInput['filters']) => {
        const s = await summary({ ...day, filters });
        return [s.totals.runs, s.totals.steps];
      };
      expect(await totals({ agentIds: [agentB] })).toEqual([1, 1]);
      expect(await totals({ models: ['gpt-4o'] })).toEqual([3, 4]);
      expect(await totals({ providers: ['anthropic'] })).toEqual([1, 1]);
      expect(await totals({ providers: ['OpenAI'] })).toEqual([3, 4]);
      expect(await totals({ statuses: ['failed', 'created'] })).toEqual([2, 2]);
      expect(await totals({ agentIds: [agentA], statuses: ['completed'] })).toEqual([2, 3]);
      expect(await totals({ models: ['nope'] })).toEqual([0, 0]);
      const hourly = await timeseries({ from: at(0), to: at(120), bucket: 'hour', filters: { agentIds: [agentA] } });
      expect(hourly.points.map((p) => [p.runs, p.steps])).toEqual([
        [1, 1],
        [1, 2],
      ]);
    });

    it('summarizes top agents and models by cost and by p95, with agent names', async () => {
      const s = await summary({ ...day, top: 5 });
      expect(s.totals).toMatchObject({ runs: 4, failedRuns: 1, steps: 5, stepErrors: 2, costUsd: '0.0000000062' });
      expect(s.topAgentsByCost.map((e) => [e.key, e.name, e.costUsd, e.runs, e.steps])).toEqual([
        [agentB, null, '0.000000005', 1, 1],
        [agentA, 'Alpha', '0.0000000012', 3, 4],
      ]);
      expect(s.topAgentsByP95.map((e) => e.key)).toEqual([agentB, agentA]);
      expect(s.topAgentsByP95[0]?.p95Ms).toBeGreaterThan(1500);
      expect(s.topModelsByCost.map((e) => [e.key, e.name, e.costUsd])).toEqual([
        ['claude-sonnet', null, '0.000000005'],
        ['gpt-4o', null, '0.0000000012'],
      ]);
      expect(s.topModelsByP95.map((e) => e.key)).toEqual(['claude-sonnet', 'gpt-4o']);
      const one = await summary({ ...day, top: 1 });
      expect(one.topAgentsByCost).toHaveLength(1);
    });

    it('gives percentiles from known durations', async () => {
      const agent = newId('agent');
      // 100 runs of 1…100 ms on a day of their own: p50 ≈ 50, p95 ≈ 95, p99 ≈ 99 within a bucket's width.
      for (let i = 1; i <= 100; i++) {
        await w.recordRun(w.actor, {
          agentId: agent,
          createdAt: at(3 * 24 * 60 + i),
          status: 'completed',
          totalDurationNs: BigInt(i) * MS,
          ttftNs: HISTOGRAM_BOUNDS_NS[10]!,
        });
      }
      const s = await summary({ from: at(3 * 24 * 60), to: at(4 * 24 * 60) });
      const d = s.totals.runDurationMs!;
      expect(d.p50).toBeGreaterThan(50 / 1.26);
      expect(d.p50).toBeLessThan(50 * 1.26);
      expect(d.p95).toBeGreaterThan(95 / 1.26);
      expect(d.p95).toBeLessThan(95 * 1.26);
      expect(d.p99).toBeGreaterThan(99 / 1.26);
      expect(d.p99).toBeLessThanOrEqual(101.6);
      // Every TTFT sits exactly on a bucket's lower bound: the answer is inside that bucket.
      expect(s.totals.ttftMs!.p50).toBeGreaterThanOrEqual(Number(HISTOGRAM_BOUNDS_NS[10]) / 1e6);
      expect(s.totals.ttftMs!.p50).toBeLessThan(Number(HISTOGRAM_BOUNDS_NS[11]) / 1e6);
    }, 120_000);

    it('moves figures when a step is repriced and when a run changes status, and drops a deleted run', async () => {
      const range = { from: at(5 * 24 * 60), to: at(6 * 24 * 60) };
      const agent = newId('agent');
      const run = await w.recordRun(w.actor, { agentId: agent, createdAt: at(5 * 24 * 60 + 5) });
      const step = await w.recordStep(w.actor, {
        runId: run,
        createdAt: at(5 * 24 * 60 + 6),
        model: 'gpt-4o',
        providerName: 'openai',
        totalTokens: 30,
      });
      let s = await summary(range);
      expect([s.totals.costUsd, s.totals.unpricedTokens, s.totals.runs, s.totals.failedRuns]).toEqual(['0', 30, 1, 0]);
      await w.repriceStep(w.actor, step, 3_000_000n, 5);
      s = await summary(range);
      expect([s.totals.costUsd, s.totals.unpricedTokens]).toEqual(['0.000003', 5]);
      await w.setRunStatus(w.actor, run, 'failed');
      s = await summary({ ...range, filters: { statuses: ['failed'] } });
      expect([s.totals.runs, s.totals.failedRuns, s.totals.steps]).toEqual([1, 1, 1]);
      const byStatus = await timeseries({ ...range, bucket: 'hour', groupBy: 'status' });
      expect(byStatus.points.map((p) => p.group)).toEqual(['failed']);
      await w.deleteRun(w.actor, run);
      s = await summary(range);
      expect(s.totals).toEqual(zeroFigures());
      expect((await timeseries({ ...range, bucket: 'hour' })).points).toEqual([]);
    });

    it('never shows another organization its data, nor this one the other', async () => {
      const theirs = await summary(day, w.other);
      expect([theirs.totals.runs, theirs.totals.steps, theirs.totals.tokens.total]).toEqual([1, 1, 999]);
      const ours = await timeseries({ ...day, bucket: 'day' });
      expect(ours.points[0]?.tokens.total).toBe(306);
    });

    it('refuses bad ranges with InvalidArgument naming the field', async () => {
      const refuse = async (call: Promise<unknown>, field: string) => {
        const err = await call.then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(InvalidArgument);
        expect((err as InvalidArgument).field).toBe(field);
      };
      await refuse(w.engine.timeseries(w.actor, { from: at(10), to: at(10), bucket: 'hour' } as never), 'to');
      await refuse(w.engine.summary(w.actor, { from: at(10), to: at(0) } as never), 'to');
      await refuse(w.engine.summary(w.actor, { from: at(0), to: at(367 * 24 * 60) } as never), 'to');
      await refuse(w.engine.timeseries(w.actor, { from: 'yesterday', to: at(0) } as never), 'from');
      await refuse(w.engine.timeseries(w.actor, { ...day, bucket: 'week' } as never), 'bucket');
    });
  });
}
