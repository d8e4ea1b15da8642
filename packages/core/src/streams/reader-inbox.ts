import type { Listener } from './pubsub-hub.ts';
import type { Entry } from './redis-records.ts';
import type { StreamInfo } from './run-stream.ts';

/** One reader's inbox from the hub. */
export class ReaderInbox implements Listener {
  readonly #batches: Entry[][] = [];
  #error: Error | null = null;
  #wake: (() => void) | null = null;
  constructor(readonly onCheck: (info: StreamInfo | null) => Error | null) {}

  push(entries: Entry[]): void {
    this.#batches.push(entries);
    this.#notify();
  }

  fail(error: Error): void {
    this.#error ??= error;
    this.#notify();
  }

  check(info: StreamInfo | null): void {
    const error = this.onCheck(info);
    if (error) this.fail(error);
  }

  /** Wakes a waiting {@link next}; the reader calls it when its signal aborts. */
  interrupt(): void {
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /**
   * The next batch; null when the signal aborted. The abort wakes it through {@link interrupt}, from the one listener
   * the reader keeps for its whole life: a listener added and removed per wait cost ~4 µs of EventTarget work on
   * every delivery.
   */
  async next(signal: AbortSignal): Promise<Entry[] | null> {
    for (;;) {
      const batch = this.#batches.shift();
      if (batch) return batch;
      if (this.#error) throw this.#error;
      if (signal.aborted) return null;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }
}
