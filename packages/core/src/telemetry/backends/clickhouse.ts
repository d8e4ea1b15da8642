import type { Actor } from '../../actor.ts';
import { clickhouseFailure } from '../../clickhouse/clickhouse-failure.ts';
import { type ClickHouse, clickhouseOff, qualified } from '../../clickhouse/connect.ts';
import { InsertBatcher, type InsertBatcherOptions, insertBody, RowsRefused } from '../../clickhouse/insert-batcher.ts';
import { openMigratedClickHouse } from '../../clickhouse/migrate.ts';
import { mutationTarget } from '../../clickhouse/render-migration.ts';
import { InvalidArgument } from '../../errors.ts';
import { assertStorableInput } from '../../storable-text.ts';
import { toIso } from '../../time.ts';
import type { BackendFactory, BackendStats, OrganizationStats, ProviderTraceBackend } from '../backend.ts';
import { type ProviderTrace, traceBodiesJson } from '../provider-trace.ts';
import { TimedTally } from '../tally.ts';

/** Batching: see {@link InsertBatcherOptions} (rows are provider traces). */
export interface ClickHouseBackendOptions extends Omit<InsertBatcherOptions, 'insert' | 'location' | 'rowsName'> {
  /** A connected ClickHouse whose migrations are applied (see {@link openClickHouseProviderTraceBackend}). */
  clickhouse: ClickHouse;
  /** Close `clickhouse` when the backend closes. @default false */
  ownsConnection?: boolean;
  /** Called when a fire-and-forget write fails (the caller is gone; somebody must hear of it). */
  onBackgroundError?: (err: unknown) => void;
}

/** The columns every read selects, in the table's terms. */
const COLUMNS =
  'id, step_id, run_id, agent_id, agent_tags, call_type, request_json, response_json, toString(created_at) AS created_at';

/** A provider_traces row as JSONEachRow gives it back. */
export interface ClickHouseTraceRow {
  id: string;
  step_id: string;
  run_id: string;
  agent_id: string;
  agent_tags: string[];
  call_type: string | null;
  request_json: string;
  response_json: string;
  created_at: string;
}

const CLICKHOUSE_TIME = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d{1,6})\d*)?Z$/;

/**
 * ISO-8601 UTC → `YYYY-MM-DD hh:mm:ss.ffffff`, which every ClickHouse parses (servers default to basic parsing).
 * Another offset goes once through Date; what still is not a four-digit year (e.g. `+010000-…`) is refused.
 */
function toClickHouseTime(iso: string): string {
  const date = CLICKHOUSE_TIME.test(iso) ? null : new Date(iso);
  const exact = CLICKHOUSE_TIME.exec(date && !Number.isNaN(date.getTime()) ? date.toISOString() : iso);
  if (!exact)
    throw new InvalidArgument(`createdAt is not a timestamp of years 0001–9999: ${iso}`, { field: 'createdAt' });
  return `${exact[1]} ${exact[2]}.${(exact[3] ?? '').padEnd(6, '0')}`;
}

/** `2026-01-01 00:00:00.123000` → `2026-01-01T00:00:00.123Z` (milliseconds when that is all there is, as written). */
function fromClickHouseTime(value: string): string {
  // ClickHouse writes `2026-11-27 07:00:00.123456` in UTC: the shape toIso reads.
  return toIso(`${value}Z`);
}

/** A stored row as the trace it holds. */
export function traceFromRow(row: ClickHouseTraceRow): ProviderTrace {
  return {
    id: row.id,
    requestJson: JSON.parse(row.request_json),
    responseJson: JSON.parse(row.response_json),
    stepId: row.step_id || null,
    runId: row.run_id || null,
    agentId: row.agent_id || null,
    agentTags: row.agent_tags.length ? row.agent_tags : null,
    callType: row.call_type,
    createdAt: fromClickHouseTime(row.created_at),
  };
}

/**
 * The trace's JSONEachRow line. A trace holding text no store can keep (NUL, an unpaired surrogate: the api refuses
 * both at its door) is refused here too, for direct callers, before it can fail a shared INSERT: ClickHouse rejects a
 * whole INSERT over one `\ud800`. JSON.stringify writes such characters as `\u` escapes, so a line without any
 * escape needs no closer look.
 * @throws InvalidArgument naming the field.
 */
