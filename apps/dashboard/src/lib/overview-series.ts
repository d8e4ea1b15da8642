import type { RouterOutputs } from '@runtrace/client';
import { formatCount, formatMs } from './format.ts';
import type { OverviewGroup, OverviewPercentile } from './overview-view.ts';
import { type Bucket, bucketRange } from './overview-view.ts';
import type { RunFilters } from './run-filters.ts';
import { type RunsView, runsHref } from './runs-view.ts';

export type TimeseriesPoint = RouterOutputs['analytics']['timeseries']['points'][number];
type Percentiles = TimeseriesPoint['runDurationMs'];

/** The most groups a chart draws on their own; the rest are summed into "Other" (when more than one is left). */
export const MAX_CHART_GROUPS = 5;

/** One line or stack of a chart: an agent, a model, or the others together. */
export interface ChartGroup {
  /** The agent id or model; null for "Other" and for rows without a value. */
  key: string | null;
  label: string;
  /** The runs-list filter that shows this group's runs; null for "Other" (no filter can say "none of those"). */
  filters: RunFilters | null;
  /** The groups beyond the first few, summed. */
  other: boolean;
}

/** What a chart draws: one value per bucket for each group (null: nothing to draw there). */
export interface ChartSeries {
  group: ChartGroup;
  values: (number | null)[];
  /** The runs-list link of each bucket's mark. */
  hrefs: string[];
}

export interface ChartData {
  bucket: Bucket;
  /** Bucket starts, epoch ms. */
  buckets: number[];
  series: ChartSeries[];
}

/** A group's figures in one bucket, summed when several groups are merged into "Other". */
export interface Sums {
  /** Points summed in: 0 is an empty bucket. */
  count: number;
  runs: number;
  failedRuns: number;
  cost: number;
  /** The point itself when only one: percentiles cannot be merged. */
  point: TimeseriesPoint | null;
}

export type MetricKey = 'cost' | 'runs' | 'errorRate' | 'runDuration' | 'ttft';

/** One of the overview's charts: which figure, drawn how, and what its marks link to. */
export interface Metric {
  key: MetricKey;
  title: string;
  /** The y axis' title. */
  unit: string;
  /** Bars stack (the figure adds up across groups); lines do not. */
  kind: 'bar' | 'line';
  format(value: number): string;
  value(sums: Sums, percentile: OverviewPercentile): number | null;
  /** What a mark's runs-list link adds to the group and the bucket. */
  link?: Partial<RunsView>;
}

/** `$12.35`, `$0.0042`: cents when a dollar or more, four significant digits below. */
export function formatUsd(value: number): string {
  if (value === 0) return '$0';
  if (Math.abs(value) >= 1) return `$${value.toLocaleString(undefined, { maximumFractionDigits: 2 })}`;
  return `$${value.toPrecision(2).replace(/0+$/, '').replace(/\.$/, '')}`;
}

export const formatPercent = (value: number) =>
  `${(value * 100).toFixed(value > 0 && value < 0.1 ? 1 : 0).replace(/\.0$/, '')} %`;

const percentileOf = (figure: Percentiles, percentile: OverviewPercentile) => (figure ? figure[percentile] : null);

export const METRICS: readonly Metric[] = [
  {
    key: 'cost',
    title: 'Cost',
    unit: 'USD',
    kind: 'bar',
    format: formatUsd,
    value: (s) => s.cost,
    link: { sortBy: 'cost' },
  },
  { key: 'runs', title: 'Runs', unit: 'runs', kind: 'bar', format: formatCount, value: (s) => s.runs },
  {
    key: 'errorRate',
    title: 'Error rate',
    unit: '% of runs failed',
    kind: 'line',
    format: formatPercent,
    value: (s) => (s.runs > 0 ? s.failedRuns / s.runs : null),
    link: { filters: { statuses: ['failed'] } },
  },
  {
    key: 'runDuration',
    title: 'Run duration',
    unit: 'duration',
    kind: 'line',
    format: formatMs,
    value: (s, p) => percentileOf(s.point?.runDurationMs ?? null, p),
    link: { sortBy: 'duration' },
  },
  {
    key: 'ttft',
    title: 'Time to first token',
    unit: 'duration',
    kind: 'line',
    format: formatMs,
    value: (s, p) => percentileOf(s.point?.ttftMs ?? null, p),
  },
];

/** `agent-1a2b3c4d`: enough of an unnamed agent's id to tell it apart. */
export function shortAgentId(id: string): string {
  return id.replace(/^(agent-[0-9a-f]{8}).*$/i, '$1');
}

/** How a group is labelled: an agent's name (else its short id), a model's name. */
export function groupLabel(group: OverviewGroup, key: string | null, agentNames: ReadonlyMap<string, string>): string {
  if (key === null || key === '') return group === 'agent' ? '(no agent)' : '(no model)';
  if (group === 'model') return key;
  return agentNames.get(key) ?? shortAgentId(key);
}

export function groupFilters(group: OverviewGroup, key: string | null): RunFilters | null {
  if (key === null || key === '') return null;
  return group === 'agent' ? { agentId: key } : { models: [key] };
}

const emptySums = (): Sums => ({ count: 0, runs: 0, failedRuns: 0, cost: 0, point: null });

function add(sums: Sums, point: TimeseriesPoint): void {
  // A second point in the same bucket: merged groups, whose percentiles are unknown.
  sums.point = sums.count === 0 ? point : null;
  sums.count += 1;
  sums.runs += point.runs;
  sums.failedRuns += point.failedRuns;
  sums.cost += Number(point.costUsd);
}

/**
 * The groups a chart draws, biggest first (by runs, then cost, over the whole range): the first
 * {@link MAX_CHART_GROUPS} on their own, the others as one "Other" group (key null) when more than one is left.
 */
