/**
 * Evaluated before React (main.tsx imports it first): the query client, the api client for the saved key, and the
 * first requests of the page in the URL (the runs list's first page, or the overview's analytics and chart code),
 * already in flight while react-dom and the app are evaluated and rendered. That overlap is most of the first-load
 * budget on a busy machine.
 */
import type { AppRouter } from '@runtrace/client';
import { QueryClient } from '@tanstack/react-query';
import { createTRPCOptionsProxy } from '@trpc/tanstack-react-query';
import { isRetryable } from './components/States.tsx';
import { loadApiKey } from './lib/api-key.ts';
import { prefetchOverview } from './lib/overview-query.ts';
import { parseRoute } from './lib/route.ts';
import { runsQuery } from './lib/run-filters.ts';
import { runsListOptions } from './lib/runs-query.ts';
import { parseRunsView } from './lib/runs-view.ts';
import { createDashboardClient } from './trpc.ts';

export const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      refetchOnWindowFocus: false,
      // Only what may pass (the api down for a moment); NOT_FOUND or UNAUTHORIZED will not.
      retry: (failures, error) => failures < 2 && isRetryable(error),
    },
  },
});

export const initialApiKey = loadApiKey();
export const initialClient = createDashboardClient(initialApiKey);

const initialRoute = parseRoute(window.location.hash);
if (initialRoute.page === 'overview') {
  prefetchOverview(
    createTRPCOptionsProxy<AppRouter>({ client: initialClient, queryClient }),
    queryClient,
    initialRoute.params,
  );
} else if (initialRoute.page === 'runs') {
  const trpc = createTRPCOptionsProxy<AppRouter>({ client: initialClient, queryClient });
  // The URL's view, as the page will ask for it (same input, same query key): a link that opens filtered or sorted
  // gets its first rows from this request too, rather than from a second one after React.
  const query = runsQuery(parseRunsView(initialRoute.params));
  void queryClient.prefetchInfiniteQuery(runsListOptions(trpc, initialClient, query));
}
