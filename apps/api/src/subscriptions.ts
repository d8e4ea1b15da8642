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
  readonly #open = new Set<AbortController>();
  #closing = false;

  /** True once {@link closeAll} was called: every subscription is being ended. */
  get closing(): boolean {
    return this.#closing;
  }

  get size(): number {
    return this.#open.size;
  }

  /** A subscription whose signal follows the request's (the client left) and the server's shutdown. */
  open(request: AbortSignal | undefined): OpenSubscription {
    const controller = new AbortController();
    const abort = () => controller.abort();
    const release = () => {
      request?.removeEventListener('abort', abort);
      controller.signal.removeEventListener('abort', release);
      this.#open.delete(controller);
    };
    // Once aborted there is nothing left to end: forget it at once, even if its events were never read.
    controller.signal.addEventListener('abort', release, { once: true });
    this.#open.add(controller);
    request?.addEventListener('abort', abort, { once: true });
    if (this.#closing || request?.aborted) abort();
    return { signal: controller.signal, release };
  }

  /** Ends every open subscription (and any opened from now on). */
  closeAll(): void {
    this.#closing = true;
    for (const controller of this.#open) controller.abort();
  }
}
