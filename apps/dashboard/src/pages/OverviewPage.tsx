import type { RouterOutputs } from '@runtrace/client';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, useId, useMemo, useRef, useState } from 'react';
import { Fact } from '../components/Fact.tsx';
import { Empty, ErrorState, Loading } from '../components/States.tsx';
import { TimeRangePicker } from '../components/TimeRangePicker.tsx';
import { formatCount, formatMs } from '../lib/format.ts';
import { loadOverviewCharts, overviewQueries } from '../lib/overview-query.ts';
import { formatPercent, formatUsd, type TimeseriesPoint } from '../lib/overview-series.ts';
import {
  type Bucket,
  bucketStarts,
  DEFAULT_OVERVIEW_VIEW,
  OVERVIEW_GROUPS,
  OVERVIEW_PERCENTILES,
  type OverviewGroup,
  type OverviewView,
  overviewHref,
  parseOverviewView,
} from '../lib/overview-view.ts';
import { navigate } from '../lib/route.ts';
import { describeTimeRange } from '../lib/time-range.ts';
import { useTRPC } from '../trpc.ts';
import { TopLists } from './overview/TopLists.tsx';
import './OverviewPage.css';

/** The charts and d3 in a chunk of their own: the runs page's first load does not fetch or evaluate them. */
const OverviewCharts = lazy(loadOverviewCharts);

/**
 * The landing page: the organization's runs, cost, error rate and latency over a time range, as charts grouped by
 * agent or model (`analytics.timeseries`) and top lists (`analytics.summary`). Every chart mark and list entry links
 * to the runs list filtered to it. The view lives in the URL (`#/overview?range=7d&group=model&pct=p50`).
 */
export function OverviewPage({ params }: { params: URLSearchParams }) {
  const trpc = useTRPC();
  const view = parseOverviewView(params);
  const q = overviewQueries(trpc, view);
  // Started with the queries, not after them: the chart code loads while the api answers.
  void loadOverviewCharts();
  const timeseries = useQuery({ ...q.timeseries, placeholderData: keepPreviousData });
  const agents = useQuery({ ...q.agents, enabled: view.group === 'agent' });
  // The summary (totals, top lists) is the slower answer: asked a task later, it goes out in an HTTP batch of its own
  // instead of holding back the charts' batch.
  const summary = useQuery({ ...q.summary, placeholderData: keepPreviousData, enabled: useNextTask() });
  const { from, to } = q.span;
  const buckets = useMemo(() => bucketStarts({ from, to }, q.bucket), [from, to, q.bucket]);
  // While another range or grouping loads, the charts keep drawing the last answer with the buckets and grouping it
  // was asked for (dimmed, aria-busy), instead of the old points on the new buckets.
  const drawn = useRef<{ points: TimeseriesPoint[]; buckets: number[]; bucket: Bucket; group: OverviewGroup } | null>(
    null,
  );
  if (timeseries.data && !timeseries.isPlaceholderData && drawn.current?.points !== timeseries.data.points) {
    drawn.current = { points: timeseries.data.points, buckets, bucket: q.bucket, group: view.group };
  }
  const agentNames = useMemo(() => {
    const names = new Map<string, string>();
    for (const a of agents.data?.items ?? []) if (a.name) names.set(a.id, a.name);
    for (const e of [...(summary.data?.topAgentsByCost ?? []), ...(summary.data?.topAgentsByP95 ?? [])]) {
      if (e.name) names.set(e.key, e.name);
    }
    return names;
  }, [agents.data, summary.data]);
  const go = (next: Partial<OverviewView>) => navigate(overviewHref({ ...view, ...next }));

  const error = timeseries.error ?? summary.error;
  // The charts need the timeseries (and, by agent, the names for their legends: without agents.list, an error, they
  // show short ids); totals and top lists draw when the summary is there.
  const pending = timeseries.isPending || (view.group === 'agent' && agents.isPending);
  const stale = timeseries.isPlaceholderData || summary.isPlaceholderData;
  const totals = summary.data?.totals;
  const empty = drawn.current?.points.length === 0;
  return (
    <section className="page overview-page">
      <div className="page-head">
        <h1>Overview · {describeTimeRange(view.range)}</h1>
        <div className="overview-controls">
          <TimeRangePicker
            value={view.range}
            onChange={(range) => go({ range: range ?? DEFAULT_OVERVIEW_VIEW.range })}
          />
          <Choice
            legend="Group by"
            name="group"
            options={OVERVIEW_GROUPS.map((g) => ({ key: g.key, label: g.label }))}
            value={view.group}
            onChange={(group) => go({ group })}
          />
          <Choice
            legend="Latency"
            name="pct"
            options={OVERVIEW_PERCENTILES.map((p) => ({ key: p, label: p }))}
            value={view.percentile}
            onChange={(percentile) => go({ percentile })}
          />
        </div>
      </div>
      {error ? (
        <ErrorState error={error} what="the overview" />
      ) : pending ? (
        <Loading what="the overview" />
      ) : empty ? (
        <Empty>
          No runs between {new Date(q.span.from).toLocaleString()} and {new Date(q.span.to).toLocaleString()}. Choose a
          longer time range, or record runs (steps.create) to see their cost and latency here.
        </Empty>
      ) : (
        <div
          className="overview-body"
          data-testid="overview"
          data-bucket={drawn.current?.bucket}
          data-group={drawn.current?.group}
          aria-busy={stale}
        >
          {totals ? <Totals totals={totals} /> : <Loading what="the totals" />}
          {drawn.current && (
            <Suspense fallback={<Loading what="the charts" />}>
              <OverviewCharts {...drawn.current} percentile={view.percentile} agentNames={agentNames} />
            </Suspense>
          )}
          {summary.data && <TopLists summary={summary.data} range={view.range} />}
        </div>
      )}
    </section>
  );
}

