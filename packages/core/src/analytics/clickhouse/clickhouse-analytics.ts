import { and, eq, inArray } from 'drizzle-orm';
import type { Actor } from '../../actor.ts';
import { clickhouseFailure } from '../../clickhouse/clickhouse-failure.ts';
import { type ClickHouse, qualified } from '../../clickhouse/connect.ts';
import type { Db } from '../../db/connect.ts';
import { agents } from '../../db/schema.ts';
import { Unavailable } from '../../errors.ts';
import { type AggregateSums, addSums, emptySums, toFigures } from '../figures.ts';
import { HISTOGRAM_BUCKETS } from '../latency-histogram.ts';
import {
  type AnalyticsEngine,
  type AnalyticsFilters,
  type AnalyticsGroupBy,
  type AnalyticsSummary,
  bucketText,
  parseAnalyticsInput,
  type SummaryInput,
  summaryInput,
  type Timeseries,
  type TimeseriesInput,
  timeseriesInput,
} from '../schemas.ts';
import { clickhouseTime } from './analytics-feed.ts';

export interface ClickHouseAnalyticsOptions {
  /** Agent names for the summary's top lists. */
  db: Db;
  /** A connected ClickHouse whose migrations are applied, fed by {@link AnalyticsFeed}. */
  clickhouse: ClickHouse;
  /** Longest a query may take before the call answers Unavailable (503). @default 10000 */
  queryTimeoutMs?: number;
}

type Unit = 'hour' | 'day' | null;

/** One (bucket, group) of a query, as summed by ClickHouse. */
interface Cell {
  bucket: number;
  group: string | null;
  sums: AggregateSums;
}

/** The group expression of runs (`r.`) and of steps (`s.`, the run's status through the join). */
const GROUP_COLUMN: Record<AnalyticsGroupBy, { runs: string; steps: string }> = {
  agent: { runs: 'agent_id', steps: 's.agent_id' },
  model: { runs: 'model', steps: 's.model' },
  provider: { runs: 'provider', steps: 's.provider' },
  status: { runs: 'status', steps: 'r.status' },
};

/** Counts per histogram bucket: the buckets are computed at insert (the tables' MATERIALIZED *_bucket columns). */
const histogram = (bucket: string) => `sumMapIf([assumeNotNull(${bucket})], [toUInt64(1)], ${bucket} IS NOT NULL)`;

/**
 * Where a query's rows start and end: whole buckets, so the first and last points count their whole bucket (as the
 * hourly rollups of the Postgres engine do); the summary counts whole hours.
 */
export function coveredRange(from: string, to: string, unit: 'hour' | 'day'): { from: Date; to: Date } {
  const size = unit === 'hour' ? 3_600_000 : 86_400_000;
  const start = Date.parse(from);
  const end = Date.parse(to);
  return { from: new Date(Math.floor(start / size) * size), to: new Date(Math.ceil(end / size) * size) };
}

/**
 * Analytics from ClickHouse's copies of runs and steps (analytics_runs, analytics_steps, written by the feed): the
 * same sums as the Postgres engine, computed by ClickHouse, turned into answers by figures.ts. Reads take each row's
 * latest version with FINAL (deleted rows are tombstones FINAL drops).
 */
export class ClickHouseAnalytics implements AnalyticsEngine {
  readonly #db: Db;
  readonly #ch: ClickHouse;
  readonly #timeoutMs: number;

  constructor(options: ClickHouseAnalyticsOptions) {
    this.#db = options.db;
    this.#ch = options.clickhouse;
    this.#timeoutMs = options.queryTimeoutMs ?? 10_000;
  }

  async timeseries(actor: Actor, raw: TimeseriesInput): Promise<Timeseries> {
    const query = parseAnalyticsInput(timeseriesInput, raw);
    const range = coveredRange(query.from, query.to, query.bucket);
    const cells = await this.#sums(actor, range, query.filters ?? null, query.bucket, query.groupBy ?? null);
    return {
      source: 'clickhouse',
      points: cells.map((c) => ({
        bucket: bucketText(c.bucket * 1000),
        group: c.group,
        ...toFigures(c.sums),
      })),
    };
  }

