import type { TRPCLink } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { observable } from '@trpc/server/observable';

/** The only code a Runtrace client retries (CONTRACTS §2): a store the api needs is down for a while. */
const RETRYABLE = new Set(['SERVICE_UNAVAILABLE', 'BAD_GATEWAY', 'GATEWAY_TIMEOUT']);

/**
 * Ends a subscription on an INTERNAL_SERVER_ERROR instead of reconnecting. tRPC's subscription link retries every
 * 5xx code sent by the server; Runtrace answers INTERNAL_SERVER_ERROR only for a bug, and a bug must never become an
 * endless reconnect loop. SERVICE_UNAVAILABLE (and a proxy's 502/504) still reconnect, resuming from the last event.
 * Dropped connections, which carry no code, always reconnect.
 */
export function retryOnlyUnavailableLink<TRouter extends AnyRouter>(): TRPCLink<TRouter> {
  return () =>
    ({ op, next }) =>
      observable((observer) => {
        let stopped = false;
        const subscription = next(op).subscribe({
          next(envelope) {
            if (stopped) return;
            const result = envelope.result as { type?: string; state?: string; error?: unknown };
            if (result.type === 'state' && result.state === 'connecting' && result.error) {
              const code = (result.error as { data?: { code?: unknown } | null }).data?.code;
              if (typeof code === 'string' && !RETRYABLE.has(code)) {
                stopped = true;
                observer.error(result.error as never);
                subscription?.unsubscribe();
                return;
              }
            }
            observer.next(envelope);
          },
          error(err) {
            if (!stopped) observer.error(err);
          },
          complete() {
            if (!stopped) observer.complete();
          },
        });
        if (stopped) subscription.unsubscribe();
        return () => subscription.unsubscribe();
      });
}
