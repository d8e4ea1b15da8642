import type { BackendStats } from '../../backend.ts';

/** How a socket backend is set up (configuration sets a few of these: {@link SocketBackendSettings}). */
export interface SocketBackendOptions {
  /** The sidecar's Unix socket (TELEMETRY_SOCKET, alias SOCKET_PATH). */
  socketPath: string;
  /** Most records waiting for the socket; beyond it the oldest is dropped and counted. @default 10_000 */
  maxRecords?: number;
  /** Most bytes (encoded lines) waiting for the socket; beyond it the oldest is dropped and counted. @default 64 MiB */
  maxBytes?: number;
  /** Queued lines are coalesced into writes of up to this many bytes (a single larger line goes alone). @default 256 KiB */
  chunkBytes?: number;
  /** First delay before reconnecting; doubles per failed attempt, with jitter. @default 50 */
  backoffInitialMs?: number;
  /** Longest delay between reconnect attempts. @default 5000 */
  backoffMaxMs?: number;
  /** How long `close()` keeps trying to hand the queue to the sidecar; what is left then is dropped and counted. @default 5000 */
  closeTimeoutMs?: number;
  /**
   * A connection is ended (and the next one opened) once it has carried this many records, or when the queue is
   * empty: its end is the point where its records become known to be stored. Fewer means a smaller `possiblyLost`
   * after a crash, and more connections. @default 1000
   */
  checkpointRecords?: number;
  /**
   * How long the connection after a checkpoint must stay up (no reset) before the checkpoint's records count as
   * stored: a crashed sidecar's listener resets connections within microseconds. @default 100
   */
  confirmAfterMs?: number;
  /**
   * After a goodbye (the sidecar ending first: a graceful stop), how long a probe connection waits for the goodbye
   * that proves the drained records were stored; without it they count as possibly lost. @default 1000
   */
  goodbyeWaitMs?: number;
  /** Told when the connection comes up or goes down (for logs). Carries an error code, never a payload. */
  onStatus?: (status: { connected: boolean; error?: string }) => void;
  /** The clock of the records' `timestamp`, in fractional epoch milliseconds. @default wall clock with microseconds */
  now?: () => number;
}

/** {@link BackendStats} plus what only the socket backend knows about delivery. */
export interface SocketDeliveryStats extends BackendStats {
  /** Records taken by `create`/`enqueue` (after close too: those are dropped at once). */
  accepted: number;
  /** Records whose bytes the kernel took (the sidecar reads them unless it crashes first). */
  written: number;
  /** Records in writes the socket failed (also counted in `possiblyLost`). */
  writeFailed: number;
  /**
   * Records that may not have reached the sidecar's files: those of failed writes, plus every record written on a
   * connection that ended without the proof of storage (see the class comment). Never re-sent: at most once.
   * An upper bound: every record lost in a crash is counted here.
   */
  possiblyLost: number;
  /** Records written whose storage is not proven yet (they end up stored or in `possiblyLost`). */
  unconfirmed: number;
  connected: boolean;
}

/** What the socket backend takes from the process's config. */
export interface SocketBackendSettings {
  /** TELEMETRY_SOCKET (alias SOCKET_PATH). */
  readonly telemetrySocket: string;
  /** RUNTRACE_SOCKET_QUEUE_MAX_RECORDS; see {@link SocketBackendOptions.maxRecords}. */
  readonly socketQueueMaxRecords?: number;
  /** RUNTRACE_SOCKET_QUEUE_MAX_BYTES; see {@link SocketBackendOptions.maxBytes}. */
  readonly socketQueueMaxBytes?: number;
}