  async summary(actor: Actor, raw: SummaryInput): Promise<AnalyticsSummary> {
    const query = parseAnalyticsInput(summaryInput, raw);
    // Exactly [from, to), as Postgres counts a summary: its edges need not fall on whole hours.
    const range = { from: new Date(query.from), to: new Date(query.to) };
    const filters = query.filters ?? null;
    const [byAgent, byModel] = await Promise.all([
      this.#sums(actor, range, filters, null, 'agent'),
      this.#sums(actor, range, filters, null, 'model'),
    ]);
    // every run and step has an agent: the agents' sums add up to the totals, one pair of queries fewer
    const totals = byAgent.reduce((all, c) => addSums(all, c.sums), emptySums());
    const agentIds = byAgent.map((c) => c.group).filter((g): g is string => g !== null);
    const names = new Map<string, string | null>();
    for (let i = 0; i < agentIds.length; i += 1000) {
      const rows = await this.#db
        .select({ id: agents.id, name: agents.name })
        .from(agents)
        .where(and(eq(agents.organizationId, actor.organizationId), inArray(agents.id, agentIds.slice(i, i + 1000))));
      for (const r of rows) names.set(r.id, r.name);
    }
    const entries = (cells: Cell[], latency: 'durationHistogram' | 'ttftHistogram', named: boolean) =>
      cells
        .filter((c) => c.group !== null)
        .map((c) => {
          const figures = toFigures(c.sums);
          return {
            key: c.group as string,
            name: named ? (names.get(c.group as string) ?? null) : null,
            costUsd: figures.costUsd,
            runs: figures.runs,
            steps: figures.steps,
            p95Ms: (latency === 'durationHistogram' ? figures.runDurationMs : figures.ttftMs)?.p95 ?? null,
            cost: c.sums.costPusd,
          };
        });
    return {
      source: 'clickhouse',
      totals: toFigures(totals),
      topAgentsByCost: topByCost(entries(byAgent, 'durationHistogram', true), query.top),
      topAgentsByP95: topByP95(entries(byAgent, 'durationHistogram', true), query.top),
      topModelsByCost: topByCost(entries(byModel, 'ttftHistogram', false), query.top),
      topModelsByP95: topByP95(entries(byModel, 'ttftHistogram', false), query.top),
    };
  }

  /** Runs' and steps' sums per (bucket, group), merged, sorted by bucket then group (null first, as on Postgres). */
  async #sums(
    actor: Actor,
    range: { from: Date; to: Date },
    filters: AnalyticsFilters | null,
    unit: Unit,
    groupBy: AnalyticsGroupBy | null,
  ): Promise<Cell[]> {
    const params: Record<string, unknown> = {
      org: actor.organizationId,
      from: clickhouseTime(range.from),
      to: clickhouseTime(range.to),
      agents: filters?.agentIds ?? [],
      models: filters?.models ?? [],
      // Providers are kept lower case (the feed lower-cases them), and so are the filter's, as on Postgres.
      providers: filters?.providers?.map((p) => p.toLowerCase()) ?? [],
      statuses: filters?.statuses ?? [],
    };
    const bucket = (column: string) =>
      unit === null ? '0' : `toUnixTimestamp(${unit === 'hour' ? 'toStartOfHour' : 'toStartOfDay'}(${column}, 'UTC'))`;
    const where = (p: string) =>
      [
        `${p}organization_id = {org:String}`,
        `${p}created_at >= {from:DateTime64(6, 'UTC')}`,
        `${p}created_at < {to:DateTime64(6, 'UTC')}`,
        filters?.agentIds ? `${p}agent_id IN {agents:Array(String)}` : null,
        filters?.models ? `${p}model IN {models:Array(String)}` : null,
        filters?.providers ? `${p}provider IN {providers:Array(String)}` : null,
      ]
        .filter(Boolean)
        .join(' AND ');
    const runs = qualified(this.#ch, 'analytics_runs');
    const steps = qualified(this.#ch, 'analytics_steps');
    const runGroup = groupBy ? GROUP_COLUMN[groupBy].runs : 'NULL';
    const runsSql = `
      SELECT ${bucket('created_at')} AS b, ${runGroup} AS g,
        count() AS runs, countIf(status = 'failed') AS failed_runs,
        ${histogram('duration_bucket')} AS dh, ${histogram('ttft_bucket')} AS th
      FROM ${runs} FINAL
      WHERE ${where('')}${filters?.statuses ? ' AND status IN {statuses:Array(String)}' : ''}
      GROUP BY b, g`;
    // cost and LLM time as text: JSON numbers would lose digits past 2^53 (chdb writes 64/128-bit integers unquoted).
    // steps take their run's status by a join, only when the query needs it: a run's status changes after its steps
    // were copied, and a join keeps that one fact in one row
    const needsRun = groupBy === 'status' || !!filters?.statuses;
    const stepGroup = groupBy ? GROUP_COLUMN[groupBy].steps : 'NULL';
    const stepsSql = `
      SELECT ${bucket('s.created_at')} AS b, ${stepGroup} AS g,
        count() AS steps, sum(s.is_error) AS step_errors,
        sum(s.input_tokens) AS input, sum(s.cached_input_tokens) AS cached_input,
        sum(s.cache_write_tokens) AS cache_write, sum(s.output_tokens) AS output,
        sum(s.reasoning_tokens) AS reasoning, sum(s.total_tokens) AS total,
        toString(sum(toInt128(s.cost_pusd))) AS cost, sum(s.unpriced_tokens) AS unpriced,
        toString(sum(toInt128(s.llm_ns))) AS llm
      FROM ${steps} AS s FINAL
      ${
        needsRun
          ? `INNER JOIN (SELECT id, status FROM ${runs} FINAL WHERE organization_id = {org:String}
               AND created_at < {to:DateTime64(6, 'UTC')}${filters?.statuses ? ' AND status IN {statuses:Array(String)}' : ''}) AS r
             ON s.run_id = r.id`
          : ''
      }
      WHERE ${where('s.')}
      GROUP BY b, g`;
    const [runRows, stepRows] = await Promise.all([
      this.#query<RunRow>(runsSql, params),
      this.#query<StepRow>(stepsSql, params),
    ]);
    const cells = new Map<string, Cell>();
    const cellOf = (b: number | string, g: string | null) => {
      const key = `${b}\u0000${g ?? '\u0001'}`;
      let cell = cells.get(key);
      if (!cell) {
        cell = { bucket: Number(b), group: g, sums: emptySums() };
        cells.set(key, cell);
      }
      return cell;
    };
    for (const r of runRows) {
      const sums = emptySums();
      sums.runs = Number(r.runs);
      sums.failedRuns = Number(r.failed_runs);
      fillHistogram(sums.durationHistogram, r.dh);
      fillHistogram(sums.ttftHistogram, r.th);
      addSums(cellOf(r.b, r.g).sums, sums);
    }
    for (const r of stepRows) {
      const sums = emptySums();
      sums.steps = Number(r.steps);
      sums.stepErrors = Number(r.step_errors);
      sums.inputTokens = Number(r.input);
      sums.cachedInputTokens = Number(r.cached_input);
      sums.cacheWriteTokens = Number(r.cache_write);
      sums.outputTokens = Number(r.output);
      sums.reasoningTokens = Number(r.reasoning);
      sums.totalTokens = Number(r.total);
      sums.costPusd = BigInt(r.cost);
      sums.unpricedTokens = Number(r.unpriced);
      sums.llmNs = BigInt(r.llm);
      addSums(cellOf(r.b, r.g).sums, sums);
    }
    return [...cells.values()].sort(
      (a, b) =>
        a.bucket - b.bucket ||
        (a.group === b.group ? 0 : a.group === null ? -1 : b.group === null ? 1 : a.group < b.group ? -1 : 1),
    );
  }

  /**
   * One query, bounded in time: ClickHouse unreachable, failing for its own state, or slower than the timeout →
   * Unavailable (503, retryable).
   */
  async #query<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.#timeoutMs);
    const seconds = Math.max(1, Math.ceil(this.#timeoutMs / 1000));
    try {
      const result = await this.#ch.client.query({
        // a row's versions share its partition (created_at never changes): FINAL need not merge across partitions
        query: `${query} SETTINGS max_execution_time = ${seconds}, do_not_merge_across_partitions_select_final = 1`,
        query_params: params,
        format: 'JSONEachRow',
        abort_signal: abort.signal,
      });
      return await result.json<T>();
    } catch (err) {
      if (abort.signal.aborted) {
        throw new Unavailable(`ClickHouse did not answer within ${this.#timeoutMs} ms; retry later`, { cause: err });
      }
      throw clickhouseFailure(err);
    } finally {
      clearTimeout(timer);
    }
  }
}

