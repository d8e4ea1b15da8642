import { and, eq, inArray, type SQL, sql } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import { type Db, rowsOf } from '../db/connect.ts';
import { agents } from '../db/schema.ts';
import { formatUsd } from '../pricing/money.ts';
import { type AggregateSums, emptySums, toFigures } from './figures.ts';
import { emptyHistogram, percentileFromHistogram } from './latency-histogram.ts';
import {
  DURATION_COLUMNS,
  histogramSums,
  type LevelName,
  ROLLUP_TABLES,
  type RollupUnit,
  RUN_LEVELS,
  rebuildStatements,
  runDeltaSql,
  STEP_LEVELS,
  STEP_VALUES,
  stepDeltaSql,
  TTFT_COLUMNS,
  truncTo,
} from './rollup-sql.ts';
import {
  type AnalyticsEngine,
  type AnalyticsFilters,
  type AnalyticsGroupBy,
  type AnalyticsSummary,
  parseAnalyticsInput,
  type SummaryInput,
  summaryInput,
  type Timeseries,
  type TimeseriesInput,
  type TimeseriesPoint,
  timeseriesInput,
} from './schemas.ts';

/** Microseconds since the epoch: the database's precision, so range edges split exactly. */
type Micros = bigint;
const HOUR: Micros = 3_600_000_000n;
const DAY: Micros = 24n * HOUR;
const unitMicros = (unit: RollupUnit) => (unit === 'hour' ? HOUR : DAY);

function toMicros(text: string): Micros {
  const fraction = /\.(\d+)/.exec(text)?.[1] ?? '';
  return BigInt(Date.parse(text)) * 1000n + BigInt((fraction.slice(3, 6) || '0').padEnd(3, '0'));
}

function fromMicros(us: Micros): string {
  const ms = us / 1000n - (us % 1000n < 0n ? 1n : 0n);
  const rest = us - ms * 1000n;
  return new Date(Number(ms)).toISOString().replace('Z', `${String(rest).padStart(3, '0')}Z`);
}

const floorTo = (us: Micros, step: Micros) => us - (((us % step) + step) % step);
const ceilTo = (us: Micros, step: Micros) => {
  const floor = floorTo(us, step);
  return floor === us ? us : floor + step;
};

/** A part of a query's range and what answers it: a rollup level, or the raw tables. */
interface Segment {
  from: Micros;
  to: Micros;
  level: LevelName | 'raw';
}

/** What one sums query asks: the range, the time bucket (none: one total) and the group. */
interface SumsQuery {
  from: Micros;
  to: Micros;
  unit: RollupUnit | null;
  group: AnalyticsGroupBy | null;
  filters: AnalyticsFilters | null | undefined;
}

/**
 * One bucket and group of an answer: its sums, and its histograms as the sparse texts of its rows, turned into counts
 * only when its figures are computed ({@link sumsOf}). A timeseries has thousands of groups: two arrays of 72 counts
 * each that all lived until the answer was written were most of the garbage collector's work.
 */
interface Grouped {
  bucket: string | null;
  group: string | null;
  sums: AggregateSums;
  durationTexts: string[];
  ttftTexts: string[];
}

/** Shared by every Grouped until sumsOf: never written. */
const NO_COUNTS: number[] = Object.freeze(emptyHistogram()) as number[];
const scratchDuration = emptyHistogram();
const scratchTtft = emptyHistogram();

/**
 * The group's sums with its histograms counted, in arrays shared by every call: valid until the next call, so read
 * them at once (toFigures, a percentile) and keep only what those return.
 */
function sumsOf(g: Grouped): AggregateSums {
  scratchDuration.fill(0);
  scratchTtft.fill(0);
  for (const text of g.durationTexts) addSparseHistogram(scratchDuration, text);
  for (const text of g.ttftTexts) addSparseHistogram(scratchTtft, text);
  return { ...g.sums, durationHistogram: scratchDuration, ttftHistogram: scratchTtft };
}

/**
 * Which tables answer a query. Step figures grouped or filtered by run status need each step's run: only the raw
 * tables have it (and the rollups keep failed runs as a count, not statuses). Everything else comes from the rollups: hours without agents, hours with agents, or days with
 * agents for whole days; parts of a range that are not whole hours (summary only: timeseries covers whole buckets)
 * come from the raw tables, which read at most two hours.
 */
