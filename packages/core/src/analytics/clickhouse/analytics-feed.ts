import { type SQL, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { Actor } from '../../actor.ts';
import { clickhouseFailure } from '../../clickhouse/clickhouse-failure.ts';
import { type ClickHouse, qualified } from '../../clickhouse/connect.ts';
import {
  DEFAULT_MAX_QUEUE_ROWS,
  InsertBatcher,
  type InsertBatcherOptions,
  insertBody,
} from '../../clickhouse/insert-batcher.ts';
import { type Db, rowsOf } from '../../db/connect.ts';

/**
 * Postgres's `statement_timestamp()` in µs: the version of every row one read copies. The read a commit triggers
 * starts after that commit, so its version outranks every earlier read, which could not see the commit (a read's
 * snapshot is taken after its statement started).
 */
const VERSION = sql`(extract(epoch from statement_timestamp()) * 1000000)::bigint`;
const CLICKHOUSE_TIME = (column: SQL) => sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')`;

/**
 * A run as analytics_runs holds it, one JSONEachRow line built by Postgres, so the derived values (lower case, the
 * duration's coalesce) are Postgres's, as for the Postgres engine.
 */
const RUN_LINE = sql`json_build_object(
  'organization_id', r.organization_id, 'id', r.id, 'agent_id', r.agent_id,
  'created_at', ${CLICKHOUSE_TIME(sql`r.created_at`)}, 'status', r.status,
  'model', r.model, 'provider', lower(r.provider),
  'duration_ns', coalesce(r.run_ns, r.total_duration_ns), 'ttft_ns', r.ttft_ns,
  'version', ${VERSION}, 'is_deleted', 0)::text`;

/** A step as analytics_steps holds it (see {@link RUN_LINE}): the null-to-zero rules of the analytics figures. */
const STEP_LINE = sql`json_build_object(
  'organization_id', s.organization_id, 'id', s.id, 'run_id', s.run_id, 'agent_id', s.agent_id,
  'created_at', ${CLICKHOUSE_TIME(sql`s.created_at`)}, 'model', s.model, 'provider', lower(s.provider_name),
  'is_error', (s.status = 'failed' or s.error_type is not null)::int,
  'input_tokens', coalesce(s.input_tokens, 0), 'cached_input_tokens', coalesce(s.cached_input_tokens, 0),
  'cache_write_tokens', coalesce(s.cache_write_tokens, 0), 'output_tokens', coalesce(s.output_tokens, 0),
  'reasoning_tokens', coalesce(s.reasoning_tokens, 0), 'total_tokens', s.total_tokens,
  'cost_pusd', coalesce(s.cost_pusd, 0), 'unpriced_tokens', coalesce(s.unpriced_tokens, s.total_tokens),
  'llm_ns', coalesce(s.llm_request_ns, 0),
  'version', ${VERSION}, 'is_deleted', 0)::text`;

const TABLES = ['analytics_runs', 'analytics_steps'] as const;
type Table = (typeof TABLES)[number];
const COLUMNS: Record<Table, string> = {
  analytics_runs:
    'organization_id, id, agent_id, created_at, status, model, provider, duration_ns, ttft_ns, version, is_deleted',
  analytics_steps:
    'organization_id, id, run_id, agent_id, created_at, model, provider, is_error, input_tokens, cached_input_tokens, ' +
    'cache_write_tokens, output_tokens, reasoning_tokens, total_tokens, cost_pusd, unpriced_tokens, llm_ns, version, is_deleted',
};

/** A time as a DateTime64 query parameter, in UTC. */
export const clickhouseTime = (date: Date) => date.toISOString().replace('T', ' ').replace('Z', '');

/** Most ids one Postgres read takes. */
const READ_CHUNK = 1000;
const DAY_MS = 86_400_000;

export interface AnalyticsFeedOptions
  extends Omit<InsertBatcherOptions, 'insert' | 'location' | 'rowsName' | 'flushIntervalMs'> {
  db: Db;
  /** A connected ClickHouse whose migrations are applied. */
  clickhouse: ClickHouse;
  logger: Logger;
  /** Where the feed's counters go (/metrics). */
  registry?: Registry;
  /**
   * How long changes gather before one Postgres read copies them all: under load, one read per table per interval
   * instead of one per write. @default 50
   */
  flushIntervalMs?: number;
}

export interface BackfillRange {
  /** Start, inclusive (creation time of runs and steps). */
  from: Date;
  /** End, exclusive. */
  to: Date;
  /** Only this organization. @default every organization */
  organizationId?: string;
}

export interface BackfillResult {
  runs: number;
  steps: number;
  /** Rows of ClickHouse that Postgres no longer has (deleted during an outage), now tombstoned. */
  removed: number;
}

/**
 * Copies Postgres's runs and steps into ClickHouse's analytics tables, after Postgres committed them. The write paths
 * call it with ids only (one line each, no await): changes gather for `flushIntervalMs`, then one Postgres read per
 * table copies their current rows through an {@link InsertBatcher}. A copy is the row's whole state with a newer
 * version, so a late or repeated copy never goes back in time. What cannot be written (ClickHouse down or not keeping
 * up) is counted (`runtrace_analytics_feed_rows_total{result="lost"}`) and logged; {@link backfill} repairs it.
 */
export class AnalyticsFeed {
  readonly #db: Db;
  readonly #ch: ClickHouse;
  readonly #logger: Logger;
  readonly #batchers: Record<Table, InsertBatcher>;
  readonly #intervalMs: number;
  /** Rows one write has in its table's queue at most: half of it, leaving room for the live feed's copies. */
  readonly #window: number;
  readonly #rows: Counter<'table' | 'result'>;
  #runIds = new Set<string>();
  #stepIds = new Set<string>();
  /** Runs whose steps are all copied again (prices.recompute). */
  #stepsOfRuns = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  /** Copies and deletions started and not yet settled; they never reject. */
  #work = new Set<Promise<void>>();
  #closed = false;

  constructor(options: AnalyticsFeedOptions) {
    this.#db = options.db;
    this.#ch = options.clickhouse;
    this.#logger = options.logger;
    this.#intervalMs = options.flushIntervalMs ?? 50;
    this.#window = Math.max(1000, Math.floor((options.maxQueueRows ?? DEFAULT_MAX_QUEUE_ROWS) / 2));
    const batcher = (table: Table) =>
      new InsertBatcher({
        ...options,
        flushIntervalMs: 0,
        location: options.clickhouse.location,
        rowsName: table.replace('analytics_', 'analytics '),
        insert: (body) =>
          insertBody(this.#ch, qualified(this.#ch, table), { input_format_skip_unknown_fields: 0 }, body),
      });
    this.#batchers = { analytics_runs: batcher('analytics_runs'), analytics_steps: batcher('analytics_steps') };
    this.#rows = new Counter({
      name: 'runtrace_analytics_feed_rows_total',
      help: 'Runs and steps copied to ClickHouse for analytics, by table and result (written, lost: repair with `pnpm runtrace analytics backfill-clickhouse`)',
      labelNames: ['table', 'result'],
      registers: options.registry ? [options.registry] : [],
    });
  }

  /** A step was recorded: copies it and its run (whose totals it changed). */
  stepWritten(_actor: Actor, step: { id: string; runId: string }): void {
    this.#stepIds.add(step.id);
    this.#runIds.add(step.runId);
    this.#schedule();
  }

  /** A run was created or updated: copies it. */
  runChanged(_actor: Actor, runId: string): void {
    this.#runIds.add(runId);
    this.#schedule();
  }

  /**
   * Runs whose steps changed in bulk (prices.recompute re-priced them): copies the runs and every step of theirs.
   * Call after the transaction that changed them committed.
   */
  runsChanged(runIds: readonly string[]): void {
    for (const id of runIds) {
      this.#runIds.add(id);
      this.#stepsOfRuns.add(id);
    }
    this.#schedule();
  }

  /** A run was deleted with its steps: tombstones them in ClickHouse. */
  runDeleted(actor: Actor, runId: string): void {
    this.#track(
      this.#deleteRun(actor.organizationId, runId).catch((err: unknown) => this.#lost('analytics_runs', 1, err)),
    );
  }

  /** Resolves when every change reported so far is written (or counted lost). */
  async flush(): Promise<void> {
    for (;;) {
      if (this.#timer) {
        clearTimeout(this.#timer);
        this.#timer = null;
      }
      if (this.#pending()) this.#track(this.#copy());
      if (this.#work.size === 0) return;
      await Promise.all([...this.#work]);
    }
  }

  /** Writes out what was reported, then refuses further work. */
  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
    await Promise.all(TABLES.map((t) => this.#batchers[t].close()));
  }

  /**
   * Copies the runs and steps created in [from, to) from Postgres, and tombstones the rows ClickHouse holds there that
   * Postgres no longer has: after a ClickHouse outage, and when switching analytics to ClickHouse. One organization
   * and one UTC day at a time, so memory is bounded by a day's rows. Unlike the hooks, fails on the first error.
   */
  async backfill(range: BackfillRange): Promise<BackfillResult> {
    const result: BackfillResult = { runs: 0, steps: 0, removed: 0 };
    const organizations =
      range.organizationId !== undefined
        ? [range.organizationId]
        : rowsOf<{ id: string }>(await this.#db.execute(sql`select id from organizations order by id`)).map(
            (r) => r.id,
          );
    for (const organizationId of organizations) {
      for (let start = range.from.getTime(); start < range.to.getTime(); start += DAY_MS) {
        const from = new Date(start);
        const to = new Date(Math.min(start + DAY_MS, range.to.getTime()));
        const inRange = (alias: string) =>
          sql`${sql.raw(alias)}.organization_id = ${organizationId} and ${sql.raw(alias)}.created_at >= ${from.toISOString()} and ${sql.raw(alias)}.created_at < ${to.toISOString()}`;
        const runs = await this.#read(sql`select r.id, ${RUN_LINE} as line from runs r where ${inRange('r')}`);
        const steps = await this.#read(sql`select s.id, ${STEP_LINE} as line from steps s where ${inRange('s')}`);
        await Promise.all([this.#write('analytics_runs', runs), this.#write('analytics_steps', steps)]);
        result.runs += runs.length;
        result.steps += steps.length;
        for (const [table, copied] of [
          ['analytics_runs', runs],
          ['analytics_steps', steps],
        ] as const) {
          const ids = new Set(copied.map((r) => r.id));
          const held = await this.#chIds(table, organizationId, from, to);
          const gone = held.filter((id) => !ids.has(id));
          if (gone.length) await this.#tombstone(table, organizationId, 'id IN {ids:Array(String)}', { ids: gone });
          result.removed += gone.length;
        }
      }
    }
    return result;
  }

  #pending(): boolean {
    return this.#runIds.size + this.#stepIds.size + this.#stepsOfRuns.size > 0;
  }

  #schedule(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#track(this.#copy());
    }, this.#intervalMs);
  }

  #track(work: Promise<void>): void {
    this.#work.add(work);
    void work.finally(() => this.#work.delete(work));
  }

  /** Copies what gathered; never rejects. */
  async #copy(): Promise<void> {
    const runIds = [...this.#runIds];
    const stepIds = [...this.#stepIds];
    const stepsOfRuns = [...this.#stepsOfRuns];
    this.#runIds = new Set();
    this.#stepIds = new Set();
    this.#stepsOfRuns = new Set();
    const tasks: Promise<void>[] = [];
    for (let i = 0; i < runIds.length; i += READ_CHUNK) {
      const ids = runIds.slice(i, i + READ_CHUNK);
      tasks.push(
        this.#copyRows('analytics_runs', ids.length, sql`select ${RUN_LINE} as line from runs r where r.id in ${ids}`),
      );
    }
    for (let i = 0; i < stepIds.length; i += READ_CHUNK) {
      const ids = stepIds.slice(i, i + READ_CHUNK);
      tasks.push(
        this.#copyRows(
          'analytics_steps',
          ids.length,
          sql`select ${STEP_LINE} as line from steps s where s.id in ${ids}`,
        ),
      );
    }
    for (let i = 0; i < stepsOfRuns.length; i += READ_CHUNK) {
      const ids = stepsOfRuns.slice(i, i + READ_CHUNK);
      tasks.push(
        this.#copyRows('analytics_steps', 0, sql`select ${STEP_LINE} as line from steps s where s.run_id in ${ids}`),
      );
    }
    await Promise.all(tasks);
  }

  /** One read and its write; failures are counted (`expected`: rows meant, for a read that failed). */
  async #copyRows(table: Table, expected: number, query: SQL): Promise<void> {
    let rows: { line: string }[] = [];
    try {
      rows = await this.#read(query);
      await this.#write(table, rows);
    } catch (err) {
      this.#lost(table, Math.max(rows.length, expected), err);
    }
  }

  async #read(query: SQL): Promise<{ id: string; line: string }[]> {
    return rowsOf<{ id: string; line: string }>(await this.#db.execute(query));
  }

  async #write(table: Table, rows: readonly { line: string }[]): Promise<void> {
    if (rows.length === 0) return;
    const batcher = this.#batchers[table];
    // Items of at most 1000 rows, so that a backfill's day never exceeds one INSERT's batch; and at most half the
    // batcher's queue in flight, so that a day of 150,000 steps waits for its INSERTs instead of overflowing the queue
    // (which refuses with Unavailable, as it must for the live feed).
    for (let start = 0; start < rows.length; start += this.#window) {
      const parts: Promise<void>[] = [];
      const end = Math.min(rows.length, start + this.#window);
      for (let i = start; i < end; i += 1000) {
        const part = rows.slice(i, Math.min(end, i + 1000));
        parts.push(batcher.add(part.map((r) => r.line).join('\n'), part.length));
      }
      const results = await Promise.allSettled(parts);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
    this.#rows.inc({ table, result: 'written' }, rows.length);
  }

  #lost(table: Table, rows: number, err: unknown): void {
    this.#rows.inc({ table, result: 'lost' }, rows);
    this.#logger.warn(
      { err, table, rows },
      'analytics rows not copied to ClickHouse; `pnpm runtrace analytics backfill-clickhouse` repairs the range',
    );
  }

  async #deleteRun(organizationId: string, runId: string): Promise<void> {
    // the run's copies reported earlier must land before their tombstones are made from them
    const earlier = [...this.#work];
    if (this.#pending()) earlier.push(this.#copy());
    await Promise.all(earlier);
    await Promise.all(TABLES.map((t) => this.#batchers[t].flush()));
    await this.#tombstone('analytics_steps', organizationId, 'run_id = {id:String}', { id: runId });
    await this.#tombstone('analytics_runs', organizationId, 'id = {id:String}', { id: runId });
  }

  /** Rows of `table` in `organizationId` matching `where`, copied again as deleted with a newer version. */
  async #tombstone(
    table: Table,
    organizationId: string,
    where: string,
    params: Record<string, unknown>,
  ): Promise<void> {
    const [version] = await this.#read(sql`select '' as id, ${VERSION}::text as line`);
    const columns = COLUMNS[table];
    const copied = columns.replace('version, is_deleted', '{version:UInt64}, 1');
    try {
      await this.#ch.client.command({
        query: `INSERT INTO ${qualified(this.#ch, table)} (${columns})
                SELECT ${copied} FROM ${qualified(this.#ch, table)} FINAL
                WHERE organization_id = {org:String} AND ${where}`,
        query_params: { ...params, org: organizationId, version: version?.line },
      });
    } catch (err) {
      throw clickhouseFailure(err);
    }
  }

  async #chIds(table: Table, organizationId: string, from: Date, to: Date): Promise<string[]> {
    try {
      const result = await this.#ch.client.query({
        query: `SELECT id FROM ${qualified(this.#ch, table)} FINAL WHERE organization_id = {org:String}
                AND created_at >= {from:DateTime64(6, 'UTC')} AND created_at < {to:DateTime64(6, 'UTC')}`,
        query_params: { org: organizationId, from: clickhouseTime(from), to: clickhouseTime(to) },
        format: 'JSONEachRow',
      });
      return (await result.json<{ id: string }>()).map((r) => r.id);
    } catch (err) {
      throw clickhouseFailure(err);
    }
  }
}
