import { Unavailable } from '../errors.ts';
import type { StopReason } from '../runs/status.ts';
import type { RunEvent } from './run-event.ts';
import {
  type AppendResult,
  cursorBeyondHead,
  DEFAULT_STREAM_MAXLEN,
  DEFAULT_STREAM_RETENTION_MS,
  type EndOptions,
  type EndResult,
  epochFromMicros,
  formatEventId,
  missingStreamError,
  type ReadOptions,
  type RunStream,
  type RunStreamOptions,
  type StreamInfo,
  type StreamItem,
  type StreamPosition,
  stopReasonEvent,
  streamLost,
} from './run-stream.ts';
import { streamEndedError } from './stream-ended-error.ts';

interface Entry {
  seq: number;
  event: RunEvent;
  /** What readers yield for it, made once and shared by every reader (they must not modify it). */
  item?: StreamItem;
}

interface MemoryStream {
  epoch: string;
  /** The latest event's seq. */
  seq: number;
  /** The newest `maxLen` events, oldest first. */
  entries: Entry[];
  ended: boolean;
  stopReason: StopReason | null;
  lastWriteAt: number;
}

export interface MemoryRunStreamOptions extends RunStreamOptions {
  /** The clock (tests). @default Date.now */
  now?: () => number;
}

/**
 * The in-process broker: the embedded default, for ONE process (several api processes need Redis). Same semantics
 * as the Redis implementation: per-run epoch and seq, end marker, retention after the last write, trimming to
 * `maxLen`, and live fan-out to any number of readers, each woken on a write (no polling).
 */
export class MemoryRunStream implements RunStream {
  readonly kind = 'memory' as const;
  readonly #streams = new Map<string, MemoryStream>();
  /** Readers waiting for a change of a run's stream (a write, its end, its loss). */
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #retentionMs: number;
  readonly #maxLen: number;
  readonly #now: () => number;
  readonly #sweep: NodeJS.Timeout;
  #lastEpochMicros = 0;
  #closed = false;

  constructor(options: MemoryRunStreamOptions = {}) {
    this.#retentionMs = options.retentionMs ?? DEFAULT_STREAM_RETENTION_MS;
    this.#maxLen = options.maxLen ?? DEFAULT_STREAM_MAXLEN;
    this.#now = options.now ?? Date.now;
    // Expired streams are also dropped when touched; the sweep frees memory and tells idle readers.
    this.#sweep = setInterval(() => this.#dropExpired(), Math.min(this.#retentionMs, 60_000));
    this.#sweep.unref();
  }