export function planSegments(query: SumsQuery, mode: 'auto' | 'raw'): Segment[] {
  const { from, to, unit, group, filters } = query;
  // Run status is no key of the rollups: step figures by run status need each step's run.
  if (mode === 'raw' || group === 'status' || filters?.statuses) return [{ from, to, level: 'raw' }];
  const agent = group === 'agent' || filters?.agentIds != null;
  if (unit === 'hour') return [{ from, to, level: agent ? 'agentHours' : 'hours' }];
  if (unit === 'day') return [{ from, to, level: agent ? 'agentDays' : 'hours' }];
  const hourFrom = ceilTo(from, HOUR);
  const hourTo = floorTo(to, HOUR);
  if (hourFrom >= hourTo) return [{ from, to, level: 'raw' }];
  const segments: Segment[] = [];
  if (from < hourFrom) segments.push({ from, to: hourFrom, level: 'raw' });
  const dayFrom = ceilTo(hourFrom, DAY);
  const dayTo = floorTo(hourTo, DAY);
  if (!agent) segments.push({ from: hourFrom, to: hourTo, level: 'hours' });
  else if (dayFrom >= dayTo) segments.push({ from: hourFrom, to: hourTo, level: 'agentHours' });
  else {
    if (hourFrom < dayFrom) segments.push({ from: hourFrom, to: dayFrom, level: 'agentHours' });
    segments.push({ from: dayFrom, to: dayTo, level: 'agentDays' });
    if (dayTo < hourTo) segments.push({ from: dayTo, to: hourTo, level: 'agentHours' });
  }
  if (hourTo < to) segments.push({ from: hourTo, to, level: 'raw' });
  return segments;
}

const list = (values: readonly string[]) =>
  sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  );

/** The filters as predicates over the columns both the rollups and the raw deltas have. */
function filterPredicates(filters: AnalyticsFilters | null | undefined, runs: boolean, raw: boolean): SQL[] {
  const where: SQL[] = [];
  if (filters?.agentIds) where.push(sql`agent_id in (${list(filters.agentIds)})`);
  if (filters?.models) where.push(sql`model in (${list(filters.models)})`);
  if (filters?.providers) where.push(sql`provider in (${list(filters.providers.map((p) => p.toLowerCase()))})`);
  if (filters?.statuses) where.push(sql`${sql.raw(runs ? 'status' : 'run_status')} in (${list(filters.statuses)})`);
  if (!runs && !raw && filters?.statuses) throw new Error('step rollups have no run status');
  return where;
}

const GROUP_COLUMNS: Record<AnalyticsGroupBy, { steps: string; runs: string }> = {
  agent: { steps: 'agent_id', runs: 'agent_id' },
  model: { steps: 'model', runs: 'model' },
  provider: { steps: 'provider', runs: 'provider' },
  status: { steps: 'run_status', runs: 'status' },
};

const STEP_DELTA = sql.raw(`(${stepDeltaSql('steps', '1', '')})`);
const STEP_DELTA_WITH_RUN_STATUS = sql.raw(
  `(${stepDeltaSql('(SELECT s.*, r.status AS run_status FROM steps s JOIN runs r ON r.id = s.run_id)', '1', '', ', x.run_status')})`,
);
const RUN_DELTA = sql.raw(`(${runDeltaSql('runs', '1', '')})`);

/** Sums of a rollup's columns, or (`direct`: one rollup row per answer row, added up in JS) the columns themselves. */
const aggregate = (column: string, direct: boolean) => (direct ? column : `sum(${column})`);
/**
 * The step sums as one text, in STEP_VALUES order (`12,0,5230,…`): one string per row instead of eleven, which the
 * driver and the garbage collector paid for on every row of a timeseries.
 */
const stepAggregates = (direct: boolean) =>
  sql.raw(
    `concat_ws(',', ${STEP_VALUES.map(([column]) => `coalesce(${aggregate(column, direct)}, 0)`).join(', ')}) AS v`,
  );

/**
 * A histogram as the text of its non-zero buckets, `index:count` joined by commas (`12:3,13:5`): runs cluster in a
 * dozen of the 72 buckets, and the dense array's text made the most of a timeseries' time, on both sides.
 */
const sparseHistogram = (counts: readonly string[], alias: string) =>
  `concat_ws(',', ${counts.map((count, k) => `CASE WHEN ${count} <> 0 THEN '${k}:' || ${count} END`).join(', ')}) AS ${alias}`;
