import { Expired, NotFound } from '../errors.ts';
import type { StopReason } from '../runs/status.ts';
import type { RunEvent, StreamedRunEvent } from './run-event.ts';

/**
 * A stream position: `epoch` identifies one incarnation of a run's stream (it changes if the store lost the stream,
 * e.g. a Redis restart without persistence), `seq` counts events from 1 within it. The wire form of a cursor is
 * `"<epoch>:<seq>"` (tRPC `tracked()` id / SSE `id:`), see {@link formatEventId}.
 *
 * An epoch is the stream's creation time in microseconds since 1970, in base 36 (so it never repeats for a run and
 * tells how old the stream is, see {@link epochTimeMs}).
 */
export interface StreamPosition {
  epoch: string;
  seq: number;
}

export function formatEventId(position: StreamPosition): string {
  return `${position.epoch}:${position.seq}`;
}

/** Parses `"<epoch>:<seq>"`; null when malformed (callers answer BAD_REQUEST naming the field). */
export function parseEventId(id: string): StreamPosition | null {
  const m = /^([0-9a-z]{1,40}):(\d{1,15})$/.exec(id);
  if (!m?.[1] || !m[2]) return null;
  return { epoch: m[1], seq: Number(m[2]) };
}

/** A new epoch from a time in microseconds. */
export function epochFromMicros(micros: number): string {
  return Math.floor(micros).toString(36);
}

/** When the stream of this epoch was created (ms since 1970), or NaN for an epoch that is not a time. */
export function epochTimeMs(epoch: string): number {
  return Number.parseInt(epoch, 36) / 1000;
}

/** What a read yields: events (in order, each once), then at most one end. */
export type StreamItem = { kind: 'event'; id: string; event: StreamedRunEvent } | { kind: 'end' };

export interface AppendResult {
  /** The positions given to the appended events, in order. */
  positions: StreamPosition[];
  /** Whether this append ended the stream. */
  ended: boolean;
}

export interface EndResult {
  /** Positions of the events this call appended (a stop_reason, when one was needed). */
  positions: StreamPosition[];
  /** False when the stream had already ended (nothing was written). */
  ended: boolean;
}

/** What the store knows about a run's stream; null when the stream does not exist (never written, expired, lost). */
export interface StreamInfo {
  /** The latest event's position (seq 0: the stream exists but has no event yet). */
  head: StreamPosition;
  ended: boolean;
  /** The latest stop_reason appended, if any. */
  stopReason: StopReason | null;
  /** When the latest event (or the end marker) was written, ms since 1970 (the store's clock). */
  lastWriteAt: number;
}

export interface ReadOptions {
  /** Deliver events after this position (`lastEventId`, wins over `startingAfter`). */
  after?: StreamPosition | undefined;
  /** Deliver events with seq greater than this within the current epoch (Letta's `starting_after`). @default 0 */
  startingAfter?: number | undefined;
  /** Most events fetched per store round trip while reading the backlog. @default 100 */
  batchSize?: number | undefined;
  /** Ends the read (the subscriber left). Readers release their resources at once. */
  signal: AbortSignal;
  /**
   * What a cursor on a stream that no longer exists means, when the caller knows (the service knows from the run);
   * by default it is decided from the epoch's age: created less than the retention ago → lost, else expired.
   */
  missing?: 'lost' | 'expired' | undefined;
}

export interface EndOptions {
  /** The run's stop reason; a stop_reason event is appended unless it is already the stream's latest. */
  stopReason: StopReason | null;
  /** The stop reason appended when `stopReason` is null and the stream has none (from the run's status). */
  fallback: StopReason;
  /** Events appended first, in the same atomic step (e.g. an `error_message`), only if the stream has not ended. */
  events?: RunEvent[] | undefined;
}

/** Tuning shared by both implementations. */
export interface RunStreamOptions {
  /** A stream is dropped this long after its last write (CONTRACTS §6). @default 3 h */
  retentionMs?: number;
  /** Events kept per stream; older ones are trimmed (Redis: `MAXLEN ~`, so a little more may stay). @default 10000 */
  maxLen?: number;
}

export const DEFAULT_STREAM_RETENTION_MS = 3 * 60 * 60 * 1000;
export const DEFAULT_STREAM_MAXLEN = 10_000;

