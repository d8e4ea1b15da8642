import type { RunChangeEvent } from '@runtrace/client';
import { keepPreviousData, useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Empty, ErrorState, Loading } from '../components/States.tsx';
import { formatCount } from '../lib/format.ts';
import { navigate, useRoute } from '../lib/route.ts';
import {
  applyRunChange,
  filterInput,
  isFiltered,
  type RunsPages,
  type RunsQuery,
  runsQuery,
} from '../lib/run-filters.ts';
import { runsListOptions } from '../lib/runs-query.ts';
import { parseRunsView, type RunsView, runsHref } from '../lib/runs-view.ts';
import type { Run } from '../lib/types.ts';
import { useMediaQuery } from '../lib/use-media-query.ts';
import { useTRPC, useTRPCClient } from '../trpc.ts';
import { type ChangeView, RunsFilters } from './RunsFilters.tsx';
import { RunRow, RunsHeader } from './RunsTable.tsx';
import './RunsPage.css';

/** Estimated heights (rows are measured once drawn): a table row, and a card on a phone. */
const ROW_HEIGHT = 37;
const CARD_HEIGHT = 118;
/** The width at which rows become cards; RunsPage.css has the same breakpoint. */
const CARDS_QUERY = '(max-width: 700px)';
/** Load the next page when the last loaded row is this close to the viewport. */
const PREFETCH_ROWS = 30;
/** Live changes refresh the count at most this often: a busy organization creates runs many times a second. */
const COUNT_REFRESH_MS = 2_000;
/** Relative times ("3 min ago") are redrawn this often. */
const CLOCK_MS = 30_000;

const NO_PARAMS = new URLSearchParams();

const changeView: ChangeView = (view, how) => navigate(runsHref(view), how);

/** "1 run matches", "312 runs", "10,000+ runs match". */
function describeCount({ count, capped }: { count: number; capped: boolean }, filtered: boolean): string {
  const one = count === 1 && !capped;
  return `${formatCount(count)}${capped ? '+' : ''} ${one ? 'run' : 'runs'}${filtered ? (one ? ' matches' : ' match') : ''}`;
}

/** The runs list: its view (filters, range, search, sort) is the URL's, so Back, reload and links restore it. */
export function RunsPage() {
  const route = useRoute();
  const params = route.page === 'runs' ? route.params : NO_PARAMS;
  const view = useMemo(() => parseRunsView(params), [params]);
  // Resolved once per view (a preset's start does not move on every render), as boot.ts resolved it for its prefetch.
  const query = useMemo(() => runsQuery(view), [view]);
  const trpc = useTRPC();
  const client = useTRPCClient();
  const listOptions = runsListOptions(trpc, client, query);
  const runs = useInfiniteQuery({ ...listOptions, placeholderData: keepPreviousData });
  const rows = useMemo(() => runs.data?.pages.flatMap((page) => page.items) ?? [], [runs.data]);
  // Asked for once the first runs are listed: batched with runs.list, they would hold back the rows people came for.
  const listed = runs.isSuccess;
  const agents = useQuery({ ...trpc.agents.list.queryOptions({ limit: 1000 }), enabled: listed });
  const names = useMemo(() => new Map(agents.data?.items.map((a) => [a.id, a.name])), [agents.data]);
  const models = useMemo(
    () => [...new Set(rows.map((r) => r.model).filter((m): m is string => m !== null))].sort(),
    [rows],
  );
  return (
    <section className="page runs-page" aria-labelledby="runs-heading">
      <div className="page-head">
        <h1 id="runs-heading">Runs</h1>
      </div>
      <RunsFilters view={view} onChange={changeView} agents={agents.data?.items} models={models} />
      {agents.error && <ErrorState error={agents.error} what="agent names" />}
      {runs.isPending ? (
        <Loading what="runs" />
      ) : runs.error && !runs.data ? (
        <ErrorState error={runs.error} what="runs" />
      ) : (
        <RunsList
          view={view}
          query={query}
          rows={rows}
          names={names}
          runs={runs}
          queryKey={listOptions.queryKey}
          counting={listed}
        />
      )}
    </section>
  );
}

interface ListState {
  hasNextPage: boolean;
  isFetchingNextPage: boolean;
  isPlaceholderData: boolean;
  fetchNextPage(): Promise<unknown>;
}

