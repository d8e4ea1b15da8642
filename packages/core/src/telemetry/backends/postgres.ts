import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Actor } from '../../actor.ts';
import { type Db, rowsOf } from '../../db/connect.ts';
import { providerTraces } from '../../db/schema.ts';
import { idTaken } from '../../ids.ts';
import { toIso } from '../../time.ts';
import { afterThisTurn } from '../after-this-turn.ts';
import type { BackendFactory, BackendStats, OrganizationStats, ProviderTraceBackend } from '../backend.ts';
import { type ProviderTrace, traceBodiesJson } from '../provider-trace.ts';
import { TimedTally } from '../tally.ts';

export interface PostgresBackendOptions {
  db: Db;
  /** Most rows in one INSERT. @default 500 */
  maxBatchRows?: number;
  /** Most JSON text in one INSERT, in characters (Postgres protocol messages are limited to 1 GiB). @default 64 Mi */
  maxBatchBytes?: number;
  /** INSERTs in flight at once; the next batch forms while they run. @default 2 */
  maxConcurrentBatches?: number;
  /** Called when a fire-and-forget write fails (the caller is gone; somebody must hear of it). */
  onBackgroundError?: (err: unknown) => void;
}

interface Pending {
  organizationId: string;
  /** The row as JSON ({@link rowJson}). */
  row: string;
  trace: ProviderTrace;
  resolve: (trace: ProviderTrace) => void;
  reject: (err: unknown) => void;
}

type Row = typeof providerTraces.$inferSelect;

function toTrace(row: Row): ProviderTrace {
  return {
    id: row.id,
    requestJson: row.requestJson,
    responseJson: row.responseJson,
    stepId: row.stepId,
    runId: row.runId,
    agentId: row.agentId,
    agentTags: row.agentTags ?? null,
    callType: row.callType,
    createdAt: toIso(row.createdAt),
  };
}

/**
 * A trace's row as JSON text, made when the trace is handed over (a caller that changes its objects later does not
 * change the row, and a value JSON cannot hold fails that caller alone). Postgres forbids \u0000 in jsonb (Letta strips
 * it too); an escaped backslash before "u0000" is left alone.
 */
