import { and, asc, desc, eq, inArray } from 'drizzle-orm';
import type { Actor } from '../../actor.ts';
import type { Db } from '../../db/connect.ts';
import { providerTraces } from '../../db/schema.ts';
import { Conflict } from '../../errors.ts';
import { toIso } from '../../time.ts';
import type { BackendStats, ProviderTraceBackend } from '../backend.ts';
import type { ProviderTrace } from '../provider-trace.ts';

export interface PostgresBackendOptions {
  db: Db;
  /** Most rows in one INSERT. @default 500 */
  maxBatchRows?: number;
  /** Most JSON bytes in one INSERT (Postgres protocol messages are limited to 1 GiB). @default 64 MiB */
  maxBatchBytes?: number;
  /** Called when a fire-and-forget write fails (the caller is gone; somebody must hear of it). */
  onBackgroundError?: (err: unknown) => void;
}

interface Pending {
  row: typeof providerTraces.$inferInsert;
  bytes: number;
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

/** Postgres forbids \u0000 in jsonb text; Letta strips it too. */
function withoutNul(value: Record<string, unknown>): Record<string, unknown> {
  const text = JSON.stringify(value);
  return text.includes('\\u0000') ? JSON.parse(text.replaceAll('\\u0000', '')) : value;
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
  #inFlight: Promise<void> | null = null;
  #closed = false;
  #dropped = 0;

  constructor(options: PostgresBackendOptions) {
    this.#db = options.db;
    this.#maxRows = options.maxBatchRows ?? 500;
    this.#maxBytes = options.maxBatchBytes ?? 64 * 1024 * 1024;
    this.#onBackgroundError = options.onBackgroundError ?? (() => {});
  }

  create(actor: Actor, trace: ProviderTrace): Promise<ProviderTrace> {
    if (this.#closed) return Promise.reject(new Error('postgres provider-trace backend is closed'));
    return new Promise((resolve, reject) => {
      const requestJson = withoutNul(trace.requestJson);
      const responseJson = withoutNul(trace.responseJson);
      this.#queue.push({
        row: {
          id: trace.id,
          organizationId: actor.organizationId,
          runId: trace.runId,
          stepId: trace.stepId,
          agentId: trace.agentId,
          agentTags: trace.agentTags,
          callType: trace.callType,
          requestJson,
          responseJson,
          createdAt: trace.createdAt,
        },
        // A cheap size estimate; exactness only matters near the byte cap.
        bytes: 256 + JSON.stringify(requestJson).length + JSON.stringify(responseJson).length,
        trace,
        resolve,
        reject,
      });
      this.#queuedBytes += this.#queue.at(-1)?.bytes ?? 0;
      this.#pump();
    });
  }

  enqueue(actor: Actor, trace: ProviderTrace): void {
    this.create(actor, trace).catch((err: unknown) => {
      this.#dropped += 1;
      this.#onBackgroundError(err);
    });
  }

  /** Starts a batch unless one is in flight; the finishing batch starts the next. */
  #pump(): void {
    if (this.#inFlight || this.#queue.length === 0) return;
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
    this.#inFlight = this.#write(batch).finally(() => {
      this.#inFlight = null;
      this.#pump();
    });
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

  async #insert(batch: Pending[]): Promise<void> {
    const inserted = await this.#db
      .insert(providerTraces)
      .values(batch.map((p) => p.row))
      .onConflictDoNothing()
      .returning({ id: providerTraces.id });
    const stored = new Set(inserted.map((r) => r.id));
    const clashes = batch.filter((p) => !stored.has(p.trace.id));
    const owners = new Map<string, string>();
    if (clashes.length) {
      const rows = await this.#db
        .select({ id: providerTraces.id, organizationId: providerTraces.organizationId })
        .from(providerTraces)
        .where(inArray(providerTraces.id, clashes.map((p) => p.trace.id)));
      for (const r of rows) owners.set(r.id, r.organizationId);
    }
    for (const p of batch) {
      // A retried trace (same id, same organization) is already there: that is success, not a second row.
      if (stored.has(p.trace.id) || owners.get(p.trace.id) === p.row.organizationId) p.resolve(p.trace);
      else p.reject(new Conflict(`Provider trace ${p.trace.id} already exists`, { field: 'id' }));
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
    return { queueDepth: this.#queue.length, queueBytes: this.#queuedBytes, dropped: this.#dropped, reconnects: 0 };
  }

  async close(): Promise<void> {
    this.#closed = true;
    while (this.#inFlight || this.#queue.length) {
      this.#pump();
      await this.#inFlight;
    }
  }
}
