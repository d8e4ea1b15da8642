import { useEffect, useMemo } from 'react';
import { chartSeries, describeChart, groupFigures, METRICS, type TimeseriesPoint } from '../../lib/overview-series.ts';
import type { Bucket, OverviewGroup, OverviewPercentile } from '../../lib/overview-view.ts';
import { TimeChart } from './TimeChart.tsx';

/** Set once the first charts with data are drawn: the page's budget is measured to this mark, once per load. */
let drawn = false;

/**
 * The overview's charts (cost, runs, error rate, run duration, time to first token over time, by agent or model):
 * loaded on demand (React.lazy) with the chart library, so that the other pages' first load does not pay for them.
 */
export default function OverviewCharts({
  points,
  buckets,
  bucket,
  group,
  percentile,
  agentNames,
}: {
  points: readonly TimeseriesPoint[];
  buckets: number[];
  bucket: Bucket;
  group: OverviewGroup;
  percentile: OverviewPercentile;
  agentNames: ReadonlyMap<string, string>;
}) {
  const figures = useMemo(
    () => groupFigures(points, { buckets, bucket, group, agentNames }),
    [points, buckets, bucket, group, agentNames],
  );
  const charts = useMemo(
    () =>
      METRICS.map((metric) => {
        const data = chartSeries(figures, metric, percentile);
        const latency = metric.key === 'runDuration' || metric.key === 'ttft';
        return {
          metric,
          data,
          title: latency ? `${percentile} ${metric.title.toLowerCase()} by ${group}` : `${metric.title} by ${group}`,
          summary: describeChart(data, metric, group, percentile),
        };
      }),
    [figures, percentile, group],
  );
  useEffect(() => {
    if (drawn || points.length === 0) return;
    drawn = true;
    // User timing: what the overview's budget is measured on (time since navigation start).
    performance.mark('runtrace:overview-rendered');
  }, [points.length]);
  return (
    <div className="overview-charts">
      {charts.map((c) => (
        <TimeChart
          key={c.metric.key}
          testId={`chart-${c.metric.key}`}
          data={c.data}
          metric={c.metric}
          title={c.title}
          summary={c.summary}
        />
      ))}
    </div>
  );
}