function rowJson(organizationId: string, trace: ProviderTrace): string {
  const { request, response } = traceBodiesJson(trace);
  const row =
    `{"id":${JSON.stringify(trace.id)},"organization_id":${JSON.stringify(organizationId)}` +
    `,"run_id":${JSON.stringify(trace.runId ?? null)},"step_id":${JSON.stringify(trace.stepId ?? null)}` +
    `,"agent_id":${JSON.stringify(trace.agentId ?? null)},"agent_tags":${JSON.stringify(trace.agentTags ?? null)}` +
    `,"call_type":${JSON.stringify(trace.callType ?? null)},"request_json":${request},"response_json":${response}` +
    `,"created_at":${JSON.stringify(trace.createdAt)}}`;
  return row.includes('\\u0000') ? row.replaceAll(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1') : row;
}

/**
 * Provider traces in Postgres with group commit: while one INSERT is in flight, newly arriving traces wait and then
 * go together in one multi-row INSERT. Each caller's promise settles when the statement holding its row has
 * committed; a failed statement fails only the callers whose rows it held.
 */
export class PostgresProviderTraceBackend implements ProviderTraceBackend {
  readonly name = 'postgres';
  readonly #db: Db;
  readonly #maxRows: number;
  readonly #maxBytes: number;
  readonly #onBackgroundError: (err: unknown) => void;
  #queue: Pending[] = [];
  #queuedBytes = 0;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #maxInFlight: number;
  /**
   * Starts the next batch once the current turn of the event loop is over. A finished INSERT resumes all of its
   * callers at once, and each of them soon creates again: a batch started at the first create would carry that one
   * trace while the others queue behind it, and INSERTs would carry a tenth of the rows they carry this way.
   */
  readonly #schedulePump = afterThisTurn(() => this.#pump());
  #closed = false;
  readonly #dropped = new TimedTally();

  constructor(options: PostgresBackendOptions) {
    this.#db = options.db;
    this.#maxRows = options.maxBatchRows ?? 500;
    this.#maxBytes = options.maxBatchBytes ?? 64 * 1024 * 1024;
    this.#maxInFlight = options.maxConcurrentBatches ?? 2;
    this.#onBackgroundError = options.onBackgroundError ?? (() => {});
  }

  create(actor: Actor, trace: ProviderTrace): Promise<ProviderTrace> {
    if (this.#closed) return Promise.reject(new Error('postgres provider-trace backend is closed'));
    let row: string;
    try {
      row = rowJson(actor.organizationId, trace);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.#queue.push({ organizationId: actor.organizationId, row, trace, resolve, reject });
      this.#queuedBytes += row.length;
      this.#schedulePump();
    });
  }

  enqueue(actor: Actor, trace: ProviderTrace): void {
    this.create(actor, trace).catch((err: unknown) => {
      this.#dropped.add(actor.organizationId);
      this.#onBackgroundError(err);
    });
  }

  /**
   * Starts batches while INSERT slots are free, the queue shared evenly among them: each INSERT runs on a Postgres
   * backend (one core) of its own, and one batch of everything would leave the other slots idle. Each finishing batch
   * starts the next.
   */
  #pump(): void {
    while (this.#inFlight.size < this.#maxInFlight && this.#queue.length > 0) {
      const freeSlots = this.#maxInFlight - this.#inFlight.size;
      this.#startBatch(Math.min(this.#maxRows, Math.ceil(this.#queue.length / freeSlots)));
    }
  }

  #startBatch(maxRows: number): void {
    const batch: Pending[] = [];
    let bytes = 0;
    while (this.#queue.length && batch.length < maxRows) {
      const next = this.#queue[0] as Pending;
      if (batch.length && bytes + next.row.length > this.#maxBytes) break;
      batch.push(next);
      bytes += next.row.length;
      this.#queue.shift();
    }
    this.#queuedBytes -= bytes;
    const write: Promise<void> = this.#write(batch).finally(() => {
      this.#inFlight.delete(write);
      this.#pump();
    });
    this.#inFlight.add(write);
  }

  async #write(batch: Pending[]): Promise<void> {
    try {
      await this.#insert(batch);
    } catch (err) {
      if (batch.length === 1) {
        batch[0]?.reject(err);
        return;
      }
      // One bad row must not fail its neighbours: retry them one by one so only the bad one fails.
      for (const p of batch) {
        await this.#insert([p]).catch((rowErr: unknown) => p.reject(rowErr));
      }
    }
  }

  /**
   * One statement whatever the batch size: the rows travel as ONE JSON document that Postgres unpacks with
   * jsonb_to_recordset, so the statement text never changes (one prepared plan), the batch is the rows' JSON joined
   * (each made once, at create), and nothing is escaped twice (as it would be in array literals).
   */
  async #insert(batch: Pending[]): Promise<void> {
    // One row per id goes into the statement, the first in the batch: its organization holds the id if the INSERT
    // stores it, and the batch's later rows with that id are answered as that row's retries or as conflicts.
    const inBatch = new Map<string, string>();
    const rowsJson: string[] = [];
    for (const p of batch) {
      if (inBatch.has(p.trace.id)) continue;
      inBatch.set(p.trace.id, p.organizationId);
      rowsJson.push(p.row);
    }
    const inserted = rowsOf<{ id: string }>(
      await this.#db.execute(sql`
        insert into ${providerTraces} (id, organization_id, run_id, step_id, agent_id, agent_tags, call_type,
          request_json, response_json, created_at)
        select id, organization_id, run_id, step_id, agent_id, agent_tags, call_type, request_json, response_json,
          created_at
        from jsonb_to_recordset(${`[${rowsJson.join(',')}]`}::jsonb) as t(id text, organization_id text, run_id text,
          step_id text, agent_id text, agent_tags jsonb, call_type text, request_json jsonb, response_json jsonb,
          created_at timestamptz)
        on conflict do nothing
        returning id`),
    );
    const holders = new Map<string, string>();
    for (const r of inserted) holders.set(r.id, inBatch.get(r.id) as string);
    const clashes = [...inBatch.keys()].filter((id) => !holders.has(id));
    if (clashes.length) {
      const rows = await this.#db
        .select({ id: providerTraces.id, organizationId: providerTraces.organizationId })
        .from(providerTraces)
        .where(inArray(providerTraces.id, clashes));
      for (const r of rows) holders.set(r.id, r.organizationId);
    }
    for (const p of batch) {
      // A retried trace (same id, same organization) is already there: that is success, not a second row. Whether
      // content matches is settled before any backend (claimProviderTraceId); here only the organization is known.
      if (holders.get(p.trace.id) === p.organizationId) p.resolve(p.trace);
      else p.reject(idTaken(p.trace.id));
    }
  }

  async readByStep(actor: Actor, stepId: string): Promise<ProviderTrace | null> {
    const [row] = await this.#db
      .select()
      .from(providerTraces)
      .where(and(eq(providerTraces.organizationId, actor.organizationId), eq(providerTraces.stepId, stepId)))
      .orderBy(desc(providerTraces.createdAt), desc(providerTraces.id))
      .limit(1);
    return row ? toTrace(row) : null;
  }

  async listByRun(actor: Actor, runId: string, limit: number): Promise<ProviderTrace[]> {
    const rows = await this.#db
      .select()
      .from(providerTraces)
      .where(and(eq(providerTraces.organizationId, actor.organizationId), eq(providerTraces.runId, runId)))
      .orderBy(asc(providerTraces.createdAt), asc(providerTraces.id))
      .limit(limit);
    return rows.map(toTrace);
  }

  async deleteByRun(actor: Actor, runId: string): Promise<void> {
    await this.#db
      .delete(providerTraces)
      .where(and(eq(providerTraces.organizationId, actor.organizationId), eq(providerTraces.runId, runId)));
  }

  stats(): BackendStats {
    return {
      queueDepth: this.#queue.length,
      queueBytes: this.#queuedBytes,
      dropped: this.#dropped.total,
      reconnects: 0,
    };
  }

  statsFor(organizationId: string): OrganizationStats {
    return {
      dropped: this.#dropped.of(organizationId),
      possiblyLost: 0,
      lastDroppedAt: this.#dropped.lastAt(organizationId),
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    while (this.#inFlight.size || this.#queue.length) {
      this.#pump();
      await Promise.all(this.#inFlight);
    }
  }
}

/** What the postgres backend needs from the process: the database every other table lives in. */
export interface PostgresBackendDependencies {
  db: Db;
}

/** The postgres backend as TELEMETRY_PROVIDER_TRACE_BACKEND=postgres opens it (see backend-registry.ts). */
export const postgresBackend = {
  writeTimeoutMs: 5000,
  open: (deps: PostgresBackendDependencies, { onBackgroundError }) =>
    new PostgresProviderTraceBackend({ db: deps.db, onBackgroundError }),
} satisfies BackendFactory<PostgresBackendDependencies>;
