import type { RunChangeEvent } from '@runtrace/client';
import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useEffect, useRef, useState } from 'react';
import { Empty, ErrorState, Loading } from '../components/States.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { formatNs, formatTime } from '../lib/format.ts';
import { routeHref } from '../lib/route.ts';
import { applyRunChange, type RunFilters, type RunsPages } from '../lib/run-filters.ts';
import { runsListOptions } from '../lib/runs-query.ts';
import { RUN_STATUSES, type Run, STOP_REASONS } from '../lib/types.ts';
import { useTRPC, useTRPCClient } from '../trpc.ts';
import './RunsPage.css';

const ROW_HEIGHT = 34;
/** Load the next page when the last loaded row is this close to the viewport. */
const PREFETCH_ROWS = 30;

export function RunsPage() {
  const [filters, setFilters] = useState<RunFilters>({});
  const [listed, setListed] = useState(false);
  return (
    <section className="page runs-page">
      <Filters filters={filters} onChange={setFilters} loadAgents={listed} />
      <RunsList filters={filters} onFirstRows={() => setListed(true)} />
    </section>
  );
}

function Filters({
  filters,
  onChange,
  loadAgents,
}: {
  filters: RunFilters;
  onChange(filters: RunFilters): void;
  loadAgents: boolean;
}) {
  const trpc = useTRPC();
  // Asked for once the first runs are drawn: batched with runs.list, it would hold back the rows people came for.
  const agents = useQuery({ ...trpc.agents.list.queryOptions({ limit: 1000 }), enabled: loadAgents });
  const [conversation, setConversation] = useState(filters.conversationId ?? '');
  const toggleStatus = (status: Run['status']) => {
    const current = filters.statuses ?? [];
    const statuses = current.includes(status) ? current.filter((s) => s !== status) : [...current, status];
    onChange({ ...filters, statuses });
  };
  return (
    <form
      className="filters"
      onSubmit={(e) => {
        e.preventDefault();
        onChange({ ...filters, conversationId: conversation.trim() || null });
      }}
    >
      <label>
        Agent
        <select
          name="agent"
          value={filters.agentId ?? ''}
          onChange={(e) => onChange({ ...filters, agentId: e.target.value || null })}
        >
          <option value="">any agent</option>
          {agents.data?.items.map((agent) => (
            <option key={agent.id} value={agent.id}>
              {agent.id}
            </option>
          ))}
        </select>
      </label>
      <fieldset className="statuses">
        <legend>Status</legend>
        {RUN_STATUSES.map((status) => (
          <label key={status} className="check">
            <input
              type="checkbox"
              checked={filters.statuses?.includes(status) ?? false}
              onChange={() => toggleStatus(status)}
            />
            {status}
          </label>
        ))}
      </fieldset>
      <label>
        Stop reason
        <select
          name="stopReason"
          value={filters.stopReason ?? ''}
          onChange={(e) => onChange({ ...filters, stopReason: (e.target.value || null) as RunFilters['stopReason'] })}
        >
          <option value="">any</option>
          {STOP_REASONS.map((reason) => (
            <option key={reason}>{reason}</option>
          ))}
        </select>
      </label>
      <label>
        Background
        <select
          name="background"
          value={filters.background === true ? 'yes' : filters.background === false ? 'no' : ''}
          onChange={(e) =>
            onChange({ ...filters, background: e.target.value === '' ? null : e.target.value === 'yes' })
          }
        >
          <option value="">any</option>
          <option value="yes">background</option>
          <option value="no">foreground</option>
        </select>
      </label>
      <label>
        Conversation
        <input
          name="conversation"
          placeholder="conversation id, Enter"
          value={conversation}
          onChange={(e) => setConversation(e.target.value)}
          onBlur={() => onChange({ ...filters, conversationId: conversation.trim() || null })}
        />
      </label>
      {agents.error && <ErrorState error={agents.error} what="agents" />}
    </form>
  );
}

function RunsList({ filters, onFirstRows }: { filters: RunFilters; onFirstRows(): void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const client = useTRPCClient();
  const listOptions = runsListOptions(trpc, client, filters);
  const runs = useInfiniteQuery(listOptions);
  // Live rows: each change is applied to the loaded pages (no refetch), checked against the filters.
  const changes = useSubscription(
    trpc.runs.changes.subscriptionOptions(filters.agentId ? { agentId: filters.agentId } : undefined, {
      onData(change: RunChangeEvent) {
        queryClient.setQueryData<RunsPages>(listOptions.queryKey, (data) => applyRunChange(data, change, filters));
      },
    }),
  );
  const rows = runs.data?.pages.flatMap((page) => page.items) ?? [];
  const scrollRef = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
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
      onFirstRows();
    }
  }, [rows.length, onFirstRows]);

  if (runs.isPending) return <Loading what="runs" />;
  if (runs.error) return <ErrorState error={runs.error} what="runs" />;
  return (
    <>
      <div className="list-status">
        <span data-testid="runs-loaded">
          {rows.length.toLocaleString()} runs loaded{hasNextPage ? ', more as you scroll' : ''}
        </span>
        <span className={`live-dot ${changes.status}`} data-testid="changes-status" title={changes.error?.message}>
          {changes.status === 'pending' ? 'live' : changes.status === 'error' ? 'live updates failed' : 'connecting…'}
        </span>
      </div>
      {rows.length === 0 ? (
        <Empty>No runs match these filters yet. Runs recorded now appear here as they are created.</Empty>
      ) : (
        <div className="runs-table">
          <div className="run-row head">
            <span>status</span>
            <span>run</span>
            <span>agent</span>
            <span>created</span>
            <span>duration</span>
            <span>stop reason</span>
          </div>
          <div className="runs-scroll" ref={scrollRef} data-testid="runs-scroll">
            <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
              {items.map((item) => {
                const run = rows[item.index]!;
                return <RunRow key={run.id} run={run} top={item.start} />;
              })}
            </div>
          </div>
          {isFetchingNextPage && <div className="muted">Loading more…</div>}
        </div>
      )}
    </>
  );
}

function RunRow({ run, top }: { run: Run; top: number }) {
  return (
    <a
      className="run-row"
      href={routeHref({ page: 'run', runId: run.id, tab: 'overview' })}
      style={{ transform: `translateY(${top}px)`, height: ROW_HEIGHT }}
      data-testid="run-row"
      data-run-id={run.id}
      data-status={run.status}
    >
      <span>
        <StatusBadge status={run.status} />
      </span>
      <span className="mono">
        {run.id}
        {run.background ? <span className="tag">bg</span> : null}
      </span>
      <span className="mono muted">{run.agentId}</span>
      <span>{formatTime(run.createdAt)}</span>
      <span>{formatNs(run.totalDurationNs)}</span>
      <span>{run.stopReason ?? '—'}</span>
    </a>
  );
}
