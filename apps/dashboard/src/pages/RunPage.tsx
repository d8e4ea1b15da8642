import { useQuery } from '@tanstack/react-query';
import { CopyButton } from '../components/CopyButton.tsx';
import { Fact } from '../components/Fact.tsx';
import { ErrorState, Loading } from '../components/States.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { elapsedMs, formatMs, formatNs, formatTime } from '../lib/format.ts';
import { type RunTab, routeHref } from '../lib/route.ts';
import { useTRPC } from '../trpc.ts';
import { LiveView } from './LiveView.tsx';
import { RunOverview } from './RunOverview.tsx';
import { TraceView } from './TraceView.tsx';

/** One run: its header (status, timing), then the overview, its live stream or its trace waterfall. */
export function RunPage({ runId, tab }: { runId: string; tab: RunTab }) {
  const trpc = useTRPC();
  const run = useQuery(trpc.runs.retrieve.queryOptions({ runId }));
  if (run.isPending) return <Loading what="the run" />;
  if (run.error) return <ErrorState error={run.error} what={`run ${runId}`} />;
  const r = run.data;
  const wallMs = elapsedMs(r.createdAt, r.completedAt);
  const tabLink = (to: RunTab, label: string) => (
    <a href={routeHref({ page: 'run', runId, tab: to })} className={tab === to ? 'active' : ''}>
      {label}
    </a>
  );
  return (
    <section className="page run-page">
      <div className="run-header">
        <h1 className="mono">
          {r.id} <CopyButton text={r.id} label="Copy id" />
        </h1>
        <div className="facts">
          <Fact label="status">
            <StatusBadge status={r.status} />
          </Fact>
          <Fact label="stop reason">{r.stopReason ?? '—'}</Fact>
          <Fact label="agent">
            <span className="mono">{r.agentId}</span>
          </Fact>
          <Fact label="background">{r.background ? 'yes' : 'no'}</Fact>
          <Fact label="created">{formatTime(r.createdAt)}</Fact>
          <Fact label="completed">{formatTime(r.completedAt)}</Fact>
          <Fact label="time to first token">{formatNs(r.ttftNs)}</Fact>
          <Fact label="total duration">
            {r.totalDurationNs ? formatNs(r.totalDurationNs) : wallMs === null ? '—' : formatMs(wallMs)}
          </Fact>
          {r.conversationId && (
            <Fact label="conversation">
              <span className="mono">{r.conversationId}</span>
            </Fact>
          )}
        </div>
      </div>
      <nav className="tabs">
        {tabLink('overview', 'Overview')}
        {r.background ? tabLink('live', 'Live stream') : null}
        {tabLink('trace', 'Trace')}
      </nav>
      {tab === 'overview' && <RunOverview run={r} />}
      {tab === 'live' && <LiveView run={r} />}
      {tab === 'trace' && <TraceView run={r} />}
    </section>
  );
}