const rollupHistograms = (direct: boolean) =>
  sql.raw(
    `${sparseHistogram(
      DURATION_COLUMNS.map((c) => aggregate(c, direct)),
      'dh',
    )}, ${sparseHistogram(
      TTFT_COLUMNS.map((c) => aggregate(c, direct)),
      'th',
    )}`,
  );
const RAW_HISTOGRAMS = (() => {
  const sums = histogramSums('1').map((s) => s.split(' AS ')[0]!);
  return sql.raw(
    `${sparseHistogram(sums.slice(0, DURATION_COLUMNS.length), 'dh')}, ${sparseHistogram(sums.slice(DURATION_COLUMNS.length), 'th')}`,
  );
})();

interface SumsRow {
  b: string | null;
  g: string | null;
  [column: string]: string | null;
}

/** The SELECT of one segment: steps (`runs` false) or runs, from a rollup level or the raw tables. */
function segmentQuery(org: string, segment: Segment, query: SumsQuery, runs: boolean): SQL {
  const raw = segment.level === 'raw';
  const level = raw ? null : (runs ? RUN_LEVELS : STEP_LEVELS)[segment.level as LevelName];
  const time = raw ? 'created_at' : 'bucket';
  const bucket =
    query.unit === null
      ? 'null::timestamptz'
      : level && level.unit === query.unit
        ? 'bucket'
        : truncTo(query.unit, time);
  const group = query.group ? GROUP_COLUMNS[query.group][runs ? 'runs' : 'steps'] : "''";
  const source = level
    ? sql.raw(level.table)
    : runs
      ? RUN_DELTA
      : query.group === 'status' || query.filters?.statuses
        ? STEP_DELTA_WITH_RUN_STATUS
        : STEP_DELTA;
  const where = and(
    sql`organization_id = ${org}`,
    sql`${sql.raw(time)} >= ${fromMicros(segment.from)}::timestamptz`,
    sql`${sql.raw(time)} < ${fromMicros(segment.to)}::timestamptz`,
    ...filterPredicates(query.filters, runs, raw),
  );
  // A rollup row of the bucket asked for answers as it is: the server ships rows and JS adds up the few that share a
  // bucket and group (two providers of a model), instead of aggregating 146 columns first.
  const direct = level !== null && bucket === 'bucket';
  const aggregates = runs
    ? raw
      ? sql`count(*)::text AS runs, (count(*) filter (where status = 'failed'))::text AS failed, ${RAW_HISTOGRAMS}`
      : sql`${sql.raw(aggregate('runs', direct))}::text AS runs, ${sql.raw(aggregate('failed_runs', direct))}::text AS failed,
          ${rollupHistograms(direct)}`
    : raw
      ? stepAggregates(false)
      : stepAggregates(direct);
  const head = sql`select to_char(${sql.raw(bucket)} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as b, ${sql.raw(group)} as g, ${aggregates}
    from ${source} as x where ${where}`;
  // Rollup rows at zero (every run or step of theirs deleted) are dropped by the triggers; this keeps a row that a
  // concurrent statement has not dropped yet out of the answer.
  const count = runs ? 'runs' : 'steps';
  if (raw) return sql`${head} group by 1, 2`;
  if (direct) return sql`${head} and ${sql.raw(count)} <> 0`;
  return sql`${head} group by 1, 2 having ${sql.raw(`sum(${count}) <> 0`)}`;
}

/**
 * Adds a sparse histogram's text (`12:3,13:5`, see sparseHistogram) into `into`. Digits are read in place: a
 * timeseries reads two per rollup row (thousands of rows), and a string per element made the garbage collector the
 * largest cost of the answer.
 */
export function addSparseHistogram(into: number[], text: string | null | undefined) {
  if (!text) return;
  let index = 0;
  let value = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i === text.length ? 44 : text.charCodeAt(i);
    if (c === 58) {
      index = value;
      value = 0;
    } else if (c === 44) {
      into[index]! += value;
      value = 0;
    } else value = value * 10 + (c - 48);
  }
}

type NumberSum = Exclude<keyof AggregateSums, 'costPusd' | 'llmNs' | 'durationHistogram' | 'ttftHistogram'>;

