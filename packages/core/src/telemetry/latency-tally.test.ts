import { describe, expect, it, vi } from 'vitest';
import { bucketQuantile, LatencyTally } from './latency-tally.ts';
import { TimedTally } from './tally.ts';

describe('write latency per organization', () => {
  it('interpolates a quantile inside its bucket as histogram_quantile does, and caps the +Inf bucket', () => {
    const bounds = [0.001, 0.01, 0.1];
    expect(bucketQuantile(0.5, bounds, [0, 0, 0, 0])).toBeNull();
    // 10 in (0, 1 ms], 10 in (1, 10 ms]: the median is the top of the first bucket, p75 halfway into the second.
    expect(bucketQuantile(0.5, bounds, [10, 10, 0, 0])).toBeCloseTo(0.001, 9);
    expect(bucketQuantile(0.75, bounds, [10, 10, 0, 0])).toBeCloseTo(0.0055, 9);
    expect(bucketQuantile(0.99, bounds, [1, 0, 0, 9])).toBe(0.1);
  });

  it('keeps each organization its own buckets', () => {
    const tally = new LatencyTally([0.001, 0.01, 0.1]);
    for (let i = 0; i < 99; i++) tally.observe('org-a', 0.0005);
    tally.observe('org-a', 0.05);
    tally.observe('org-b', 0.05);
    expect(tally.of('org-a').count).toBe(100);
    expect(tally.of('org-a').p50Ms).toBeCloseTo(50 / 99, 9); // rank 50 of the 99 in (0, 1 ms]
    expect(tally.of('org-a').p99Ms).toBeLessThanOrEqual(1);
    expect(tally.of('org-b')).toMatchObject({ count: 1 });
    expect(tally.of('org-b').p50Ms).toBeGreaterThan(10);
    expect(tally.of('org-c')).toEqual({ count: 0, p50Ms: null, p99Ms: null });
  });

  it('a timed tally remembers when each organization last grew', () => {
    vi.useFakeTimers({ now: 1_000 });
    try {
      const tally = new TimedTally();
      tally.add('org-a', 0);
      expect(tally.lastAt('org-a')).toBeNull();
      tally.add('org-a');
      vi.setSystemTime(5_000);
      tally.add('org-b', 2);
      expect([tally.lastAt('org-a'), tally.lastAt('org-b'), tally.lastTotalAt, tally.total]).toEqual([
        1_000, 5_000, 5_000, 3,
      ]);
      tally.clear();
      expect([tally.lastAt('org-b'), tally.lastTotalAt, tally.total]).toEqual([null, null, 0]);
    } finally {
      vi.useRealTimers();
    }
  });
});