export function rankGroups(points: readonly TimeseriesPoint[]): {
  shown: (string | null)[];
  others: Set<string | null>;
} {
  const totals = new Map<string | null, { runs: number; cost: number }>();
  for (const p of points) {
    const t = totals.get(p.group) ?? { runs: 0, cost: 0 };
    t.runs += p.runs;
    t.cost += Number(p.costUsd);
    totals.set(p.group, t);
  }
  const ranked = [...totals]
    .sort(([ka, a], [kb, b]) => b.runs - a.runs || b.cost - a.cost || String(ka).localeCompare(String(kb)))
    .map(([key]) => key);
  if (ranked.length <= MAX_CHART_GROUPS + 1) return { shown: ranked, others: new Set() };
  return { shown: ranked.slice(0, MAX_CHART_GROUPS), others: new Set(ranked.slice(MAX_CHART_GROUPS)) };
}

/** The figures of each drawn group in each bucket: what every chart of one answer is made from. */
export interface GroupedFigures {
  bucket: Bucket;
  buckets: number[];
  groups: { group: ChartGroup; sums: Sums[] }[];
}

/**
 * `analytics.timeseries` points (buckets with data only) laid out on every bucket of the range, per drawn group;
 * groups beyond the first {@link MAX_CHART_GROUPS} summed into "Other".
 */
export function groupFigures(
  points: readonly TimeseriesPoint[],
  o: { buckets: number[]; bucket: Bucket; group: OverviewGroup; agentNames: ReadonlyMap<string, string> },
): GroupedFigures {
  const { shown, others } = rankGroups(points);
  const index = new Map(o.buckets.map((t, i) => [t, i]));
  const rows = new Map<string | null | typeof OTHER, Sums[]>();
  const row = (key: string | null | typeof OTHER) => {
    let sums = rows.get(key);
    if (!sums) {
      sums = o.buckets.map(emptySums);
      rows.set(key, sums);
    }
    return sums;
  };
  for (const key of shown) row(key);
  for (const p of points) {
    const i = index.get(Date.parse(p.bucket));
    if (i === undefined) continue;
    const sums = row(others.has(p.group) ? OTHER : p.group);
    add(sums[i]!, p);
  }
  const groups = shown.map((key) => ({
    group: { key, label: groupLabel(o.group, key, o.agentNames), filters: groupFilters(o.group, key), other: false },
    sums: row(key),
  }));
  if (others.size > 0) {
    groups.push({
      group: {
        key: null,
        label: `Other (${others.size} ${o.group === 'agent' ? 'agents' : 'models'})`,
        filters: null,
        other: true,
      },
      sums: row(OTHER),
    });
  }
  return { bucket: o.bucket, buckets: o.buckets, groups };
}

const OTHER = Symbol('other');

/**
 * One chart's series: the metric's value per group and bucket, and each mark's link to the runs list (the group's
 * runs in that bucket, with what the metric adds: failed runs for the error rate, slowest first for durations).
 * Series with nothing to draw (percentiles of "Other") are left out.
 */
export function chartSeries(figures: GroupedFigures, metric: Metric, percentile: OverviewPercentile): ChartData {
  const series = figures.groups
    .map(({ group, sums }) => ({
      group,
      values: sums.map((s) => {
        const v = metric.value(s, percentile);
        // Nothing in the bucket: a gap in a line, no bar.
        return s.count === 0 ? null : v;
      }),
      hrefs: figures.buckets.map((start) =>
        runsHref({
          ...metric.link,
          filters: { ...group.filters, ...metric.link?.filters },
          range: bucketRange(start, figures.bucket),
        }),
      ),
    }))
    .filter((s) => s.values.some((v) => v !== null));
  return { bucket: figures.bucket, buckets: figures.buckets, series };
}

/** Whether there is anything to draw at all. */
export const hasData = (data: ChartData) => data.series.some((s) => s.values.some((v) => v !== null && v > 0));

/** The time of a bucket as a tooltip or table names it: local hours, UTC days (the api's days are UTC). */
export function formatBucket(start: number, bucket: Bucket): string {
  return bucket === 'hour'
    ? new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }).format(
        start,
      )
    : new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(start);
}

/**
 * A chart in one sentence, its text alternative: what it shows, over which buckets, the total (for figures that add
 * up) and the highest value with its group and bucket.
 */
export function describeChart(
  data: ChartData,
  metric: Metric,
  groupNoun: string,
  percentile: OverviewPercentile,
): string {
  const title =
    metric.kind === 'line' && metric.key !== 'errorRate' ? `${percentile} ${metric.title.toLowerCase()}` : metric.title;
  const n = data.buckets.length;
  const span =
    n > 0
      ? ` over ${n} ${data.bucket}${n === 1 ? '' : 's'}, ${formatBucket(data.buckets[0]!, data.bucket)} to ${formatBucket(data.buckets[n - 1]!, data.bucket)}`
      : '';
  let top: { value: number; label: string; at: number } | null = null;
  let total = 0;
  for (const s of data.series) {
    s.values.forEach((v, i) => {
      if (v === null) return;
      total += v;
      if (!top || v > top.value) top = { value: v, label: s.group.label, at: data.buckets[i]! };
    });
  }
  const found = top as { value: number; label: string; at: number } | null;
  if (!found) return `${title} by ${groupNoun}${span}: no data.`;
  const parts = [`${title} by ${groupNoun}${span}`];
  if (metric.kind === 'bar') parts.push(`total ${metric.format(total)}`);
  parts.push(`highest ${metric.format(found.value)} (${found.label}, ${formatBucket(found.at, data.bucket)})`);
  return `${parts.join('; ')}.`;
}
