import { Readable } from 'node:stream';
import { drainStream } from '@clickhouse/client';
import type { Actor } from '../../actor.ts';
import { type ClickHouse, clickhouseFailure, clickhouseOff, connectClickHouse, qualified } from '../../clickhouse/connect.ts';
import { migrateClickHouse } from '../../clickhouse/migrate.ts';
import type { Config } from '../../config.ts';
import { InvalidArgument, Unavailable } from '../../errors.ts';
import type { BackendStats, ProviderTraceBackend } from '../backend.ts';
import type { ProviderTrace } from '../provider-trace.ts';

export interface ClickHouseBackendOptions {
  /** A connected ClickHouse whose migrations are applied (see {@link openClickHouseProviderTraceBackend}). */
  clickhouse: ClickHouse;
  /** Close `clickhouse` when the backend closes. @default false */
  ownsConnection?: boolean;
  /** Most rows in one INSERT: a full batch is written at once. @default 1000 */
  maxBatchRows?: number;
  /** Most bytes (JSONEachRow) in one INSERT: a batch this large is written at once. @default 16 MiB */
  maxBatchBytes?: number;
  /**
   * Longest a trace waits for its batch to fill before the INSERT goes anyway. ClickHouse wants few large inserts
   * (every INSERT makes a part); 0 writes as soon as an INSERT slot is free (group commit). @default 50
   */
  flushIntervalMs?: number;
  /** INSERTs in flight at once. @default 2 */
  maxConcurrentInserts?: number;
  /** Most rows accepted but not yet written; beyond, create() fails with Unavailable and enqueue() drops. @default 100000 */
  maxQueueRows?: number;
  /** Most bytes accepted but not yet written (same rule). @default 256 MiB */
  maxQueueBytes?: number;
  /** Called when a fire-and-forget write fails (the caller is gone; somebody must hear of it). */
  onBackgroundError?: (err: unknown) => void;
}

interface Pending {
  /** The JSONEachRow line, serialised once when the trace is accepted. */
  line: string;
  bytes: number;
  seq: number;
  acceptedAt: number;
  trace: ProviderTrace;
  resolve: (trace: ProviderTrace) => void;
  reject: (err: unknown) => void;
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

/** ISO-8601 UTC → `YYYY-MM-DD hh:mm:ss.ffffff`, which every ClickHouse parses (servers default to basic parsing). */
function toClickHouseTime(iso: string): string {
  const exact = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.(\d{1,6})\d*)?Z$/.exec(iso);
  if (exact) return `${exact[1]} ${exact[2]}.${(exact[3] ?? '').padEnd(6, '0')}`;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) throw new InvalidArgument(`createdAt is not a timestamp: ${iso}`, { field: 'createdAt' });
  return toClickHouseTime(date.toISOString());
}

