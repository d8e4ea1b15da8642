import { createTRPCClient, httpBatchLink, splitLink, type TRPCClient } from '@trpc/client';
import { defaultSseTransport } from '#default-sse-transport';
import { retryOnlyUnavailableLink } from './retry-only-unavailable.ts';
import { runtraceSubscriptionLink } from './runtrace-subscription-link.ts';
import { fetchSseTransport } from './sse-transport.ts';
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
 * Queries and mutations go through `httpBatchLink`; subscriptions through runtrace-subscription-link.ts (tRPC's SSE
 * protocol, read with a fraction of the CPU per event of tRPC's `httpSubscriptionLink` + an EventSource), over
 * node:http in Node and over fetch in browsers or when `fetch` is given. Every (re)connection carries the
 * Authorization header: the API key never appears in a URL. A dropped subscription reconnects by itself and resumes
 * from the last event id it received (tRPC's `tracked()` ids, sent back as `Last-Event-ID`); it reconnects after
 * SERVICE_UNAVAILABLE too, but ends with the error on every other code (an INTERNAL_SERVER_ERROR included: a bug must
 * not become a reconnect loop).
 */
export function createRuntraceClient(options: RuntraceClientOptions): RuntraceClient {
  const base = options.url.replace(/\/+$/, '');
  const headers = (): Record<string, string> => ({
    ...options.headers,
    ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
  });
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: [
          retryOnlyUnavailableLink<AppRouter>(),
          runtraceSubscriptionLink({
            url: `${base}/trpc`,
            headers,
            reconnectDelayMs: Math.max(0, Math.round(options.reconnectDelayMs ?? 1000)),
            transport: options.fetch ? fetchSseTransport(options.fetch) : defaultSseTransport,
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
