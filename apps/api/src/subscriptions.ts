/** One open subscription: its signal ends the reader when the client leaves or the server shuts down. */
export interface OpenSubscription {
  signal: AbortSignal;
  /** Forget the subscription (it ended); idempotent. */
  release(): void;
}

/**
 * The server's open subscriptions, so that shutting down can end them: an SSE response never ends by itself, and
 * the HTTP server's close waits for every response. On shutdown each one ends with SERVICE_UNAVAILABLE, which the
 * client answers by reconnecting (to another process, or this one restarted) after its last event.
 */
export class Subscriptions {
  /** Each open subscription's kind (`trpc:runs.stream`, `rest:runs.stream`), counted by `/metrics`. */
  readonly #open = new Map<AbortController, string>();
  #closing = false;

  /** True once {@link closeAll} was called: every subscription is being ended. */
  get closing(): boolean {
    return this.#closing;
  }

  get size(): number {
    return this.#open.size;
  }

  /** Open subscriptions per kind, counted when `/metrics` is scraped (not kept up per request). */
  countsByKind(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const kind of this.#open.values()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
    return counts;
  }

  /**
   * A subscription whose signal follows the request's (the client left) and the server's shutdown.
   * @param kind what it subscribes to, a bounded name such as `trpc:runs.stream` (a label of `/metrics`)
   */
  open(request: AbortSignal | undefined, kind: string): OpenSubscription {
    const controller = new AbortController();
    const abort = () => controller.abort();
    const release = () => {
      request?.removeEventListener('abort', abort);
      controller.signal.removeEventListener('abort', release);
      this.#open.delete(controller);
    };
    // Once aborted there is nothing left to end: forget it at once, even if its events were never read.
    controller.signal.addEventListener('abort', release, { once: true });
    this.#open.set(controller, kind);
    request?.addEventListener('abort', abort, { once: true });
    if (this.#closing || request?.aborted) abort();
    return { signal: controller.signal, release };
  }

  /** Ends every open subscription (and any opened from now on). */
  closeAll(): void {
    this.#closing = true;
    for (const controller of this.#open.keys()) controller.abort();
  }
}
