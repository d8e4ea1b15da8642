import { routeHref } from './route.ts';
import { parseTimeRange, type TimeRange, writeTimeRange } from './time-range.ts';

/** What the overview's charts are split by (`analytics.timeseries` groupBy). */
export const OVERVIEW_GROUPS = [
  { key: 'agent', label: 'Agent' },
  { key: 'model', label: 'Model' },
] as const;
export type OverviewGroup = (typeof OVERVIEW_GROUPS)[number]['key'];

/** Which percentile the latency charts draw. */
export const OVERVIEW_PERCENTILES = ['p50', 'p95'] as const;
export type OverviewPercentile = (typeof OVERVIEW_PERCENTILES)[number];

/**
 * The overview as the URL holds it (`#/overview?range=7d&group=model&pct=p50`): Back, reload and a shared link show
 * the same charts.
 */
export interface OverviewView {
  range: TimeRange;
  group: OverviewGroup;
  percentile: OverviewPercentile;
}

/** What the overview shows when the URL names nothing. */
export const DEFAULT_OVERVIEW_VIEW: OverviewView = { range: { preset: '24h' }, group: 'agent', percentile: 'p95' };

/** The view in the URL's params; unknown values fall back to the defaults (a stale link still opens). */
export function parseOverviewView(params: URLSearchParams): OverviewView {
  const group = params.get('group');
  const percentile = params.get('pct');
  return {
    range: parseTimeRange(params) ?? DEFAULT_OVERVIEW_VIEW.range,
    group: OVERVIEW_GROUPS.some((g) => g.key === group) ? (group as OverviewGroup) : DEFAULT_OVERVIEW_VIEW.group,
    percentile: OVERVIEW_PERCENTILES.includes(percentile as OverviewPercentile)
      ? (percentile as OverviewPercentile)
      : DEFAULT_OVERVIEW_VIEW.percentile,
  };
}

/** A link to the overview showing `view`; the range is always written, the other defaults are left out. */
export function overviewHref(view: OverviewView): string {
  const params = writeTimeRange(new URLSearchParams(), view.range);
  if (view.group !== DEFAULT_OVERVIEW_VIEW.group) params.set('group', view.group);
  if (view.percentile !== DEFAULT_OVERVIEW_VIEW.percentile) params.set('pct', view.percentile);
  return routeHref({ page: 'overview', params });
}

export type Bucket = 'hour' | 'day';

export const BUCKET_MS: Record<Bucket, number> = { hour: 3_600_000, day: 86_400_000 };

/**
 * The longest range drawn by the hour: 7 days (168 hourly points), and the two minutes a preset's bounds are rounded
 * out to (time-range.ts: whole minutes).
 */
export const HOURLY_UP_TO_MS = 7 * 86_400_000 + 2 * 60_000;

/**
 * The bucket the charts use for a range: hours up to 7 days (at most 169 points, enough to see a day's cycle at
 * 24 h and 7 d), days beyond (30 days is 31 points instead of 720: bars stay wider than a pixel on a phone, and the
 * answer is 24× smaller).
 */
export function chooseBucket(range: { from: string; to: string }): Bucket {
  return Date.parse(range.to) - Date.parse(range.from) <= HOURLY_UP_TO_MS ? 'hour' : 'day';
}

/**
 * The starts (epoch ms) of the UTC buckets that cover [from, to): what the api's points are keyed by. The first
 * may start before `from` and the last reach past `to`; the api's points cover whole buckets too.
 */
export function bucketStarts(range: { from: string; to: string }, bucket: Bucket): number[] {
  const size = BUCKET_MS[bucket];
  const first = Math.floor(Date.parse(range.from) / size) * size;
  const end = Date.parse(range.to);
  const starts: number[] = [];
  for (let t = first; t < end; t += size) starts.push(t);
  return starts;
}

/** The custom range of one bucket, for a link to the runs it holds. */
export function bucketRange(start: number, bucket: Bucket): { from: string; to: string } {
  return { from: new Date(start).toISOString(), to: new Date(start + BUCKET_MS[bucket]).toISOString() };
}
