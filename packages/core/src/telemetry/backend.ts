import type { Actor } from '../actor.ts';
import type { ProviderTrace } from './provider-trace.ts';

export type BackendName = 'postgres' | 'clickhouse' | 'socket';

/** What a backend reports about its own health; exported on /metrics per backend. */
export interface BackendStats {
  /** Records accepted but not yet durable (batched, queued). */
  queueDepth: number;
  /** Bytes of those records, where the backend bounds them. */
  queueBytes: number;
  /** Records dropped by this backend (overflow, or undeliverable), each counted once. */
  dropped: number;
  /** Connections re-established after a loss. */
  reconnects: number;
}

/**
 * Where provider traces go. One file per backend under backends/, each passing backend.contract.ts.
 * Implementations never hold an organization-less trace: the actor travels with every call.
 */
export interface ProviderTraceBackend {
  readonly name: BackendName;
  /**
   * Resolves once this backend holds the trace durably, with the stored trace — or with null when the backend
   * cannot promise durability (the socket hands records to a sidecar). Rejects when the write failed.
   */
  create(actor: Actor, trace: ProviderTrace): Promise<ProviderTrace | null>;
  /** Fire-and-forget: takes the trace for writing and returns at once. Never throws, never blocks the caller. */
  enqueue(actor: Actor, trace: ProviderTrace): void;
  /** The newest trace of a step in the actor's organization, or null. Absent on write-only backends. */
  readByStep?(actor: Actor, stepId: string): Promise<ProviderTrace | null>;
  /** A run's traces, oldest first, in the actor's organization. Absent on write-only backends. */
  listByRun?(actor: Actor, runId: string, limit: number): Promise<ProviderTrace[]>;
  /** Removes a run's traces (called when the run is deleted). Absent where the backend keeps no readable copy. */
  deleteByRun?(actor: Actor, runId: string): Promise<void>;
  stats(): BackendStats;
  /** Stops accepting, writes out everything accepted so far, releases resources. */
  close(): Promise<void>;
}
