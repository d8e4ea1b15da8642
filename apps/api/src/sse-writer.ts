import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

export interface SseWriterOptions {
  /** The response's content type. @default 'text/event-stream' */
  contentType?: string;
  /**
   * A keep-alive frame written whenever nothing was written for `intervalMs` (the timer restarts with every frame);
   * `frame` is called each time, so it can name the stream's position. Absent: no pings.
   */
  ping?: { intervalMs: number; frame: () => string };
}

/**
 * Never buffered or compressed on the way (`no-transform`, nginx's `x-accel-buffering`): a compressor or proxy holding
 * frames back would delay every event.
 */
const SSE_HEADERS = {
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
} as const;

/**
 * One Server-Sent-Events response, written straight to the socket: the one SSE writer of the api (tRPC
 * subscriptions in sse.ts, Letta's run stream in rest/stream.ts).
 *
 * - Headers: those the request's hooks already put on the reply (CORS, Vary) plus the SSE ones, sent at once. The
 *   reply is hijacked, so the compression hook (compression.ts) never sees it.
 * - Backpressure: {@link write} resolves once the socket took the frame; while a slow client's buffer is full it waits
 *   for `drain` (or the client leaving), so the caller reads no further ahead than the client does.
 * - Keep-alive pings while idle, ending exactly once, and {@link signal} aborted when the client leaves.
 * - {@link broadcast}: one serialized frame to many responses, encoded once.
 */
export class SseWriter {
  readonly #res: ServerResponse;
  readonly #ping: SseWriterOptions['ping'];
  readonly #left = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /** Hijacks `reply` and sends the status and headers. */
  constructor(reply: FastifyReply, options: SseWriterOptions = {}) {
    reply.hijack();
    const res = reply.raw;
    this.#res = res;
    this.#ping = options.ping;
    res.once('close', () => {
      this.#closed = true;
      clearTimeout(this.#timer);
      this.#left.abort();
    });
    res.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': options.contentType ?? 'text/event-stream',
      ...SSE_HEADERS,
    });
    res.flushHeaders();
    this.#armPing();
  }

  /** Aborted when the client leaves (the connection closed), or once the response ended. */
  get signal(): AbortSignal {
    return this.#left.signal;
  }

  /** True once the response ended or the client left: nothing more can be written. */
  get closed(): boolean {
    // A field, not `signal.aborted || writableEnded`: it is read twice per delivered event.
    return this.#closed;
  }

  /**
   * Writes one frame (already serialized: `data: …\n\n`); resolves once the socket can take more, at once unless the
   * client is slow. Nothing is written after the end.
   */
  write(frame: string | Buffer): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.#armPing();
    if (this.#res.write(frame)) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.#res.off('drain', done);
        this.#res.off('close', done);
        resolve();
      };
      this.#res.once('drain', done);
      this.#res.once('close', done);
    });
  }

  /** Ends the response, after `frame` when given; idempotent. */
  end(frame?: string): void {
    clearTimeout(this.#timer);
    this.#closed = true;
    if (this.#res.writableEnded) return;
    if (frame !== undefined && !this.#left.signal.aborted) this.#res.end(frame);
    else this.#res.end();
  }

  /**
   * One frame to many responses (e.g. every subscriber of a run): encoded to bytes once, whatever the number of
   * writers; resolves when every socket can take more.
   */
  static async broadcast(frame: string, writers: Iterable<SseWriter>): Promise<void> {
    const bytes = Buffer.from(frame);
    const waits: Promise<void>[] = [];
    for (const writer of writers) waits.push(writer.write(bytes));
    await Promise.all(waits);
  }

  #armPing(): void {
    const ping = this.#ping;
    if (!ping) return;
    if (this.#timer) {
      this.#timer.refresh();
      return;
    }
    const beat = () => {
      if (this.closed) return;
      // A client not reading (its buffer full) needs no keep-alive; the frame would only queue behind the others.
      if (!this.#res.writableNeedDrain) this.#res.write(ping.frame());
      this.#timer = setTimeout(beat, ping.intervalMs);
    };
    this.#timer = setTimeout(beat, ping.intervalMs);
  }
}

/**
 * Frames by the value they serialize: a run's stream hands the SAME event object to every reader of an entry
 * (run-stream.ts), so a hundred subscribers of a run cost one serialization per event, not a hundred. Values are
 * never modified once yielded; weak keys, so a frame lives as long as its value. `key` tells frames of the same value
 * apart (a tracked event's id).
 */
export class SharedFrames {
  readonly #frames = new WeakMap<object, { key: string; frame: string }>();

  frame(value: unknown, key: string, make: () => string): string {
    if (typeof value !== 'object' || value === null) return make();
    const cached = this.#frames.get(value);
    if (cached?.key === key) return cached.frame;
    const frame = make();
    this.#frames.set(value, { key, frame });
    return frame;
  }
}
