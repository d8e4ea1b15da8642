import { useQuery } from '@tanstack/react-query';
import { useEffect } from 'react';
import { CopyButton } from '../components/CopyButton.tsx';
import { Fact } from '../components/Fact.tsx';
import { InfoTip } from '../components/InfoTip.tsx';
import { ErrorState, Loading } from '../components/States.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { formatNs, formatTime } from '../lib/format.ts';
import { navigate, type RunTab, routeHref } from '../lib/route.ts';
import { clocksDisagree, runDuration, TTFT_EXPLANATION } from '../lib/run-duration.ts';
import { formatExactTime } from '../lib/run-offset.ts';
import { runsListHref } from '../lib/runs-list-href.ts';
import { useNow } from '../lib/use-now.ts';
import { isActive, type Run } from '../lib/types.ts';
import { useTRPC } from '../trpc.ts';
import { LiveView } from './LiveView.tsx';
import { RunTimeline } from './RunTimeline.tsx';
import { TraceView } from './TraceView.tsx';
import './RunPage.css';

const TAB_LABELS: Record<RunTab, string> = { overview: 'Timeline', live: 'Live stream', trace: 'Trace' };

/** A background run still going is watched live; anything else opens on its timeline. */
const opensLive = (run: Run) => Boolean(run.background) && isActive(run.status);

/**
 * One run: a back link to the runs list it was opened from, its header (status, timing), then its step timeline, its
 * live stream or its trace waterfall. Opened without a tab in the address, an active background run shows Live (and
 * the address is rewritten to say so, so the tab stays put when the run ends).
 */
export function RunPage({ runId, tab }: { runId: string; tab: RunTab | null }) {
  const trpc = useTRPC();
  const run = useQuery(trpc.runs.retrieve.queryOptions({ runId }));
  const live = tab === null && run.data !== undefined && opensLive(run.data);
  useEffect(() => {
    if (live) navigate(routeHref({ page: 'run', runId, tab: 'live' }), { replace: true });
  }, [live, runId]);
  const shown: RunTab = live ? 'live' : (tab ?? 'overview');
  return (
    <section className="page run-page">
      <a className="back-link" href={runsListHref()} data-testid="back-link">
        <span aria-hidden="true">← </span>Runs
      </a>
      {run.isPending ? (
        <Loading what="the run" />
      ) : run.error ? (
        <ErrorState error={run.error} what={`run ${runId}`} />
      ) : (
        <>
          <RunHeader run={run.data} />
          <nav className="tabs" aria-label="Run views">
            {(['overview', 'live', 'trace'] as const)
              .filter((t) => t !== 'live' || run.data.background)
              .map((t) => (
                <a
                  key={t}
                  href={routeHref({ page: 'run', runId, tab: t })}
                  className={shown === t ? 'active' : ''}
                  aria-current={shown === t ? 'page' : undefined}
                >
                  {TAB_LABELS[t]}
                </a>
              ))}
          </nav>
          {shown === 'overview' && <RunTimeline run={run.data} />}
          {shown === 'live' && <LiveView run={run.data} />}
          {shown === 'trace' && <TraceView run={run.data} />}
        </>
      )}
    </section>
  );
}

function RunHeader({ run }: { run: Run }) {
  // An active run without a reported duration counts up from its creation.
  const now = useNow(run.completedAt === null && run.totalDurationNs === null);
  const duration = runDuration(run, now);
  const disagree = clocksDisagree(run, duration);
  return (
    <div className="run-header">
      <h1 className="mono run-id">
        {run.id} <CopyButton text={run.id} label="Copy id" />
      </h1>
      <div className="facts">
        <Fact label="status">
          <StatusBadge status={run.status} />
        </Fact>
        <Fact label="stop reason">{run.stopReason ?? '—'}</Fact>
        <Fact label="agent">
          <span className="mono">{run.agentId}</span>
        </Fact>
        <Fact label="background">{run.background ? 'yes' : 'no'}</Fact>
        <Fact label="created">
          <span title={formatExactTime(run.createdAt)}>{formatTime(run.createdAt)}</span>
        </Fact>
        <Fact label="completed">
          <span title={formatExactTime(run.completedAt)}>{formatTime(run.completedAt)}</span>
        </Fact>
        <Fact label="time to first token">
          <span data-testid="run-ttft" title={TTFT_EXPLANATION}>
            {formatNs(run.ttftNs)}
          </span>
          <InfoTip label="About the time to first token">{TTFT_EXPLANATION}</InfoTip>
        </Fact>
        <Fact label={run.completedAt ? 'duration' : 'duration so far'}>
          <span data-testid="run-duration" data-source={duration.source} title={duration.explanation}>
            {formatNs(duration.ns)}
          </span>
          <InfoTip label="About the duration">{duration.explanation}</InfoTip>
        </Fact>
        {run.conversationId && (
          <Fact label="conversation">
            <span className="mono">{run.conversationId}</span>
          </Fact>
        )}
      </div>
      {disagree && (
        <p className="clock-note" data-testid="clock-note">
          The time to first token ({formatNs(run.ttftNs)}) exceeds the duration ({formatNs(duration.ns)}): the producer
          measured the first on its own clock from the start of its request, Runtrace the second from the run's creation
          on the api to its end.
        </p>
      )}
    </div>
  );
}
