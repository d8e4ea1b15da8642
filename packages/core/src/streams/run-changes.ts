import type { RunChange } from '../runs/run-manager.ts';
import { ChangeSubscribers, feedClosed } from './change-subscribers.ts';

/**
 * Run created / updated / deleted notifications per organization, for `runs.changes`, and the same live delivery for
 * other features' topics (e.g. a trace's spans as they are ingested, for `runs.traceUpdates`). Not durable: a
 * subscriber sees what is published while it is subscribed. With Redis they cross processes (Pub/Sub); the
 * in-process feed serves one process. A subscriber {@link MAX_PENDING_CHANGES} messages behind is dropped with
 * Unavailable (it subscribes again).
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
  /**
   * Delivers a JSON-serializable message to the subscribers of `topic` (in every process, with Redis), with the
   * guarantees of {@link publish}. A topic is a name the publishing feature owns, scoped by it (e.g. by organization);
   * topics never reach run-change subscribers, nor these run changes. The in-process feed hands every subscriber the
   * same object: subscribers must not modify it.
   */
  publishTopic(topic: string, message: unknown): Promise<void>;
  /** As {@link subscribe}, for a topic's messages (unchecked: the subscriber validates what it reads). */
  subscribeTopic(topic: string, signal: AbortSignal): Promise<AsyncIterable<unknown>>;
  close(): Promise<void>;
}

/** The in-process feed (no REDIS_URL). */
export class MemoryRunChangeFeed implements RunChangeFeed {
  readonly kind = 'memory' as const;
  /** Keyed like the Redis feed's channels, so run changes and topics stay apart. */
  readonly #subscribers = new ChangeSubscribers<unknown>();
  #closed = false;

  async publish(change: RunChange): Promise<void> {
    this.#subscribers.deliver(runChangesKey(change.organizationId), change);
  }

  async subscribe(organizationId: string, signal: AbortSignal): Promise<AsyncIterable<RunChange>> {
    return this.#subscribe(runChangesKey(organizationId), signal) as AsyncIterable<RunChange>;
  }

  async publishTopic(topic: string, message: unknown): Promise<void> {
    this.#subscribers.deliver(topicKey(topic), message);
  }

  async subscribeTopic(topic: string, signal: AbortSignal): Promise<AsyncIterable<unknown>> {
    return this.#subscribe(topicKey(topic), signal);
  }

  /** Subscriptions currently open (tests). */
  stats(): { subscribers: number } {
    return { subscribers: this.#subscribers.stats().subscribers };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#subscribers.failAll(feedClosed());
  }

  #subscribe(key: string, signal: AbortSignal): AsyncIterable<unknown> {
    if (this.#closed) throw feedClosed();
    const { changes, release } = this.#subscribers.add(key, signal);
    if (signal.aborted) release();
    return changes;
  }
}

/** The Pub/Sub channel (Redis) or key (in-process) of an organization's run changes. */
export function runChangesKey(organizationId: string): string {
  return `runtrace:run-changes:${organizationId}`;
}

/** The channel or key of a topic (a prefix of its own, so no topic name reaches run changes). */
export function topicKey(topic: string): string {
  return `runtrace:topic:${topic}`;
}
