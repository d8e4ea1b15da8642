import { describe, expect, it } from 'vitest';
import {
  emptyHistogram,
  HISTOGRAM_BOUNDS_NS,
  histogramBucket,
  percentileFromHistogram,
  percentilesFromHistogram,
} from './latency-histogram.ts';
import { addSparseHistogram } from './postgres-analytics.ts';

/** A deterministic pseudo-random generator, so a failure repeats. */
function lcg(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('percentilesFromHistogram', () => {
  it('answers each quantile as percentileFromHistogram does alone, in one pass', () => {
    const random = lcg(7);
    for (let trial = 0; trial < 200; trial++) {
      const counts = emptyHistogram().map(() => (random() < 0.7 ? 0 : Math.floor(random() * 50)));
      const quantiles = [0.01, 0.5, 0.9, 0.95, 0.99, 1];
      const together = percentilesFromHistogram(counts, quantiles);
      expect(together).toEqual(quantiles.map((q) => percentileFromHistogram(counts, q)));
    }
  });

  it('puts each nearest-rank percentile within the bucket of the exact value', () => {
    const random = lcg(11);
    const values = Array.from({ length: 5_000 }, () => BigInt(Math.round(1e6 * 2 ** (random() * 14))));
    const counts = emptyHistogram();
    for (const ns of values) counts[histogramBucket(ns)]! += 1;
    const sorted = [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const quantiles = [0.5, 0.95, 0.99];
    const answers = percentilesFromHistogram(counts, quantiles);
    quantiles.forEach((q, i) => {
      const exact = sorted[Math.ceil(q * sorted.length) - 1]!;
      const k = histogramBucket(exact);
      const lowerMs = Number(HISTOGRAM_BOUNDS_NS[k - 1]!) / 1e6;
      const upperMs = Number(HISTOGRAM_BOUNDS_NS[k]!) / 1e6;
      expect(answers[i]).toBeGreaterThanOrEqual(lowerMs - 0.001);
      expect(answers[i]).toBeLessThanOrEqual(upperMs + 0.001);
    });
  });

  it('answers null for every quantile of an empty histogram', () => {
    expect(percentilesFromHistogram(emptyHistogram(), [0.5, 0.99])).toEqual([null, null]);
  });
});

describe('addSparseHistogram', () => {
  it('adds the text of non-zero buckets, index:count, into the counts', () => {
    const counts = emptyHistogram();
    addSparseHistogram(counts, '0:3,12:40,71:1234567');
    addSparseHistogram(counts, '12:2');
    addSparseHistogram(counts, '');
    addSparseHistogram(counts, null);
    const expected = emptyHistogram();
    expected[0] = 3;
    expected[12] = 42;
    expected[71] = 1_234_567;
    expect(counts).toEqual(expected);
  });
});