interface RunRow {
  b: number | string;
  g: string | null;
  runs: string | number;
  failed_runs: string | number;
  /** sumMap's (keys, values). */
  dh: [number[], (string | number)[]];
  th: [number[], (string | number)[]];
}

interface StepRow {
  b: number | string;
  g: string | null;
  steps: string | number;
  step_errors: string | number;
  input: string | number;
  cached_input: string | number;
  cache_write: string | number;
  output: string | number;
  reasoning: string | number;
  total: string | number;
  cost: string | number;
  unpriced: string | number;
  llm: string | number;
}

function fillHistogram(into: number[], [keys, values]: [number[], (string | number)[]]): void {
  keys.forEach((k, i) => {
    if (k < HISTOGRAM_BUCKETS) into[k] = (into[k] ?? 0) + Number(values[i]);
  });
}

type Entry = AnalyticsSummary['topAgentsByCost'][number] & { cost: bigint };

const strip = ({ cost: _, ...entry }: Entry) => entry;
const byKey = (a: Entry, b: Entry) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Highest cost first, then by key (entries whose tokens are all unpriced too, at 0, as on Postgres). */
function topByCost(entries: Entry[], top: number) {
  return entries
    .sort((a, b) => (a.cost === b.cost ? byKey(a, b) : a.cost > b.cost ? -1 : 1))
    .slice(0, top)
    .map(strip);
}

/** Slowest p95 first, then by key; entries without latency are left out. */
function topByP95(entries: Entry[], top: number) {
  return entries
    .filter((e) => e.p95Ms !== null)
    .sort((a, b) => (b.p95Ms as number) - (a.p95Ms as number) || byKey(a, b))
    .slice(0, top)
    .map(strip);
}
