import { type AppRouter, createRuntraceClient, type RuntraceClient } from '@runtrace/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';

/** `useTRPC()` gives typed query/mutation/subscription options of every procedure of the api's router. */
export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

/**
 * The api's own typed client, same origin: queries batched over HTTP, subscriptions over SSE through its own link
 * (fetch in browsers), which sends the key in the Authorization header (never in a URL) on every (re)connection.
 */
export function createDashboardClient(apiKey: string | null): RuntraceClient {
  return createRuntraceClient({ url: window.location.origin, apiKey: apiKey ?? undefined, reconnectDelayMs: 1000 });
}