/** Where each STEP_VALUES column is added in AggregateSums, in STEP_VALUES order. */
const STEP_SUMS = STEP_VALUES.map(([column]) => {
  const field = {
    steps: 'steps',
    step_errors: 'stepErrors',
    input_tokens: 'inputTokens',
    cached_input_tokens: 'cachedInputTokens',
    cache_write_tokens: 'cacheWriteTokens',
    output_tokens: 'outputTokens',
    reasoning_tokens: 'reasoningTokens',
    total_tokens: 'totalTokens',
    cost_pusd: 'costPusd',
    unpriced_tokens: 'unpricedTokens',
    llm_ns: 'llmNs',
  }[column];
  if (!field) throw new Error(`no AggregateSums field for rollup column ${column}`);
  return field as NumberSum | 'costPusd' | 'llmNs';
});

/**
 * Adds the packed step sums of stepAggregates (`12,0,5230,…`) into `sums`, digits read in place; pico-USD and
 * nanoseconds, which outgrow 2^53 over long ranges, as bigint.
 */
function addStepRow(sums: AggregateSums, row: SumsRow) {
  const text = row.v!;
  let index = 0;
  let start = 0;
  let value = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i === text.length ? 44 : text.charCodeAt(i);
    if (c !== 44) {
      value = value * 10 + (c - 48);
      continue;
    }
    const field = STEP_SUMS[index++]!;
    if (field === 'costPusd' || field === 'llmNs')
      sums[field] += i - start > 15 ? BigInt(text.slice(start, i)) : BigInt(value);
    else sums[field] += value;
    start = i + 1;
    value = 0;
  }
}

function addRunRow(g: Grouped, row: SumsRow) {
  g.sums.runs += Number(row.runs ?? 0);
  g.sums.failedRuns += Number(row.failed ?? 0);
  if (row.dh) g.durationTexts.push(row.dh);
  if (row.th) g.ttftTexts.push(row.th);
}

const compareGroups = (a: string | null, b: string | null) =>
  a === b ? 0 : a === null ? -1 : b === null ? 1 : a < b ? -1 : 1;

export interface PostgresAnalyticsOptions {
  db: Db;
  /**
   * `auto` answers from the rollups wherever they can (planSegments), `raw` from runs and steps only: the oracle the
   * contract suite compares the rollups with, and a way to check them after a doubt. @default 'auto'
   */
  mode?: 'auto' | 'raw';
}

/**
 * analytics.timeseries and analytics.summary on Postgres (PGlite or a server): from the rollup tables that the
 * triggers of migration 0006 keep, or from the raw tables for what the rollups cannot answer (step figures by run
 * status). Both give the same sums for the same rows (analytics-contract.ts), so the same figures.
 */
export class PostgresAnalytics implements AnalyticsEngine {
  readonly #db: Db;
  readonly #mode: 'auto' | 'raw';

  constructor(options: PostgresAnalyticsOptions) {
    this.#db = options.db;
    this.#mode = options.mode ?? 'auto';
  }

  async timeseries(actor: Actor, raw: TimeseriesInput): Promise<Timeseries> {
    const input = parseAnalyticsInput(timeseriesInput, raw);
    const step = unitMicros(input.bucket);
    // Points cover whole buckets (schemas.ts): the range widens to the buckets it touches.
    const query: SumsQuery = {
      from: floorTo(toMicros(input.from), step),
      to: ceilTo(toMicros(input.to), step),
      unit: input.bucket,
      group: input.groupBy ?? null,
      filters: input.filters,
    };
    const { source, groups } = await this.#sums(actor.organizationId, query);
    const points: TimeseriesPoint[] = groups
      .sort((a, b) => (a.bucket! < b.bucket! ? -1 : a.bucket! > b.bucket! ? 1 : compareGroups(a.group, b.group)))
      .map((g) => ({ bucket: g.bucket!, group: g.group, ...toFigures(sumsOf(g)) }));
    return { source, points };
  }