function rowLine(organizationId: string, t: ProviderTrace): string {
  // Objects, not strings: ClickHouse stores their JSON text verbatim (input_format_json_read_objects_as_strings),
  // which spares a second escaping pass over the largest fields; the text is the one other backends share.
  const { request, response } = traceBodiesJson(t);
  const line =
    `{"organization_id":${JSON.stringify(organizationId)},"id":${JSON.stringify(t.id)}` +
    `,"step_id":${JSON.stringify(t.stepId ?? '')},"run_id":${JSON.stringify(t.runId ?? '')}` +
    `,"agent_id":${JSON.stringify(t.agentId ?? '')},"agent_tags":${JSON.stringify(t.agentTags ?? [])}` +
    `,"call_type":${JSON.stringify(t.callType ?? null)},"request_json":${request},"response_json":${response}` +
    `,"created_at":${JSON.stringify(toClickHouseTime(t.createdAt))}}`;
  if (line.includes('\\u')) assertStorableInput(t);
  return line;
}

/**
 * Provider traces in a ClickHouse table Runtrace owns (`provider_traces`, see clickhouse/migrations). Traces are
 * batched: an INSERT goes when a batch is full (rows or bytes) or when its oldest trace has waited `flushIntervalMs`.
 * Each create() settles when the INSERT holding its row has completed. A row ClickHouse refuses fails its own caller
 * alone (the batcher splits the INSERT to find it); an outage fails the batch's callers with Unavailable.
 * Reads are scoped by organization and deduplicate retried inserts (FINAL).
 */
export class ClickHouseProviderTraceBackend implements ProviderTraceBackend {
  readonly name = 'clickhouse';
  readonly #ch: ClickHouse;
  readonly #table: string;
  readonly #ownsConnection: boolean;
  readonly #batcher: InsertBatcher;
  readonly #onBackgroundError: (err: unknown) => void;
  readonly #dropped = new TimedTally();

