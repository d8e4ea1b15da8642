import type { Actor } from '../actor.ts';
import type { Logger } from '../logger.ts';
import type { ProviderTrace } from './provider-trace.ts';

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
  /**
   * Records handed on without an acknowledgement that may not have arrived (the socket backend: written to a sidecar
   * that then crashed). An upper bound: every record actually lost is counted here or in `dropped`. Absent: none.
   */
  possiblyLost?: number;
}

/** The counters of {@link BackendStats} that belong to one organization's traces. */
export interface OrganizationStats {
  dropped: number;
  possiblyLost: number;
  /** When one of its records was last dropped (epoch ms); absent or null: never, or not known. */
  lastDroppedAt?: number | null;
}

/**
 * Where provider traces go. One file per backend under backends/, each passing backend.contract.ts.
 * Implementations never hold an organization-less trace: the actor travels with every call.
 */
export interface ProviderTraceBackend {
  /** Its key in the registry it was opened from (a `BackendName` unless a test extended the registry). */
  readonly name: string;
  /**
   * Resolves once this backend holds the trace durably, with the stored trace — or with null when the backend
   * cannot promise durability (the socket hands records to a sidecar). Rejects when the write failed.
   */
  create(actor: Actor, trace: ProviderTrace): Promise<ProviderTrace | null>;
  /**
   * Present on a backend whose `create` has nothing to wait for (the socket backend queues the record and answers
   * null): the same write, answered on return. The TelemetryManager calls it instead of `create`, sparing the promise,
   * the deadline and the tracking a write it cannot time out. Throws when the write failed.
   */
  createNow?(actor: Actor, trace: ProviderTrace): ProviderTrace | null;
  /** Fire-and-forget: takes the trace for writing and returns at once. Never throws, never blocks the caller. */
  enqueue(actor: Actor, trace: ProviderTrace): void;
  /** The newest trace of a step in the actor's organization, or null. Absent on write-only backends. */
  readByStep?(actor: Actor, stepId: string): Promise<ProviderTrace | null>;
  /** A run's traces, oldest first, in the actor's organization. Absent on write-only backends. */
  listByRun?(actor: Actor, runId: string, limit: number): Promise<ProviderTrace[]>;
  /** Removes a run's traces (called when the run is deleted). Absent where the backend keeps no readable copy. */
  deleteByRun?(actor: Actor, runId: string): Promise<void>;
  stats(): BackendStats;
  /** Drops and possible losses of one organization's traces (what `providerTraces.health` may show its callers). */
  statsFor(organizationId: string): OrganizationStats;
  /** Stops accepting, writes out everything accepted so far, releases resources. */
  close(): Promise<void>;
}

/** What createBackends hands every backend it opens, beside the dependencies the backend declared. */
export interface BackendContext {
  logger: Logger;
  /** Logs a fire-and-forget write that failed with the backend's name (the caller is gone; somebody must hear of it). */
  onBackgroundError: (err: unknown) => void;
}

/**
 * How one backend is opened, and its defaults: each file under backends/ exports one, listed by name in
 * backend-registry.ts. `Deps` is what the backend needs from the process (a handle, its settings); createBackends
 * passes every backend the same object, so each names only the fields it reads (the whole config fits structurally).
 */
export interface BackendFactory<Deps = unknown> {
  /** How long TelemetryManager waits for an awaited write to this backend before counting it as timed out. */
  writeTimeoutMs: number;
  open(deps: Deps, context: BackendContext): ProviderTraceBackend | Promise<ProviderTraceBackend>;
}
