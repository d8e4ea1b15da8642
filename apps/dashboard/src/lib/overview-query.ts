import type { AppRouter } from '@runtrace/client';
import type { QueryClient } from '@tanstack/react-query';
import type { TRPCOptionsProxy } from '@trpc/tanstack-react-query';
import { chooseBucket, type OverviewView, parseOverviewView } from './overview-view.ts';
import { closedTo, resolveTimeRange } from './time-range.ts';

/** Entries per top list (agents and models by cost and by p95). */
export const TOP_ENTRIES = 5;
/** Agents whose names the legends look up (`agents.list`'s largest page). */
export const AGENT_NAMES_LIMIT = 1000;

/**
 * The overview's queries for a view as of `now`: the bounded range (presets end at the next whole minute, so the
 * keys hold for a minute), its bucket, and the options of `analytics.timeseries`, `analytics.summary` and
 * `agents.list` (names for the legends). Shared by the page and by the prefetch that precedes React.
 */
export function overviewQueries(trpc: TRPCOptionsProxy<AppRouter>, view: OverviewView, now = Date.now()) {
  const resolved = resolveTimeRange(view.range, now);
  const span = { from: resolved.from, to: closedTo(resolved, now) };
  const bucket = chooseBucket(span);
  return {
    span,
    bucket,
    timeseries: trpc.analytics.timeseries.queryOptions({ ...span, bucket, groupBy: view.group }),
    summary: trpc.analytics.summary.queryOptions({ ...span, top: TOP_ENTRIES }),
    agents: trpc.agents.list.queryOptions({ limit: AGENT_NAMES_LIMIT }),
  };
}

/** Loads the overview's charts and their library (a chunk of their own, see OverviewPage). */
export const loadOverviewCharts = () => import('../pages/overview/OverviewCharts.tsx');

/**
 * Starts the overview's queries and its chart code for the URL's view, before React renders the page (boot.ts):
 * they are in flight while react-dom and the app are evaluated. Nothing calls it yet: boot.ts is another helper's
 * (the call is in this change's report).
 */
export function prefetchOverview(trpc: TRPCOptionsProxy<AppRouter>, queryClient: QueryClient, params: URLSearchParams) {
  const view = parseOverviewView(params);
  const q = overviewQueries(trpc, view);
  void loadOverviewCharts();
  void queryClient.prefetchQuery(q.timeseries);
  if (view.group === 'agent') void queryClient.prefetchQuery(q.agents);
  // A task later, in an HTTP batch of its own (as the page asks for it): the charts do not wait for the summary.
  setTimeout(() => void queryClient.prefetchQuery(q.summary));
}
