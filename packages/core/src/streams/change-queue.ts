import { Unavailable } from '../errors.ts';

/** Messages (run changes, topic messages) a subscriber may hold unread before it is dropped (with Unavailable: it reconnects). */
export const MAX_PENDING_CHANGES = 10_000;

/** One subscriber's queue, shared by both feeds (run changes and topic messages alike). */
export class ChangeQueue<T> {
  readonly #items: T[] = [];
  #wake: (() => void) | null = null;
  #error: Error | null = null;
  #done = false;

  push(change: T): void {
    if (this.#done || this.#error) return;
    if (this.#items.length >= MAX_PENDING_CHANGES) {
      this.fail(new Unavailable('The subscriber fell behind; subscribe again'));
      return;
    }
    this.#items.push(change);
    this.#notify();
  }

  fail(error: Error): void {
    if (this.#done || this.#error) return;
    this.#error = error;
    this.#notify();
  }

  end(): void {
    this.#done = true;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async *drain(signal: AbortSignal, release: () => void): AsyncGenerator<T> {
    const onAbort = () => this.end();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        if (this.#items.length > 0) {
          yield this.#items.shift() as T;
          continue;
        }
        if (this.#error) throw this.#error;
        if (this.#done || signal.aborted) return;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      release();
    }
  }
}