function RunsList({
  view,
  query,
  rows,
  names,
  runs,
  queryKey,
  counting,
}: {
  view: RunsView;
  query: RunsQuery;
  rows: Run[];
  names: Map<string, string | null>;
  runs: ListState;
  queryKey: readonly unknown[];
  counting: boolean;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const countInput = filterInput(query);
  const count = useQuery({ ...trpc.runs.count.queryOptions(countInput), enabled: counting });
  const countKey = trpc.runs.count.queryKey(countInput);
  const countTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => clearTimeout(countTimer.current ?? undefined), []);
  // Live rows: each change is applied to the loaded pages (no refetch), checked against the view's query.
  const changes = useSubscription(
    trpc.runs.changes.subscriptionOptions(query.filters.agentId ? { agentId: query.filters.agentId } : undefined, {
      onData(change: RunChangeEvent) {
        queryClient.setQueryData<RunsPages>(queryKey, (data) => applyRunChange(data, change, query));
        // A capped count ("10,000+") stays capped; any other is asked again, once per burst of changes.
        if (!count.data?.capped && countTimer.current === null) {
          countTimer.current = setTimeout(() => {
            countTimer.current = null;
            void queryClient.invalidateQueries({ queryKey: countKey });
          }, COUNT_REFRESH_MS);
        }
      },
    }),
  );
  const cards = useMediaQuery(CARDS_QUERY);
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => (cards ? CARD_HEIGHT : ROW_HEIGHT),
    getItemKey: (index) => rows[index]?.id ?? index,
    overscan: 10,
  });
  // Rows and cards differ in height: measured again from the new estimate when the width crosses the breakpoint.
  const measuredAsCards = useRef(cards);
  useEffect(() => {
    if (measuredAsCards.current === cards) return;
    measuredAsCards.current = cards;
    virtualizer.measure();
  }, [cards, virtualizer]);
  // Another view starts at its top, not at the old one's scroll offset (the table is not remounted: a sort
  // button pressed from the keyboard keeps its focus).
  const listKey = JSON.stringify(queryKey);
  const shownKey = useRef(listKey);
  useEffect(() => {
    if (shownKey.current === listKey) return;
    shownKey.current = listKey;
    scrollRef.current?.scrollTo(0, 0);
  }, [listKey]);
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? 0;
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = runs;
  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage && lastIndex >= rows.length - PREFETCH_ROWS) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage, lastIndex, rows.length]);
  const firstPaint = useRef(false);
  useEffect(() => {
    if (rows.length > 0 && !firstPaint.current) {
      firstPaint.current = true;
      // User timing: what the first-load budget is measured on (time since navigation start).
      performance.mark('runtrace:runs-rendered');
    }
  }, [rows.length]);
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), CLOCK_MS);
    return () => clearInterval(timer);
  }, []);
  const filtered = isFiltered({ ...view, search: query.search });
  const clear = () => changeView({ ...view, filters: {}, range: null, search: null });

  return (
    <>
      <div className="list-status">
        <span>
          <span data-testid="runs-count" aria-live="polite">
            {count.data ? describeCount(count.data, filtered) : ''}
          </span>
          {count.data ? ' · ' : ''}
          <span data-testid="runs-loaded">
            {rows.length.toLocaleString()} loaded{hasNextPage ? ', more as you scroll' : ''}
          </span>
          {runs.isPlaceholderData ? <span className="muted"> · updating…</span> : null}
        </span>
        <span className={`live-dot ${changes.status}`} data-testid="changes-status" title={changes.error?.message}>
          {changes.status === 'pending' ? 'live' : changes.status === 'error' ? 'live updates failed' : 'connecting…'}
        </span>
      </div>
      {rows.length === 0 && !runs.isPlaceholderData ? (
        filtered ? (
          <Empty>
            <strong>No runs match these filters.</strong> Runs that match appear here as they are recorded.{' '}
            <button type="button" onClick={clear} data-testid="empty-clear">
              Clear filters
            </button>
          </Empty>
        ) : (
          <Empty>
            <strong>No runs in this organization yet.</strong> Record your first run with the client or the Letta REST
            API; to see the dashboard with sample data, run <code>pnpm simulate</code>. Runs appear here live as they
            are created.
          </Empty>
        )
      ) : (
        <div className="runs-panel">
          <div className="runs-scroll" ref={scrollRef} data-testid="runs-scroll">
            <table
              className="runs-table"
              aria-label="Runs"
              aria-rowcount={hasNextPage ? -1 : rows.length + 1}
              aria-busy={runs.isPlaceholderData}
            >
              <thead>
                <RunsHeader view={view} onSort={(sortBy, order) => changeView({ ...view, sortBy, order })} />
              </thead>
              <tbody style={{ height: virtualizer.getTotalSize() }}>
                {items.map((item) => {
                  const run = rows[item.index]!;
                  return (
                    <RunRow
                      key={run.id}
                      run={run}
                      agentName={names.get(run.agentId)}
                      index={item.index}
                      top={item.start}
                      now={now}
                      measure={virtualizer.measureElement}
                    />
                  );
                })}
              </tbody>
            </table>
          </div>
          {isFetchingNextPage && <div className="muted loading-more">Loading more…</div>}
        </div>
      )}
    </>
  );
}
