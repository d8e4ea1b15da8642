import { createTRPCClient, httpBatchLink, type TRPCClient } from '@trpc/client';
import type { AppRouter } from './types.ts';

export interface RuntraceClientOptions {
  /** The api's base URL, e.g. `http://127.0.0.1:8283`; `/trpc` is appended. */
  url: string;
  /** A Runtrace API key, sent as `Authorization: Bearer <key>`. Without one the default organization applies. */
  apiKey?: string | undefined;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
  /** A fetch implementation (defaults to the global one). */
  fetch?: typeof fetch;
  /** Most calls batched into one HTTP request. @default 50 */
  maxBatchItems?: number;
}

export type RuntraceClient = TRPCClient<AppRouter>;

/** The typed Runtrace client for Node 20 and browsers: `client.runs.list.query({ limit: 10 })`. */
export function createRuntraceClient(options: RuntraceClientOptions): RuntraceClient {
  const base = options.url.replace(/\/+$/, '');
  const headers = (): Record<string, string> => ({
    ...options.headers,
    ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
  });
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${base}/trpc`,
        headers,
        maxItems: options.maxBatchItems ?? 50,
        ...(options.fetch ? { fetch: options.fetch } : {}),
      }),
    ],
  });
}