type Figures = RouterOutputs['analytics']['summary']['totals'];

/** The range's totals: runs, cost (to the cent; exact on hover), tokens, error rate, p95 latencies. */
function Totals({ totals }: { totals: Figures }) {
  return (
    <div className="card overview-totals" data-testid="overview-totals">
      <Fact label="runs">{formatCount(totals.runs)}</Fact>
      <Fact label="cost">
        <span title={`$${totals.costUsd}`}>{formatUsd(Number(totals.costUsd))}</span>
      </Fact>
      <Fact label="tokens">{formatCount(totals.tokens.total)}</Fact>
      <Fact label="error rate">{totals.errorRate === null ? '—' : formatPercent(totals.errorRate)}</Fact>
      <Fact label="p95 run duration">{totals.runDurationMs ? formatMs(totals.runDurationMs.p95) : '—'}</Fact>
      <Fact label="p95 time to first token">{totals.ttftMs ? formatMs(totals.ttftMs.p95) : '—'}</Fact>
    </div>
  );
}

/**
 * False until the task after the first render: the client batches the calls of one task into one HTTP request
 * (tRPC's httpBatchLink dispatches on a timer), so a query enabled by this goes out in a request of its own.
 */
function useNextTask(): boolean {
  const [next, setNext] = useState(false);
  useEffect(() => {
    const timer = setTimeout(() => setNext(true));
    return () => clearTimeout(timer);
  }, []);
  return next;
}

/** A small set of radio buttons (a fieldset with a legend): one choice, every option visible. */
function Choice<K extends string>({
  legend,
  name,
  options,
  value,
  onChange,
}: {
  legend: string;
  name: string;
  options: { key: K; label: string }[];
  value: K;
  onChange(next: K): void;
}) {
  const id = useId();
  return (
    <fieldset className="choice">
      <legend>{legend}</legend>
      {options.map((o) => (
        <label key={o.key} htmlFor={`${id}-${o.key}`}>
          <input
            type="radio"
            id={`${id}-${o.key}`}
            name={`${id}-${name}`}
            value={o.key}
            checked={value === o.key}
            onChange={() => onChange(o.key)}
          />
          {o.label}
        </label>
      ))}
    </fieldset>
  );
}
