/**
 * Latency percentiles in analytics come from one log-scale histogram, the same on every engine (Postgres rollups,
 * raw Postgres, ClickHouse): each engine counts values per bucket with the integer bounds below, and
 * {@link percentileFromHistogram} turns counts into figures here. So every engine gives the same answer for the same
 * rows, and a rollup can merge hours by adding counts.
 *
 * Bucket 0 holds [0, 1 ms); bucket k (1 ≤ k < {@link HISTOGRAM_BUCKETS} − 1) holds [2^((k−1)/3), 2^(k/3)) ms; the
 * last bucket holds everything from 2^(70/3) ms (≈ 2.9 h) up. Three buckets per doubling bound the error of an
 * interpolated percentile by the bucket's width, 26%, and in practice by far less.
 */
export const HISTOGRAM_BUCKETS = 72;
const BUCKETS_PER_DOUBLING = 3;

/** Lower bounds in nanoseconds of buckets 1…71: `HISTOGRAM_BOUNDS_NS[k − 1]` is where bucket k starts. */
export const HISTOGRAM_BOUNDS_NS: readonly bigint[] = Array.from({ length: HISTOGRAM_BUCKETS - 1 }, (_, i) =>
  BigInt(Math.round(2 ** (i / BUCKETS_PER_DOUBLING) * 1e6)),
);

/** The bucket of a duration in nanoseconds (binary search over the integer bounds: no floating point). */
export function histogramBucket(ns: bigint): number {
  let lo = 0;
  let hi = HISTOGRAM_BOUNDS_NS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (HISTOGRAM_BOUNDS_NS[mid]! <= ns) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function emptyHistogram(): number[] {
  return new Array<number>(HISTOGRAM_BUCKETS).fill(0);
}

/**
 * The q-quantile (0 < q ≤ 1) in milliseconds of the values counted in `counts`, or null when there are none.
 * The rank is ⌈q·n⌉ (the nearest-rank definition); within its bucket the value is interpolated on the log scale, by
 * the rank's position among the bucket's count (linearly in bucket 0, which starts at 0). The last bucket has no
 * upper bound and answers its lower bound.
 */
export function percentileFromHistogram(counts: readonly number[], q: number): number | null {
  return percentilesFromHistogram(counts, [q])[0]!;
}

/**
 * {@link percentileFromHistogram} for several quantiles, ascending, in one pass over the counts: a timeseries asks
 * six per point for thousands of points.
 */
export function percentilesFromHistogram(counts: readonly number[], ascending: readonly number[]): (number | null)[] {
  let total = 0;
  for (let k = 0; k < counts.length; k++) total += counts[k]!;
  if (total === 0) return ascending.map(() => null);
  const answers: (number | null)[] = [];
  let before = 0;
  let k = 0;
  for (const q of ascending) {
    const rank = Math.max(1, Math.ceil(q * total));
    while (k < counts.length && before + counts[k]! < rank) before += counts[k++]!;
    if (k === counts.length) {
      answers.push(null);
      continue;
    }
    const position = (rank - before) / counts[k]!;
    if (k === 0) answers.push(roundMicros(position));
    else {
      const lower = 2 ** ((k - 1) / BUCKETS_PER_DOUBLING);
      answers.push(
        k === counts.length - 1 ? roundMicros(lower) : roundMicros(lower * 2 ** (position / BUCKETS_PER_DOUBLING)),
      );
    }
  }
  return answers;
}

/** Milliseconds to the microsecond: finer digits would claim a precision the histogram does not have. */
const roundMicros = (ms: number) => Math.round(ms * 1000) / 1000;
