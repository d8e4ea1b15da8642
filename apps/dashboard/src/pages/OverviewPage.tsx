import { useQuery } from '@tanstack/react-query';
import { Fact } from '../components/Fact.tsx';
import { ErrorState, Loading } from '../components/States.tsx';
import { TimeRangePicker } from '../components/TimeRangePicker.tsx';
import { formatCount, formatMs } from '../lib/format.ts';
import { navigate, routeHref } from '../lib/route.ts';
import {
  closedTo,
  describeTimeRange,
  parseTimeRange,
  resolveTimeRange,
  type TimeRange,
  writeTimeRange,
} from '../lib/time-range.ts';
import { useTRPC } from '../trpc.ts';

/** What the overview shows when the URL names no range. */
export const DEFAULT_OVERVIEW_RANGE: TimeRange = { preset: '24h' };

/** The landing page: the organization's runs, cost and latency over a time range (`analytics.summary`). */
export function OverviewPage({ params }: { params: URLSearchParams }) {
  const trpc = useTRPC();
  const range = parseTimeRange(params) ?? DEFAULT_OVERVIEW_RANGE;
  const resolved = resolveTimeRange(range);
  const summary = useQuery(
    trpc.analytics.summary.queryOptions({ from: resolved.from, to: closedTo(resolved) }, { placeholderData: (p) => p }),
  );
  const setRange = (next: TimeRange | null) =>
    navigate(
      routeHref({
        page: 'overview',
        params: writeTimeRange(new URLSearchParams(params), next ?? DEFAULT_OVERVIEW_RANGE),
      }),
    );
  const totals = summary.data?.totals;
  return (
    <section className="page overview-page">
      <div className="page-head">
        <h1>Overview · {describeTimeRange(range)}</h1>
        <TimeRangePicker value={range} onChange={setRange} />
      </div>
      {summary.isPending ? (
        <Loading what="the overview" />
      ) : summary.error ? (
        <ErrorState error={summary.error} what="the overview" />
      ) : (
        totals && (
          <div className="card facts" data-testid="overview-totals">
            <Fact label="runs">{formatCount(totals.runs)}</Fact>
            <Fact label="cost">${totals.costUsd}</Fact>
            <Fact label="error rate">
              {totals.errorRate === null ? '—' : `${(totals.errorRate * 100).toFixed(1)} %`}
            </Fact>
            <Fact label="p95 run duration">{totals.runDurationMs ? formatMs(totals.runDurationMs.p95) : '—'}</Fact>
          </div>
        )
      )}
    </section>
  );
}
