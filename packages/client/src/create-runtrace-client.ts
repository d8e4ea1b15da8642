import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, type TRPCClient } from '@trpc/client';
import { EventSource, type FetchLike, type FetchLikeResponse } from 'eventsource';
import { retryOnlyUnavailableLink } from './retry-only-unavailable.ts';
import type { AppRouter } from './types.ts';

export interface RuntraceClientOptions {
  /** The api's base URL, e.g. `http://127.0.0.1:8283`; `/trpc` is appended. */
  url: string;
  /** A Runtrace API key, sent as `Authorization: Bearer <key>`. Without one the default organization applies. */
  apiKey?: string | undefined;
  /** Extra headers for every request (subscriptions included). */
  headers?: Record<string, string>;
  /** A fetch implementation (defaults to the global one); subscriptions use it too. */
  fetch?: typeof fetch;
  /** Most calls batched into one HTTP request. @default 50 */
  maxBatchItems?: number;
  /**
   * Longest URL a batch of queries may make before it is split: servers refuse request lines much past 16 KiB
   * (Node's default header limit), and a refused batch fails every call in it. @default 8000
   */
  maxURLLength?: number;
  /**
   * How long a subscription waits before reconnecting after its connection dropped (it then resumes after the last
   * event it received, so nothing is lost or repeated). @default 1000
   */
  reconnectDelayMs?: number;
}

export type RuntraceClient = TRPCClient<AppRouter>;

/**
 * The typed Runtrace client for Node 20 and browsers: `client.runs.list.query({ limit: 10 })`, and subscriptions
 * (`client.runs.stream.subscribe(...)`) over Server-Sent Events.
 *
 * Queries and mutations go through `httpBatchLink`; subscriptions through `httpSubscriptionLink` with the
 * `eventsource` ponyfill (also in browsers), whose custom fetch carries the Authorization header: the API key never
 * appears in a URL. A dropped subscription reconnects by itself and resumes from the last event id it received
 * (tRPC's `tracked()` ids, sent back as `lastEventId`); it reconnects after SERVICE_UNAVAILABLE too, but ends with
 * the error on every other code (an INTERNAL_SERVER_ERROR included: a bug must not become a reconnect loop).
 */
export function createRuntraceClient(options: RuntraceClientOptions): RuntraceClient {
  const base = options.url.replace(/\/+$/, '');
  const headers = (): Record<string, string> => ({
    ...options.headers,
    ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
  });
  const eventSourceFetch = subscriptionFetch(options, headers);
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: [
          retryOnlyUnavailableLink<AppRouter>(),
          httpSubscriptionLink({
            url: `${base}/trpc`,
            EventSource,
            eventSourceOptions: { fetch: eventSourceFetch },
          }),
        ],
        false: httpBatchLink({
          url: `${base}/trpc`,
          headers,
          maxItems: options.maxBatchItems ?? 50,
          maxURLLength: options.maxURLLength ?? 8000,
          ...(options.fetch ? { fetch: options.fetch } : {}),
        }),
      }),
    ],
  });
}

/** Statuses a subscription reconnects after, like a dropped connection. */
const TRANSIENT_STATUSES = new Set([502, 503, 504]);

/**
 * The fetch the EventSource ponyfill uses: the client's headers on every (re)connection, and a `retry:` field put in
 * front of each response so that the EventSource reconnects after `reconnectDelayMs` instead of its 3 s default
 * (tRPC's server does not send one).
 */
function subscriptionFetch(options: RuntraceClientOptions, headers: () => Record<string, string>): FetchLike {
  const delayMs = Math.max(0, Math.round(options.reconnectDelayMs ?? 1000));
  const retryField = new TextEncoder().encode(`retry: ${delayMs}\n\n`);
  return async (url, init) => {
    const doFetch = options.fetch ?? globalThis.fetch;
    const response = await doFetch(url, { ...init, headers: { ...init.headers, ...headers() } });
    if (TRANSIENT_STATUSES.has(response.status)) {
      // A server shutting down (or a proxy without a backend) answers 503/502/504; the EventSource would give up on
      // any status but 200, so it is reported as a network failure: the EventSource reconnects after the delay.
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
