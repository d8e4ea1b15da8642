import type { RunEvent, StreamedRunEvent } from './run-event.ts';

/**
 * A stream position: `epoch` identifies one incarnation of a run's stream (it changes if the store lost the stream,
 * e.g. a Redis restart without persistence), `seq` counts events from 1 within it. The wire form of a cursor is
 * `"<epoch>:<seq>"` (tRPC `tracked()` id / SSE `id:`), see {@link formatEventId}.
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

/** What a read yields: events (in order, each once), then at most one end. */
export type StreamItem =
  | { kind: 'event'; id: string; event: StreamedRunEvent }
  | { kind: 'end' };

export interface AppendResult {
  /** The positions given to the appended events, in order. */
  positions: StreamPosition[];
  /** Whether this append ended the stream. */
  ended: boolean;
}

export interface ReadOptions {
  /** Deliver events after this position (`lastEventId`, wins over `startingAfter`). */
  after?: StreamPosition | undefined;
  /** Deliver events with seq greater than this within the current epoch (Letta's `starting_after`). @default 0 */
  startingAfter?: number | undefined;
  /** Most events fetched per store round trip. @default 100 */
  batchSize?: number | undefined;
  /** Ends the read (the subscriber left). Readers must release their resources at once. */
  signal: AbortSignal;
}

/**
 * A run's output stream (CONTRACTS §6). Two implementations pass one contract suite: Redis (REDIS_URL; key
 * `sse:run:<runId>`, many processes) and an in-process broker (embedded default, one process).
 *
 * Errors (core's domain errors): append after the end → Conflict; a stream past retention → Expired; the store
 * down → Unavailable (the only retryable one); a cursor from another epoch (a lost stream) → Conflict/NotFound with
 * a message saying the stream was lost.
 */
export interface RunStream {
  readonly kind: 'redis' | 'memory';
  /**
   * Appends events atomically (ids assigned without gaps even with several writers). `end: true` appends the
   * end marker in the same atomic step; a batch must carry a stop_reason to end (checked by the caller).
   */
  append(runId: string, events: RunEvent[], options?: { end?: boolean }): Promise<AppendResult>;
  /**
   * Reads from a cursor: the backlog, then live events with blocking reads (no polling delay), then `end`.
   * Never yields an event twice or skips one.
   */
  read(runId: string, options: ReadOptions): AsyncIterable<StreamItem>;
  /** Whether the stream has ended (its end marker was written). */
  isEnded(runId: string): Promise<boolean>;
  /** The latest position, or null when the stream has no events (or does not exist). */
  head(runId: string): Promise<StreamPosition | null>;
  /** Releases connections and readers. */
  close(): Promise<void>;
}
