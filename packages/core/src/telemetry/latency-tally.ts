/** Write latency of one backend as a health view shows it: how many writes, and their median and 99th percentile. */
export interface LatencySummary {
  /** Writes observed (successful awaited writes). */
  count: number;
  /** Estimated from the histogram's buckets as Prometheus' histogram_quantile does; null without writes. */
  p50Ms: number | null;
  p99Ms: number | null;
}

/**
 * The `q` quantile (0–1) of a histogram given by its upper bounds (ascending, in seconds) and the count in each bucket
 * (one more than the bounds: the last is +Inf), interpolated linearly inside the bucket it falls in, as Prometheus'
 * `histogram_quantile` does; a quantile in the +Inf bucket is the highest finite bound. Null when nothing was counted.
 */
export function bucketQuantile(q: number, bounds: readonly number[], counts: readonly number[]): number | null {
  const total = counts.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const inBucket = counts[i] ?? 0;
    if (below + inBucket >= rank && inBucket > 0) {
      if (i >= bounds.length) return bounds[bounds.length - 1] ?? null;
      const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0);
      const upper = bounds[i] ?? lower;
      return lower + (upper - lower) * ((rank - below) / inBucket);
    }
    below += inBucket;
  }
  return bounds[bounds.length - 1] ?? null;
}

/**
 * Bucket counts of a latency histogram per organization (the same buckets as the Prometheus histogram beside it), so
 * that a tenant's health view shows the latency of its own writes, not everyone's.
 */
export class LatencyTally {
  readonly #bounds: readonly number[];
  readonly #by = new Map<string, number[]>();

  /** @param bounds the buckets' upper bounds in seconds, ascending (+Inf is implied). */
  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
  }

  observe(organizationId: string, seconds: number): void {
    let counts = this.#by.get(organizationId);
    if (!counts) {
      counts = new Array<number>(this.#bounds.length + 1).fill(0);
      this.#by.set(organizationId, counts);
    }
    let i = 0;
    while (i < this.#bounds.length && seconds > (this.#bounds[i] as number)) i++;
    counts[i] = (counts[i] ?? 0) + 1;
  }

  /** The organization's writes: count, p50 and p99 in milliseconds. */
  of(organizationId: string): LatencySummary {
    const counts = this.#by.get(organizationId) ?? [];
    const ms = (q: number) => {
      const seconds = bucketQuantile(q, this.#bounds, counts);
      return seconds === null ? null : seconds * 1000;
    };
    return { count: counts.reduce((sum, n) => sum + n, 0), p50Ms: ms(0.5), p99Ms: ms(0.99) };
  }
}
