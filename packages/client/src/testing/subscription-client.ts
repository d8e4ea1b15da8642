import { createTRPCClient, httpSubscriptionLink, type TRPCClient } from '@trpc/client';
import { EventSource, type FetchLike, type FetchLikeResponse } from 'eventsource';
import { nodeSseTransport } from '../node-sse-transport.ts';
import { retryOnlyUnavailableLink } from '../retry-only-unavailable.ts';
import { runtraceSubscriptionLink } from '../runtrace-subscription-link.ts';
import { fetchSseTransport } from '../sse-transport.ts';
import type { AppRouter } from '../types.ts';

export interface SubscriptionClientOptions {
  url: string;
  apiKey?: string;
  reconnectDelayMs?: number;
}

/**
 * How a subscription is read: `trpc` as the client did before runtrace-subscription-link.ts (tRPC's
 * `httpSubscriptionLink` over the `eventsource` ponyfill), `fetch` and `node` through that link over each transport.
 */
export type SubscriptionPath = 'trpc' | 'fetch' | 'node';

/**
 * A client for subscriptions only, reading them by `path`: to compare the paths result by result (differential tests)
 * and by CPU per event (apps/tools/bench/client-sse-paths.ts).
 */
export function subscriptionClient(path: SubscriptionPath, options: SubscriptionClientOptions): TRPCClient<AppRouter> {
  if (path === 'trpc') return createTrpcSubscriptionClient(options);
  const base = options.url.replace(/\/+$/, '');
  return createTRPCClient<AppRouter>({
    links: [
      retryOnlyUnavailableLink<AppRouter>(),
      runtraceSubscriptionLink({
        url: `${base}/trpc`,
        headers: (): Record<string, string> => (options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
        reconnectDelayMs: options.reconnectDelayMs ?? 1000,
        transport: path === 'node' ? nodeSseTransport : fetchSseTransport(globalThis.fetch),
      }),
    ],
  });
}

/** Statuses a subscription reconnects after, like a dropped connection. */
const TRANSIENT_STATUSES = new Set([502, 503, 504]);

/**
 * Subscriptions as @runtrace/client made them before runtrace-subscription-link.ts: tRPC's `httpSubscriptionLink`
 * over the `eventsource` ponyfill, whose fetch adds the Authorization header, a `retry:` field (the reconnect delay)
 * and turns a 502/503/504 into a network error.
 */
function createTrpcSubscriptionClient(options: SubscriptionClientOptions): TRPCClient<AppRouter> {
  const base = options.url.replace(/\/+$/, '');
  const headers = (): Record<string, string> => (options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {});
  return createTRPCClient<AppRouter>({
    links: [
      retryOnlyUnavailableLink<AppRouter>(),
      httpSubscriptionLink({
        url: `${base}/trpc`,
        EventSource,
        eventSourceOptions: { fetch: subscriptionFetch(options.reconnectDelayMs ?? 1000, headers) },
      }),
    ],
  });
}

function subscriptionFetch(reconnectDelayMs: number, headers: () => Record<string, string>): FetchLike {
  const retryField = new TextEncoder().encode(`retry: ${Math.max(0, Math.round(reconnectDelayMs))}\n\n`);
  return async (url, init) => {
    const response = await globalThis.fetch(url, { ...init, headers: { ...init.headers, ...headers() } });
    if (TRANSIENT_STATUSES.has(response.status)) {
      await response.body?.cancel().catch(() => {});
      throw new Error(`HTTP ${response.status} from ${String(url).split('?')[0]}; reconnecting`);
    }
    const body = response.body;
    if (!body) return response;
    const prefixed: FetchLikeResponse = {
      url: response.url,
      status: response.status,
      redirected: response.redirected,
      headers: response.headers,
      body: {
        getReader() {
          const reader = body.getReader();
          let sentRetry = false;
          return {
            async read() {
              if (!sentRetry) {
                sentRetry = true;
                return { done: false as const, value: retryField };
              }
              const chunk = await reader.read();
              return chunk.done ? { done: true as const } : { done: false as const, value: chunk.value };
            },
            cancel: () => reader.cancel(),
          };
        },
      },
    };
    return prefixed;
  };
}