/**
 * A cursor refers to a stream the store no longer has (lost, e.g. Redis restarted without persistence, or replaced
 * by a new epoch). NOT_FOUND, so clients do not retry it; they restart without `lastEventId`.
 */
export class StreamLost extends NotFound {
  override name = 'StreamLost';
}

/**
 * A run's output stream (CONTRACTS §6). Two implementations pass one contract suite (`run-stream.contract.ts`):
 * Redis (REDIS_URL; key `sse:run:{<runId>}`, many processes) and an in-process broker (embedded default, one process).
 *
 * Errors (core's domain errors): append after the end → Conflict; a cursor whose stream is gone after its retention
 * → Expired; a cursor from another epoch, or whose stream is gone before its retention could have passed →
 * {@link StreamLost} (NOT_FOUND, "the stream was lost"); a cursor past the stream's head → NotFound; the store down →
 * Unavailable (the only retryable one: a reader may be restarted from its last cursor).
 */
export interface RunStream {
  /** The store's name in `streamStoreFactories` (streams/factory.ts). */
  readonly kind: string;
  /**
   * Appends events atomically: consecutive seqs without gaps, even with several writers. `end: true` appends the end
   * marker in the same atomic step (a batch must carry a stop_reason to end: checked by the caller).
   * A stream that does not exist is created with a new epoch.
   */
  append(runId: string, events: RunEvent[], options?: { end?: boolean }): Promise<AppendResult>;
  /**
   * Ends the stream in one atomic step, idempotently (a run became terminal): appends `events`, then a stop_reason
   * event when the stream's latest stop reason differs from `stopReason` (when `stopReason` is null: when the stream
   * has none, using `fallback`), then the end marker. A stream that already ended is left as it is.
   */
  end(runId: string, options: EndOptions): Promise<EndResult>;
  /**
   * Reads from a cursor: the backlog, then live events with blocking reads (no polling delay), then `end`.
   * Never yields an event twice or skips one (except events trimmed away by `maxLen`). An item (and its event) may
   * be the same object for every reader of the entry, parsed once: readers must not modify it.
   */
  read(runId: string, options: ReadOptions): AsyncIterable<StreamItem>;
  /** The stream's state, or null when it does not exist. */
  info(runId: string): Promise<StreamInfo | null>;
  /** Releases connections and ends every reader. */
  close(): Promise<void>;
}

/** The error for a cursor whose stream no longer exists (see {@link ReadOptions.missing}). */
export function missingStreamError(
  runId: string,
  position: StreamPosition,
  retentionMs: number,
  missing: 'lost' | 'expired' | undefined,
  now = Date.now(),
): Expired | StreamLost {
  const created = epochTimeMs(position.epoch);
  const kind = missing ?? (Number.isFinite(created) && now - created >= retentionMs ? 'expired' : 'lost');
  if (kind === 'expired') {
    return new Expired(
      `The stream of run ${runId} has expired: a stream is kept until ${formatDuration(retentionMs)} after its last event`,
      { field: 'lastEventId' },
    );
  }
  return streamLost(runId, position);
}

export function streamLost(runId: string, position: StreamPosition): StreamLost {
  return new StreamLost(
    `The stream of run ${runId} was lost (the stream store no longer holds epoch ${position.epoch}), so it cannot ` +
      `resume after ${formatEventId(position)}; read it again without lastEventId`,
    { field: 'lastEventId' },
  );
}

export function cursorBeyondHead(runId: string, position: StreamPosition, head: number): NotFound {
  return new NotFound(
    `Unknown cursor ${formatEventId(position)}: the stream of run ${runId} has ${head} event(s) in epoch ${position.epoch}`,
    { field: 'lastEventId' },
  );
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}

/** The stop reason of the last stop_reason event among `events`, or null. */
export function lastStopReason(events: readonly RunEvent[]): StopReason | null {
  let reason: StopReason | null = null;
  for (const e of events) if (e.messageType === 'stop_reason') reason = e.stopReason;
  return reason;
}

export function stopReasonEvent(stopReason: StopReason): RunEvent {
  return { messageType: 'stop_reason', stopReason };
}
