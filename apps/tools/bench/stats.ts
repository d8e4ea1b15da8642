/** Latency statistics and a closed-loop load generator shared by every bench section. */

/** The nearest-rank percentile (p in 0–100) of unsorted values: p99 of 2,000 samples is the 1,980th smallest. */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export interface Summary {
  /** Measured operations (warm-up excluded). */
  n: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
  /** Wall time of the measured phase, ms. */
  wallMs: number;
  /** Operations per second over the measured phase. */
  perSecond: number;
  /**
   * CPU time this process spent per operation (user + system, all threads): for HTTP scenarios the api and the
   * client together, for SQL baselines the driver. Latency at concurrency c cannot go below about c × this when the
   * process is the bottleneck.
   */
  cpuMsPerOp: number;
}

export function summarize(latenciesMs: readonly number[], wallMs: number, cpuMs = Number.NaN): Summary {
  const n = latenciesMs.length;
  return {
    cpuMsPerOp: n ? cpuMs / n : Number.NaN,
    n,
    p50: percentile(latenciesMs, 50),
    p99: percentile(latenciesMs, 99),
    mean: n ? latenciesMs.reduce((a, b) => a + b, 0) / n : Number.NaN,
    max: n ? Math.max(...latenciesMs) : Number.NaN,
    wallMs,
    perSecond: wallMs > 0 ? (n * 1000) / wallMs : Number.NaN,
  };
}

export interface MeasureOptions {
  /** Operations to time. */
  requests: number;
  /** Workers, each with one operation in flight (a closed loop: the next starts when the previous returns). */
  concurrency: number;
  /** Untimed operations first, at the same concurrency (JIT, connection pools, caches). @default min(200, requests / 10) */
  warmup?: number;
  /** One operation; `worker` is 0…concurrency-1, so a worker can own a client or a connection. */
  run: (i: number, worker: number) => Promise<unknown>;
}

/** Runs `requests` operations over `concurrency` workers and returns the latency of each, after a warm-up. */
export async function measure(o: MeasureOptions): Promise<Summary> {
  const warmup = o.warmup ?? Math.min(200, Math.floor(o.requests / 10));
  if (warmup > 0) await loop(warmup, o.concurrency, o.run, null);
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  await loop(o.requests, o.concurrency, o.run, latencies);
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return summarize(latencies, wallMs, (used.user + used.system) / 1000);
}

async function loop(
  total: number,
  concurrency: number,
  run: MeasureOptions['run'],
  latencies: number[] | null,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async (_, worker) => {
      while (next < total) {
        const i = next++;
        const t0 = performance.now();
        await run(i, worker);
        latencies?.push(performance.now() - t0);
      }
    }),
  );
}

/** `1234567` → `1,234,567`. */
export const int = (n: number) => Math.round(n).toLocaleString('en-US');

/** Milliseconds with two significant decimals below 10, one above. */
export const ms = (n: number) => (Number.isNaN(n) ? '—' : n < 10 ? n.toFixed(2) : n < 1000 ? n.toFixed(1) : int(n));

/** A ratio as `1.23×`, or `—`. */
export const ratio = (n: number) => (Number.isFinite(n) ? `${n < 0.01 ? n.toFixed(4) : n.toFixed(2)}×` : '—');

/** Seconds, e.g. `12.3 s`. */
export const seconds = (msValue: number) => `${(msValue / 1000).toFixed(1)} s`;
