import { Unavailable } from '../errors.ts';
import { ChangeQueue } from './change-queue.ts';

/** What subscribing to, or staying subscribed to, a closed feed fails with. */
export function feedClosed(): Unavailable {
  return new Unavailable('The run change feed is closed (the process is shutting down)');
}

/**
 * A feed's subscribers in this process, by key (the memory feed: the organization; Redis: its channel), one
 * registry for both feeds. A subscriber leaves once, on abort (even if nobody iterates) or when its iteration ends;
 * a key goes with its last subscriber.
 */
export class ChangeSubscribers<T> {
  readonly #byKey = new Map<string, Set<ChangeQueue<T>>>();

  /**
   * A new subscriber of `key`: the changes to hand to the caller and the `release` that ends the subscription
   * (idempotent). `onLast` runs when the key's last subscriber leaves (Redis: unsubscribe its channel).
   */
  add(key: string, signal: AbortSignal, onLast?: () => void): { changes: AsyncIterable<T>; release: () => void } {
    const queue = new ChangeQueue<T>();
    let set = this.#byKey.get(key);
    if (!set) {
      set = new Set();
      this.#byKey.set(key, set);
    }
    set.add(queue);
    const queues = set;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      signal.removeEventListener('abort', release);
      queue.end();
      queues.delete(queue);
      if (queues.size === 0 && this.#byKey.get(key) === queues) {
        this.#byKey.delete(key);
        onLast?.();
      }
    };
    signal.addEventListener('abort', release, { once: true });
    return { changes: queue.drain(signal, release), release };
  }

  /** Whether anyone in this process listens to `key`. */
  has(key: string): boolean {
    return (this.#byKey.get(key)?.size ?? 0) > 0;
  }

  /** Queues the change for every subscriber of `key`. */
  deliver(key: string, change: T): void {
    for (const queue of this.#byKey.get(key) ?? []) queue.push(change);
  }

  /** Fails every subscriber (they subscribe again) and forgets them all. */
  failAll(error: Error): void {
    const all = [...this.#byKey.values()];
    this.#byKey.clear();
    for (const set of all) for (const queue of set) queue.fail(error);
  }

  stats(): { keys: number; subscribers: number } {
    let subscribers = 0;
    for (const set of this.#byKey.values()) subscribers += set.size;
    return { keys: this.#byKey.size, subscribers };
  }
}