  constructor(options: ClickHouseBackendOptions) {
    this.#ch = options.clickhouse;
    this.#table = qualified(options.clickhouse, 'provider_traces');
    this.#ownsConnection = options.ownsConnection ?? false;
    this.#onBackgroundError = options.onBackgroundError ?? (() => {});
    this.#batcher = new InsertBatcher({
      ...options,
      location: this.#ch.location,
      rowsName: 'provider traces',
      insert: (body) =>
        insertBody(
          this.#ch,
          this.#table,
          { input_format_json_read_objects_as_strings: 1, input_format_skip_unknown_fields: 0 },
          body,
        ),
    });
  }

  create(actor: Actor, trace: ProviderTrace): Promise<ProviderTrace> {
    if (this.#batcher.closed) return Promise.reject(new Error('clickhouse provider-trace backend is closed'));
    let line: string;
    try {
      line = rowLine(actor.organizationId, trace);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#batcher.add(line, 1).then(
      () => trace,
      // the row ClickHouse refused, found alone: its caller gets ClickHouse's answer, its neighbours were written
      (err: unknown) => Promise.reject(err instanceof RowsRefused ? err.cause : err),
    );
  }

  enqueue(actor: Actor, trace: ProviderTrace): void {
    this.create(actor, trace).catch((err: unknown) => {
      this.#dropped.add(actor.organizationId);
      try {
        this.#onBackgroundError(err);
      } catch {
        // a reporting callback must not turn a counted drop into an unhandled rejection
      }
    });
  }

  /** Writes out everything accepted so far (without waiting for full batches) and resolves when it is written. */
  flush(): Promise<void> {
    return this.#batcher.flush();
  }

  async readByStep(actor: Actor, stepId: string): Promise<ProviderTrace | null> {
    if (!stepId) return null;
    const [row] = await this.#select(
      `SELECT ${COLUMNS} FROM ${this.#table} FINAL
       WHERE organization_id = {org:String} AND step_id = {step:String}
       ORDER BY created_at DESC, id DESC LIMIT 1`,
      { org: actor.organizationId, step: stepId },
    );
    return row ? traceFromRow(row) : null;
  }

  async listByRun(actor: Actor, runId: string, limit: number): Promise<ProviderTrace[]> {
    if (!runId || limit < 1) return [];
    const rows = await this.#select(
      `SELECT ${COLUMNS} FROM ${this.#table} FINAL
       WHERE organization_id = {org:String} AND run_id = {run:String}
       ORDER BY created_at ASC, id ASC LIMIT 1 BY id LIMIT {limit:UInt32}`,
      { org: actor.organizationId, run: runId, limit: Math.floor(limit) },
    );
    return rows.map(traceFromRow);
  }

  /**
   * Removes a run's traces in the actor's organization; they are gone when this resolves. Traces of the run still
   * waiting in a batch are written first, so none reappears after the delete.
   */
  async deleteByRun(actor: Actor, runId: string): Promise<void> {
    if (!runId) return;
    await this.flush();
    try {
      await this.#ch.client.command({
        // On a cluster the rows live in the shards' local tables (a Distributed table takes no DELETE).
        query: `DELETE FROM ${mutationTarget(this.#ch, 'provider_traces')} WHERE organization_id = {org:String} AND run_id = {run:String}`,
        query_params: { org: actor.organizationId, run: runId },
        // Lightweight DELETE: rows are masked at once; wait for it on every replica before answering.
        clickhouse_settings: { mutations_sync: '2', lightweight_deletes_sync: '2' },
      });
    } catch (err) {
      throw clickhouseFailure(err);
    }
  }

  async #select(query: string, params: Record<string, unknown>): Promise<ClickHouseTraceRow[]> {
    try {
      const result = await this.#ch.client.query({ query, query_params: params, format: 'JSONEachRow' });
      return await result.json<ClickHouseTraceRow>();
    } catch (err) {
      throw clickhouseFailure(err);
    }
  }

  stats(): BackendStats {
    return { ...this.#batcher.stats(), dropped: this.#dropped.total, reconnects: 0 };
  }

  statsFor(organizationId: string): OrganizationStats {
    return {
      dropped: this.#dropped.of(organizationId),
      possiblyLost: 0,
      lastDroppedAt: this.#dropped.lastAt(organizationId),
    };
  }

  async close(): Promise<void> {
    await this.#batcher.close();
    if (this.#ownsConnection) await this.#ch.close();
  }
}

/** The settings (from the process's config) the clickhouse backend opens its own connection with. */
export interface ClickHouseBackendSettings {
  /** CLICKHOUSE_URL (`off`: the backend refuses to open, naming the variable). */
  readonly clickhouseUrl: string | undefined;
  /** RUNTRACE_DATA_DIR, where embedded ClickHouse keeps its files. */
  readonly dataDir: string;
  /** RUNTRACE_CLICKHOUSE_TTL_DAYS. */
  readonly clickhouseTraceTtlDays: number;
  /** RUNTRACE_CLICKHOUSE_CLUSTER. @default a single node */
  readonly clickhouseCluster?: string | undefined;
}

/**
 * What the clickhouse backend needs from the process: the process's ClickHouse (migrations applied, shared with the
 * span tables), or the settings to open its own.
 */
export type ClickHouseBackendDependencies =
  | { clickhouse: ClickHouse }
  | { clickhouse?: ClickHouse | null; config: ClickHouseBackendSettings };

/**
 * The backend as configuration asks for it: connects (CLICKHOUSE_URL), applies the migrations and the TTL, and
 * closes the connection with the backend. CLICKHOUSE_URL=off → NotImplemented naming the variable.
 */
export async function openClickHouseProviderTraceBackend(
  config: ClickHouseBackendSettings,
  options: Omit<ClickHouseBackendOptions, 'clickhouse' | 'ownsConnection'> = {},
): Promise<ClickHouseProviderTraceBackend> {
  if (config.clickhouseUrl?.trim() === 'off') throw clickhouseOff('the clickhouse provider-trace backend');
  const { clickhouse } = await openMigratedClickHouse({
    url: config.clickhouseUrl,
    dataDir: config.dataDir,
    ttlDays: config.clickhouseTraceTtlDays,
    cluster: config.clickhouseCluster,
  });
  return new ClickHouseProviderTraceBackend({ ...options, clickhouse, ownsConnection: true });
}

/** The clickhouse backend as TELEMETRY_PROVIDER_TRACE_BACKEND=clickhouse opens it (see backend-registry.ts). */
export const clickhouseBackend = {
  writeTimeoutMs: 5000,
  open: (deps: ClickHouseBackendDependencies, { onBackgroundError }) =>
    'config' in deps && !deps.clickhouse
      ? openClickHouseProviderTraceBackend(deps.config, { onBackgroundError })
      : new ClickHouseProviderTraceBackend({ clickhouse: deps.clickhouse!, onBackgroundError }),
} satisfies BackendFactory<ClickHouseBackendDependencies>;