  async summary(actor: Actor, raw: SummaryInput): Promise<AnalyticsSummary> {
    const input = parseAnalyticsInput(summaryInput, raw);
    const org = actor.organizationId;
    const base = { from: toMicros(input.from), to: toMicros(input.to), unit: null, filters: input.filters };
    const [totals, byAgent, byModel] = await Promise.all([
      this.#sums(org, { ...base, group: null }),
      this.#sums(org, { ...base, group: 'agent' }),
      this.#sums(org, { ...base, group: 'model' }),
    ]);
    const agentRows = byAgent.groups.filter((g) => g.group !== null);
    const modelRows = byModel.groups.filter((g) => g.group !== null);
    const names = await this.#agentNames(
      org,
      agentRows.map((g) => g.group!),
    );
    const top = (rows: Grouped[], p95: (s: AggregateSums) => number | null, by: 'cost' | 'p95', agentsList: boolean) =>
      rows
        .map((g) => ({ g, p95Ms: p95(sumsOf(g)) }))
        .filter((e) => by === 'cost' || e.p95Ms !== null)
        .sort((a, b) => {
          const order =
            by === 'cost'
              ? Number(b.g.sums.costPusd > a.g.sums.costPusd) - Number(b.g.sums.costPusd < a.g.sums.costPusd)
              : b.p95Ms! - a.p95Ms!;
          return order || compareGroups(a.g.group, b.g.group);
        })
        .slice(0, input.top)
        .map(({ g, p95Ms }) => ({
          key: g.group!,
          name: agentsList ? (names.get(g.group!) ?? null) : null,
          costUsd: formatUsd(g.sums.costPusd),
          runs: g.sums.runs,
          steps: g.sums.steps,
          p95Ms,
        }));
    const durationP95 = (s: AggregateSums) => percentileFromHistogram(s.durationHistogram, 0.95);
    const ttftP95 = (s: AggregateSums) => percentileFromHistogram(s.ttftHistogram, 0.95);
    const sources = [totals.source, byAgent.source, byModel.source];
    return {
      source: sources.includes('rollup') ? 'rollup' : 'raw',
      totals: toFigures(totals.groups[0] ? sumsOf(totals.groups[0]) : emptySums()),
      topAgentsByCost: top(agentRows, durationP95, 'cost', true),
      topAgentsByP95: top(agentRows, durationP95, 'p95', true),
      topModelsByCost: top(modelRows, ttftP95, 'cost', false),
      topModelsByP95: top(modelRows, ttftP95, 'p95', false),
    };
  }

  async #agentNames(org: string, ids: string[]): Promise<Map<string, string | null>> {
    if (!ids.length) return new Map();
    const rows = await this.#db
      .select({ id: agents.id, name: agents.name })
      .from(agents)
      .where(and(eq(agents.organizationId, org), inArray(agents.id, ids)));
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  /** The sums of every bucket and group of `query`, over the segments planSegments chose, added up. */
  async #sums(org: string, query: SumsQuery): Promise<{ source: 'rollup' | 'raw'; groups: Grouped[] }> {
    const segments = planSegments(query, this.#mode);
    const results = await Promise.all(
      segments.flatMap((segment) =>
        [false, true].map(async (runs) => ({
          runs,
          rows: rowsOf<SumsRow>(await this.#db.execute(segmentQuery(org, segment, query, runs))),
        })),
      ),
    );
    const groups = new Map<string, Grouped>();
    for (const { runs, rows } of results) {
      for (const row of rows) {
        const group = row.g === '' || row.g === null ? null : row.g;
        const key = `${row.b ?? ''}\u0000${group ?? ''}`;
        let entry = groups.get(key);
        if (!entry) {
          entry = { bucket: row.b, group, sums: emptySums(NO_COUNTS), durationTexts: [], ttftTexts: [] };
          groups.set(key, entry);
        }
        if (runs) addRunRow(entry, row);
        else addStepRow(entry.sums, row);
      }
    }
    return {
      source: segments.some((s) => s.level !== 'raw') ? 'rollup' : 'raw',
      groups: [...groups.values()],
    };
  }
}

/**
 * Rebuilds one organization's rollups from its runs and steps, in one transaction: after a manual fix of the data
 * with the triggers disabled, or to check them (a rebuild must change nothing). It locks the rollup tables against
 * writes (EXCLUSIVE: reads go on) until it commits, so steps and runs written meanwhile, in any organization, wait
 * and then add themselves to the rebuilt rows; takes seconds per million rows.
 */
export async function rebuildRollups(db: Db, organizationId: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.execute(sql`set local statement_timeout = 0`);
    await tx.execute(sql.raw(`lock table ${ROLLUP_TABLES.join(', ')} in exclusive mode`));
    for (const statement of rebuildStatements()) {
      const parts = statement.split('$ORG');
      await tx.execute(
        sql.join(
          parts.map((p) => sql.raw(p)),
          sql`${organizationId}`,
        ),
      );
    }
  });
}
