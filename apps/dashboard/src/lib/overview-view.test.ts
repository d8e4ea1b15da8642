import { describe, expect, it } from 'vitest';
import {
  BUCKET_MS,
  bucketRange,
  bucketStarts,
  chooseBucket,
  DEFAULT_OVERVIEW_VIEW,
  type OverviewView,
  overviewHref,
  parseOverviewView,
} from './overview-view.ts';
import { parseRoute } from './route.ts';

const paramsOf = (href: string) => (parseRoute(href) as { params: URLSearchParams }).params;

describe('the overview in the URL', () => {
  it('round-trips range, grouping and percentile through the hash', () => {
    const view: OverviewView = {
      range: { from: '2026-11-01T00:00:00.000Z', to: '2026-11-02T12:00:00.000Z' },
      group: 'model',
      percentile: 'p50',
    };
    const href = overviewHref(view);
    expect(parseRoute(href).page).toBe('overview');
    expect(parseOverviewView(paramsOf(href))).toEqual(view);
    expect(overviewHref({ range: { preset: '7d' }, group: 'model', percentile: 'p95' })).toBe(
      '#/overview?range=7d&group=model',
    );
  });

  it('defaults to the last 24 hours by agent at p95, and ignores what it cannot read', () => {
    expect(parseOverviewView(new URLSearchParams())).toEqual(DEFAULT_OVERVIEW_VIEW);
    expect(DEFAULT_OVERVIEW_VIEW).toEqual({ range: { preset: '24h' }, group: 'agent', percentile: 'p95' });
    expect(parseOverviewView(new URLSearchParams('group=provider&pct=p42&range=2y'))).toEqual(DEFAULT_OVERVIEW_VIEW);
    expect(overviewHref(DEFAULT_OVERVIEW_VIEW)).toBe('#/overview?range=24h');
  });
});

describe('the bucket of a range', () => {
  const span = (hours: number) => ({
    from: '2026-11-01T10:30:00.000Z',
    to: new Date(Date.parse('2026-11-01T10:30:00.000Z') + hours * 3_600_000).toISOString(),
  });

  it('is the hour up to 7 days, the day beyond', () => {
    expect(chooseBucket(span(1))).toBe('hour');
    expect(chooseBucket(span(24))).toBe('hour');
    expect(chooseBucket(span(7 * 24))).toBe('hour');
    // The 7-day preset as queried: whole minutes, the end rounded up.
    expect(chooseBucket({ from: '2026-11-01T10:30:00Z', to: '2026-11-08T10:32:00Z' })).toBe('hour');
    expect(chooseBucket(span(7 * 24 + 1))).toBe('day');
    expect(chooseBucket(span(30 * 24))).toBe('day');
  });

  it('covers the range with whole UTC buckets, the first from before `from`', () => {
    const hours = bucketStarts(span(3), 'hour');
    expect(hours.map((t) => new Date(t).toISOString())).toEqual([
      '2026-11-01T10:00:00.000Z',
      '2026-11-01T11:00:00.000Z',
      '2026-11-01T12:00:00.000Z',
      '2026-11-01T13:00:00.000Z',
    ]);
    // 30 days from mid-morning touch 31 UTC days; 7 days by the hour are 169 points at most.
    expect(bucketStarts(span(30 * 24), 'day')).toHaveLength(31);
    expect(bucketStarts(span(7 * 24), 'hour')).toHaveLength(169);
    expect(bucketStarts({ from: '2026-11-01T10:00:00Z', to: '2026-11-01T12:00:00Z' }, 'hour')).toHaveLength(2);
  });

  it('gives a bucket its own custom range, for links to its runs', () => {
    const start = Date.parse('2026-11-05T00:00:00Z');
    expect(bucketRange(start, 'day')).toEqual({ from: '2026-11-05T00:00:00.000Z', to: '2026-11-06T00:00:00.000Z' });
    expect(Date.parse(bucketRange(start, 'hour').to) - start).toBe(BUCKET_MS.hour);
  });
});
