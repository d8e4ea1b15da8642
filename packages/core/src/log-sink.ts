import { write } from 'node:fs';

export interface LogSinkOptions {
  /** @default 1 (stdout) */
  fd?: number;
  /** Log bytes held while the reader is slow; lines beyond are dropped (and counted). @default 8 MiB */
  maxBufferedBytes?: number;
}

/**
 * Where the logger writes: a file descriptor written asynchronously (libuv's thread pool), so a reader that stopped
 * reading or went away costs dropped log lines, never a blocked or spinning process. pino's own destination writes
 * synchronously and retries EAGAIN in Atomics.wait forever, which made SIGTERM hang once stdout's reader died.
 */
export class LogSink {
  readonly #fd: number;
  readonly #max: number;
  #queue: string[] = [];
  #bytes = 0;
  #writing = false;
  #broken = false;
  #drained: (() => void)[] = [];
  /** Lines dropped because the buffer was full or the descriptor is gone. */
  dropped = 0;

  constructor(options: LogSinkOptions = {}) {
    this.#fd = options.fd ?? 1;
    this.#max = options.maxBufferedBytes ?? 8 * 1024 * 1024;
  }

  write(line: string): boolean {
    const bytes = Buffer.byteLength(line);
    if (this.#broken || this.#bytes + bytes > this.#max) {
      this.dropped++;
      return false;
    }
    this.#queue.push(line);
    this.#bytes += bytes;
    if (!this.#writing) this.#next(null);
    return true;
  }

  /** Resolves once everything buffered is written, or after `timeoutMs` (the reader may never come back). */
  flush(timeoutMs: number): Promise<void> {
    if (!this.#writing) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.#drained.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #next(pending: Buffer | null): void {
    if (!pending && !this.#queue.length) {
      this.#writing = false;
      for (const resolve of this.#drained.splice(0)) resolve();
      return;
    }
    this.#writing = true;
    const chunk = pending ?? Buffer.from(this.#queue.splice(0).join(''));
    write(this.#fd, chunk, (err, written) => {
      if (err) {
        if (err.code === 'EAGAIN' || err.code === 'EWOULDBLOCK') {
          // A non-blocking descriptor whose reader is slow: try again later without holding the event loop.
          setTimeout(() => this.#next(chunk), 50).unref();
          return;
        }
        // EPIPE, EBADF…: the reader is gone for good.
        this.#broken = true;
        this.dropped += this.#queue.length + 1;
        this.#queue = [];
        this.#bytes = 0;
        this.#next(null);
        return;
      }
      this.#bytes -= written;
      this.#next(written < chunk.length ? chunk.subarray(written) : null);
    });
  }
}