  async append(runId: string, events: RunEvent[], options: { end?: boolean } = {}): Promise<AppendResult> {
    this.#assertOpen();
    const stream = this.#stream(runId) ?? this.#create(runId);
    if (stream.ended) throw streamEndedError(runId);
    const positions = events.map((event) => this.#push(stream, event));
    if (options.end) stream.ended = true;
    this.#written(runId, stream);
    return { positions, ended: stream.ended };
  }

  async end(runId: string, options: EndOptions): Promise<EndResult> {
    this.#assertOpen();
    const stream = this.#stream(runId) ?? this.#create(runId);
    if (stream.ended) return { positions: [], ended: false };
    const positions = (options.events ?? []).map((event) => this.#push(stream, event));
    const needed = options.stopReason ? stream.stopReason !== options.stopReason : stream.stopReason === null;
    if (needed) positions.push(this.#push(stream, stopReasonEvent(options.stopReason ?? options.fallback)));
    stream.ended = true;
    this.#written(runId, stream);
    return { positions, ended: true };
  }

  async info(runId: string): Promise<StreamInfo | null> {
    this.#assertOpen();
    const s = this.#stream(runId);
    if (!s) return null;
    return {
      head: { epoch: s.epoch, seq: s.seq },
      ended: s.ended,
      stopReason: s.stopReason,
      lastWriteAt: s.lastWriteAt,
    };
  }

  /** Loses a stream as a Redis restart would (tests of the lost-stream error). */
  drop(runId: string): void {
    this.#streams.delete(runId);
    this.#wake(runId);
  }

  /** How many readers are waiting for events (tests: aborted readers leave). */
  stats(): { streams: number; waitingReaders: number } {
    let waitingReaders = 0;
    for (const set of this.#waiters.values()) waitingReaders += set.size;
    return { streams: this.#streams.size, waitingReaders };
  }

  async *read(runId: string, options: ReadOptions): AsyncGenerator<StreamItem> {
    const { signal } = options;
    let epoch = options.after?.epoch;
    let cursor = options.after?.seq ?? options.startingAfter ?? 0;
    let checkedCursor = !options.after;
    // One abort listener for the reader's life, waking its current wait (a listener added and removed per wait costs
    // EventTarget work on every delivery, the hot path).
    let waiting: (() => void) | null = null;
    const onAbort = () => waiting?.();
    const changed = () =>
      this.#changed(runId, (done) => {
        waiting = done;
      });
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        this.#assertOpen();
        const stream = this.#stream(runId);
        if (!stream) {
          if (epoch !== undefined) {
            throw missingStreamError(runId, { epoch, seq: cursor }, this.#retentionMs, options.missing, this.#now());
          }
          await changed();
          continue;
        }
        if (epoch === undefined) epoch = stream.epoch;
        else if (stream.epoch !== epoch) throw streamLost(runId, { epoch, seq: cursor });
        if (!checkedCursor) {
          if (cursor > stream.seq) throw cursorBeyondHead(runId, { epoch, seq: cursor }, stream.seq);
          checkedCursor = true;
        }
        const first = stream.entries[0]?.seq ?? stream.seq + 1;
        const entry = stream.entries[Math.max(0, cursor + 1 - first)];
        if (entry) {
          cursor = entry.seq;
          entry.item ??= {
            kind: 'event',
            id: formatEventId({ epoch, seq: entry.seq }),
            event: { ...entry.event, runId, seqId: entry.seq },
          };
          yield entry.item;
          continue;
        }
        if (stream.ended && cursor >= stream.seq) {
          yield { kind: 'end' };
          return;
        }
        await changed();
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweep);
    for (const runId of [...this.#waiters.keys()]) this.#wake(runId);
    this.#streams.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Unavailable('The run stream broker is closed (the process is shutting down)');
  }

  /** The live stream, dropping it first when past its retention. */
  #stream(runId: string): MemoryStream | undefined {
    const stream = this.#streams.get(runId);
    if (stream && this.#now() - stream.lastWriteAt >= this.#retentionMs) {
      this.#streams.delete(runId);
      this.#wake(runId);
      return undefined;
    }
    return stream;
  }

  #create(runId: string): MemoryStream {
    const micros = Math.max(this.#now() * 1000, this.#lastEpochMicros + 1);
    this.#lastEpochMicros = micros;
    const stream: MemoryStream = {
      epoch: epochFromMicros(micros),
      seq: 0,
      entries: [],
      ended: false,
      stopReason: null,
      lastWriteAt: this.#now(),
    };
    this.#streams.set(runId, stream);
    return stream;
  }

  #push(stream: MemoryStream, event: RunEvent): StreamPosition {
    stream.seq += 1;
    // A copy, as Redis stores JSON: later changes to the caller's object do not reach readers.
    stream.entries.push({ seq: stream.seq, event: JSON.parse(JSON.stringify(event)) as RunEvent });
    if (event.messageType === 'stop_reason') stream.stopReason = event.stopReason;
    return { epoch: stream.epoch, seq: stream.seq };
  }

  #written(runId: string, stream: MemoryStream): void {
    if (stream.entries.length > this.#maxLen) stream.entries.splice(0, stream.entries.length - this.#maxLen);
    stream.lastWriteAt = this.#now();
    this.#wake(runId);
  }

  #dropExpired(): void {
    for (const runId of [...this.#streams.keys()]) this.#stream(runId);
  }

  #wake(runId: string): void {
    const set = this.#waiters.get(runId);
    if (!set) return;
    this.#waiters.delete(runId);
    for (const wake of set) wake();
  }

  /** Resolves at the next change of the run's stream, or when the reader calls the `done` it is handed (its abort). */
  #changed(runId: string, handOver: (done: () => void) => void): Promise<void> {
    return new Promise((resolve) => {
      let set = this.#waiters.get(runId);
      if (!set) {
        set = new Set();
        this.#waiters.set(runId, set);
      }
      const waiters = set;
      const done = () => {
        waiters.delete(done);
        if (waiters.size === 0 && this.#waiters.get(runId) === waiters) this.#waiters.delete(runId);
        resolve();
      };
      waiters.add(done);
      handOver(done);
    });
  }
}