/** `2026-01-01 00:00:00.123000` → `2026-01-01T00:00:00.123Z` (milliseconds when that is all there is, as written). */
function fromClickHouseTime(value: string): string {
  const [date, time = '00:00:00'] = value.split(' ');
  const [whole, fraction = ''] = time.split('.');
  const digits = fraction.endsWith('000') ? fraction.slice(0, 3) : fraction;
  return `${date}T${whole}${digits ? `.${digits.padEnd(3, '0')}` : '.000'}Z`;
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

function rowLine(organizationId: string, t: ProviderTrace): string {
  return JSON.stringify({
    organization_id: organizationId,
    id: t.id,
    step_id: t.stepId ?? '',
    run_id: t.runId ?? '',
    agent_id: t.agentId ?? '',
    agent_tags: t.agentTags ?? [],
    call_type: t.callType,
    // Objects, not strings: ClickHouse stores their JSON text verbatim (input_format_json_read_objects_as_strings),
    // which spares a second escaping pass over the largest fields.
    request_json: t.requestJson,
    response_json: t.responseJson,
    created_at: toClickHouseTime(t.createdAt),
  });
}


/**
 * Provider traces in a ClickHouse table Runtrace owns (`provider_traces`, see clickhouse/migrations). Traces are
 * batched: an INSERT goes when a batch is full (rows or bytes) or when its oldest trace has waited `flushIntervalMs`.
 * Each create() settles when the INSERT holding its row has completed; a failed INSERT fails only its own callers.
 * Reads are scoped by organization and deduplicate retried inserts (FINAL).
 */
export class ClickHouseProviderTraceBackend implements ProviderTraceBackend {
  readonly name = 'clickhouse';
  readonly #ch: ClickHouse;
  readonly #table: string;
  readonly #ownsConnection: boolean;
  readonly #maxRows: number;
  readonly #maxBytes: number;
  readonly #intervalMs: number;
  readonly #maxInserts: number;
  readonly #maxQueueRows: number;
  readonly #maxQueueBytes: number;
  readonly #onBackgroundError: (err: unknown) => void;
  #queue: Pending[] = [];
  #queuedBytes = 0;
  /** INSERTs in flight → the sequence number of their first row. Their promises never reject. */
  #inFlight = new Map<Promise<void>, number>();
  #inFlightRows = 0;
  #inFlightBytes = 0;
  #seq = 0;
  /** Rows up to this sequence number are written without waiting for a full batch (flush, close). */
  #forceThrough = 0;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #dropped = 0;

  constructor(options: ClickHouseBackendOptions) {
    this.#ch = options.clickhouse;
    this.#table = qualified(options.clickhouse, 'provider_traces');
    this.#ownsConnection = options.ownsConnection ?? false;
    this.#maxRows = options.maxBatchRows ?? 1000;
    this.#maxBytes = options.maxBatchBytes ?? 16 * 1024 * 1024;
    this.#intervalMs = options.flushIntervalMs ?? 50;
    this.#maxInserts = options.maxConcurrentInserts ?? 2;
    this.#maxQueueRows = options.maxQueueRows ?? 100_000;
    this.#maxQueueBytes = options.maxQueueBytes ?? 256 * 1024 * 1024;
    this.#onBackgroundError = options.onBackgroundError ?? (() => {});
    for (const [key, value] of Object.entries({
      maxBatchRows: this.#maxRows,
      maxBatchBytes: this.#maxBytes,
      maxConcurrentInserts: this.#maxInserts,
      maxQueueRows: this.#maxQueueRows,
      maxQueueBytes: this.#maxQueueBytes,
    })) {
      if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${key} must be a positive integer, got ${value}`);
    }
    if (!(this.#intervalMs >= 0)) throw new Error(`flushIntervalMs must be >= 0, got ${this.#intervalMs}`);
  }

  create(actor: Actor, trace: ProviderTrace): Promise<ProviderTrace> {
    if (this.#closed) return Promise.reject(new Error('clickhouse provider-trace backend is closed'));
    let line: string;
    try {
      line = rowLine(actor.organizationId, trace);
    } catch (err) {
      return Promise.reject(err);
    }
    const bytes = Buffer.byteLength(line) + 1;
    const depth = this.#queue.length + this.#inFlightRows;
    if (depth >= this.#maxQueueRows || this.#queuedBytes + this.#inFlightBytes + bytes > this.#maxQueueBytes) {
      return Promise.reject(
        new Unavailable(
          `ClickHouse at ${this.#ch.location} is not keeping up: ${depth} provider traces are waiting to be written`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.#seq += 1;
      this.#queue.push({ line, bytes, seq: this.#seq, acceptedAt: performance.now(), trace, resolve, reject });
      this.#queuedBytes += bytes;
      this.#pump();
    });
  }

  enqueue(actor: Actor, trace: ProviderTrace): void {
    this.create(actor, trace).catch((err: unknown) => {
      this.#dropped += 1;
      try {
        this.#onBackgroundError(err);
      } catch {
        // a reporting callback must not turn a counted drop into an unhandled rejection
      }
    });
  }

  /** Writes out everything accepted so far (without waiting for full batches) and resolves when it is written. */
  async flush(): Promise<void> {
    const through = this.#seq;
    this.#forceThrough = Math.max(this.#forceThrough, through);
    for (;;) {
      this.#pump();
      const head = this.#queue[0];
      const earlier = [...this.#inFlight].filter(([, first]) => first <= through).map(([p]) => p);
      if (earlier.length === 0 && (!head || head.seq > through)) return;
      await Promise.race(earlier.length ? earlier : [...this.#inFlight.keys()]);
    }
  }

  /** Starts every INSERT that is due and has a free slot; arms the timer for the next one. */
  #pump(): void {
    while (this.#queue.length > 0 && this.#inFlight.size < this.#maxInserts) {
      const head = this.#queue[0] as Pending;
      const due =
        this.#closed ||
        head.seq <= this.#forceThrough ||
        this.#queue.length >= this.#maxRows ||
        this.#queuedBytes >= this.#maxBytes ||
        performance.now() - head.acceptedAt >= this.#intervalMs;
      if (!due) break;
      this.#send(this.#cut());
    }
    // With every slot busy, the next completion pumps again; a timer would only spin.
    if (this.#timer || this.#queue.length === 0 || this.#inFlight.size >= this.#maxInserts) return;
    const head = this.#queue[0] as Pending;
    const wait = Math.max(0, head.acceptedAt + this.#intervalMs - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#pump();
    }, wait);
  }

  #cut(): Pending[] {
    const batch: Pending[] = [];
    let bytes = 0;
    while (this.#queue.length && batch.length < this.#maxRows) {
      const next = this.#queue[0] as Pending;
      if (batch.length && bytes + next.bytes > this.#maxBytes) break;
      batch.push(next);
      bytes += next.bytes;
      this.#queue.shift();
    }
    this.#queuedBytes -= bytes;
    return batch;
  }

  #send(batch: Pending[]): void {
    const bytes = batch.reduce((sum, p) => sum + p.bytes, 0);
    this.#inFlightRows += batch.length;
    this.#inFlightBytes += bytes;
    const insert = this.#insert(batch.map((p) => p.line).join('\n')).then(
      () => {
        for (const p of batch) p.resolve(p.trace);
      },
      (err: unknown) => {
        const failure = clickhouseFailure(err, this.#ch.location);
        for (const p of batch) p.reject(failure);
      },
    );
    const done = insert.finally(() => {
      this.#inFlight.delete(done);
      this.#inFlightRows -= batch.length;
      this.#inFlightBytes -= bytes;
      this.#pump();
    });
    this.#inFlight.set(done, (batch[0] as Pending).seq);
  }

  async #insert(body: string): Promise<void> {
    const result = await this.#ch.client.exec({
      // Settings in the statement itself, not as clickhouse_settings: chdb turns those into a `SET …;` prefix, which
      // sends the whole body through its multi-statement splitter (measured ~1.5x slower) and sticks to the session.
      query: `INSERT INTO ${this.#table} SETTINGS input_format_json_read_objects_as_strings = 1, input_format_skip_unknown_fields = 0 FORMAT JSONEachRow`,
      values: Readable.from([`${body}\n`]),
    });
    await drainStream(result.stream);
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
        query: `DELETE FROM ${this.#table} WHERE organization_id = {org:String} AND run_id = {run:String}`,
        query_params: { org: actor.organizationId, run: runId },
        // Lightweight DELETE: rows are masked at once; wait for it on every replica before answering.
        clickhouse_settings: { mutations_sync: '2', lightweight_deletes_sync: '2' },
      });
    } catch (err) {
      throw clickhouseFailure(err, this.#ch.location);
    }
  }

  async #select(query: string, params: Record<string, unknown>): Promise<ClickHouseTraceRow[]> {
    try {
      const result = await this.#ch.client.query({ query, query_params: params, format: 'JSONEachRow' });
      return await result.json<ClickHouseTraceRow>();
    } catch (err) {
      throw clickhouseFailure(err, this.#ch.location);
    }
  }

  stats(): BackendStats {
    return {
      queueDepth: this.#queue.length + this.#inFlightRows,
      queueBytes: this.#queuedBytes + this.#inFlightBytes,
      dropped: this.#dropped,
      reconnects: 0,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#ownsConnection) await this.#ch.close();
  }
}

/**
 * The backend as configuration asks for it: connects (CLICKHOUSE_URL), applies the migrations and the TTL, and
 * closes the connection with the backend. CLICKHOUSE_URL=off → NotImplemented naming the variable.
 */
export async function openClickHouseProviderTraceBackend(
  config: Pick<Config, 'clickhouseUrl' | 'dataDir' | 'clickhouseTraceTtlDays'>,
  options: Omit<ClickHouseBackendOptions, 'clickhouse' | 'ownsConnection'> = {},
): Promise<ClickHouseProviderTraceBackend> {
  if (config.clickhouseUrl?.trim() === 'off') throw clickhouseOff('the clickhouse provider-trace backend');
  const clickhouse = await connectClickHouse({ url: config.clickhouseUrl, dataDir: config.dataDir });
  try {
    await migrateClickHouse(clickhouse, { ttlDays: config.clickhouseTraceTtlDays });
  } catch (err) {
    await clickhouse.close();
    throw err;
  }
  return new ClickHouseProviderTraceBackend({ ...options, clickhouse, ownsConnection: true });
}
