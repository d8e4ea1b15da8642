import { Unavailable } from '../errors.ts';
import type { RunChange } from '../runs/run-manager.ts';

/**
 * Run created / updated / deleted notifications per organization, for `runs.changes`. Not durable: a subscriber
 * sees the changes published while it is subscribed. With Redis they cross processes (Pub/Sub); the in-process feed
 * serves one process.
 */
export interface RunChangeFeed {
  readonly kind: 'redis' | 'memory';
  /** Delivers a change to the subscribers of its organization (in every process, with Redis). */
  publish(change: RunChange): Promise<void>;
  /**
   * Resolves once the subscription is active (changes published after that are delivered, in order); the iterable
   * ends when `signal` aborts, and throws Unavailable when the feed is closed or the store is down.
   */
  subscribe(organizationId: string, signal: AbortSignal): Promise<AsyncIterable<RunChange>>;
  close(): Promise<void>;
}

/** Changes a subscriber may hold unread before it is dropped (with Unavailable: it reconnects). */
export const MAX_PENDING_CHANGES = 10_000;

/** One subscriber's queue, shared by both feeds. */
export class ChangeQueue {
  readonly #items: RunChange[] = [];
  #wake: (() => void) | null = null;
  #error: Error | null = null;
  #done = false;

  push(change: RunChange): void {
    if (this.#done || this.#error) return;
    if (this.#items.length >= MAX_PENDING_CHANGES) {
      this.fail(new Unavailable('The run change subscriber fell behind; subscribe again'));
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

  async *drain(signal: AbortSignal, release: () => void): AsyncGenerator<RunChange> {
    const onAbort = () => this.end();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const next = this.#items.shift();
        if (next) {
          yield next;
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

/** The in-process feed (no REDIS_URL). */
export class MemoryRunChangeFeed implements RunChangeFeed {
  readonly kind = 'memory' as const;
  readonly #subscribers = new Map<string, Set<ChangeQueue>>();
  #closed = false;

  async publish(change: RunChange): Promise<void> {
    for (const queue of this.#subscribers.get(change.organizationId) ?? []) queue.push(change);
  }

  async subscribe(organizationId: string, signal: AbortSignal): Promise<AsyncIterable<RunChange>> {
    if (this.#closed) throw new Unavailable('The run change feed is closed (the process is shutting down)');
    const queue = new ChangeQueue();
    let set = this.#subscribers.get(organizationId);
    if (!set) {
      set = new Set();
      this.#subscribers.set(organizationId, set);
    }
    set.add(queue);
    const subscribers = set;
    const release = () => {
      signal.removeEventListener('abort', release);
      queue.end();
      subscribers.delete(queue);
      if (subscribers.size === 0 && this.#subscribers.get(organizationId) === subscribers) {
        this.#subscribers.delete(organizationId);
      }
    };
    // Released at once on abort, even if nobody iterates.
    signal.addEventListener('abort', release, { once: true });
    if (signal.aborted) release();
    return queue.drain(signal, release);
  }

  /** Subscriptions currently open (tests). */
  stats(): { subscribers: number } {
    let subscribers = 0;
    for (const set of this.#subscribers.values()) subscribers += set.size;
    return { subscribers };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const set of this.#subscribers.values()) {
      for (const queue of set) queue.fail(new Unavailable('The run change feed is closed (the process is shutting down)'));
    }
  }
}
