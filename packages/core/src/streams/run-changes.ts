import type { RunChange } from '../runs/run-manager.ts';
import { ChangeSubscribers, feedClosed } from './change-subscribers.ts';

/**
 * Run created / updated / deleted notifications per organization, for `runs.changes`. Not durable: a subscriber
 * sees the changes published while it is subscribed. With Redis they cross processes (Pub/Sub); the in-process feed
 * serves one process.
 */
export interface RunChangeFeed {
  /** The store's name in `streamStoreFactories` (streams/factory.ts). */
  readonly kind: string;
  /** Delivers a change to the subscribers of its organization (in every process, with Redis). */
  publish(change: RunChange): Promise<void>;
  /**
   * Resolves once the subscription is active (changes published after that are delivered, in order); the iterable
   * ends when `signal` aborts, and throws Unavailable when the feed is closed or the store is down.
   */
  subscribe(organizationId: string, signal: AbortSignal): Promise<AsyncIterable<RunChange>>;
  close(): Promise<void>;
}

/** The in-process feed (no REDIS_URL). */
export class MemoryRunChangeFeed implements RunChangeFeed {
  readonly kind = 'memory' as const;
  readonly #subscribers = new ChangeSubscribers();
  #closed = false;

  async publish(change: RunChange): Promise<void> {
    this.#subscribers.deliver(change.organizationId, change);
  }

  async subscribe(organizationId: string, signal: AbortSignal): Promise<AsyncIterable<RunChange>> {
    if (this.#closed) throw feedClosed();
    const { changes, release } = this.#subscribers.add(organizationId, signal);
    if (signal.aborted) release();
    return changes;
  }

  /** Subscriptions currently open (tests). */
  stats(): { subscribers: number } {
    return { subscribers: this.#subscribers.stats().subscribers };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#subscribers.failAll(feedClosed());
  }
}
