/** Latency statistics and a closed-loop load generator shared by every bench section. */

import { readFileSync } from 'node:fs';

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
  /** CPU time of the scenario's server process per operation (see {@link Scenario.serverCpuMs}), or NaN. */
  serverCpuMsPerOp: number;
}

export function summarize(
  latenciesMs: readonly number[],
  wallMs: number,
  cpuMs = Number.NaN,
  serverCpuMs = Number.NaN,
): Summary {
  const n = latenciesMs.length;
  return {
    cpuMsPerOp: n ? cpuMs / n : Number.NaN,
    serverCpuMsPerOp: n ? serverCpuMs / n : Number.NaN,
    n,
    p50: percentile(latenciesMs, 50),
    p99: percentile(latenciesMs, 99),
    mean: n ? latenciesMs.reduce((a, b) => a + b, 0) / n : Number.NaN,
    max: n ? Math.max(...latenciesMs) : Number.NaN,
    wallMs,
    perSecond: wallMs > 0 ? (n * 1000) / wallMs : Number.NaN,
  };
}

export interface Scenario {
  name: string;
  /** Workers, each with one operation in flight (a closed loop: the next starts when the previous returns). */
  concurrency: number;
  /** One operation; `i` counts this scenario's operations, `worker` is 0…concurrency-1 (to own a client or a connection). */
  run: (i: number, worker: number) => Promise<unknown>;
  /** Operations of this scenario, when its operations are larger or smaller than the others'. @default MeasureOptions.requests */
  requests?: number;
  /** Its untimed operations. @default MeasureOptions.warmup */
  warmup?: number;
  /** The CPU time a server process has used so far, ms (e.g. {@link processCpuMs} of an api process), to charge it per operation. */
  serverCpuMs?: () => number;
}

/** CPU time (user + system) a process has used so far, ms, from /proc (Linux); NaN elsewhere. 10 ms resolution. */
export function processCpuMs(pid: number): number {
  try {
    // Fields after the parenthesized command name; utime and stime are the 14th and 15th fields overall.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat's times, is 100 on every architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

export interface MeasureOptions {
  /** Operations timed per scenario. */
  requests: number;
  /**
   * The scenarios take turns in this many rounds, so that a change in the machine's load during the bench falls on
   * all of them alike instead of on whichever ran last. @default 10
   */
  rounds?: number;
  /** Untimed operations per scenario first (JIT, connection pools, caches). @default min(200, requests / 10) */
  warmup?: number;
  /** Called after each round. */
  onRound?: (round: number, rounds: number) => void;
}

/** The untimed operations before each scenario unless told otherwise. */
export const defaultWarmup = (requests: number) => Math.min(200, Math.floor(requests / 10));

/** Times `requests` operations of each scenario, interleaved in rounds after a warm-up; one Summary per scenario. */
export async function measureInterleaved(scenarios: readonly Scenario[], o: MeasureOptions): Promise<Summary[]> {
  const rounds = Math.max(1, Math.min(o.rounds ?? 10, o.requests));
  const warmup = o.warmup ?? defaultWarmup(o.requests);
  const state = scenarios.map(() => ({ latencies: [] as number[], wallMs: 0, cpuMs: 0, serverCpuMs: 0, next: 0 }));
  for (const [k, scenario] of scenarios.entries()) {
    const st = state[k] as (typeof state)[number];
    const w = scenario.warmup ?? warmup;
    if (w > 0) await loop(w, scenario, st.next, null);
    st.next += w;
  }
  for (let round = 0; round < rounds; round++) {
    for (const [k, scenario] of scenarios.entries()) {
      const total = scenario.requests ?? o.requests;
      const n = Math.floor(((round + 1) * total) / rounds) - Math.floor((round * total) / rounds);
      const st = state[k] as (typeof state)[number];
      const cpu = process.cpuUsage();
      const serverCpu = scenario.serverCpuMs?.() ?? Number.NaN;
      const t0 = performance.now();
      await loop(n, scenario, st.next, st.latencies);
      st.wallMs += performance.now() - t0;
      const used = process.cpuUsage(cpu);
      st.cpuMs += (used.user + used.system) / 1000;
      st.serverCpuMs += (scenario.serverCpuMs?.() ?? Number.NaN) - serverCpu;
      st.next += n;
    }
    o.onRound?.(round + 1, rounds);
  }
  return state.map((st) => summarize(st.latencies, st.wallMs, st.cpuMs, st.serverCpuMs));
}

/** One scenario on its own, in one round. */
export async function measure(scenario: Scenario, o: Omit<MeasureOptions, 'rounds'>): Promise<Summary> {
  const [summary] = await measureInterleaved([scenario], { ...o, rounds: 1 });
  return summary as Summary;
}

async function loop(total: number, scenario: Scenario, first: number, latencies: number[] | null): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(scenario.concurrency, total) }, async (_, worker) => {
      while (next < total) {
        const i = first + next++;
        const t0 = performance.now();
        await scenario.run(i, worker);
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

/**
 * Latency under an open-loop, constant-rate load (as wrk2 does): operation i is due at start + i / rate whether or not
 * earlier ones returned, and its latency counts from when it was due, so a stall shows in every call it delays
 * (coordinated omission is not hidden). `count` operations; their latencies in ms.
 */
export async function openLoop(rate: number, count: number, op: (i: number) => Promise<unknown>): Promise<number[]> {
  const latencies: number[] = [];
  const inFlight: Promise<void>[] = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inFlight.push(
      op(i).then(() => {
        latencies.push(performance.now() - due);
      }),
    );
  }
  await Promise.all(inFlight);
  return latencies;
}

/**
 * Latencies of `times` calls one after another, after one untimed call that warms the caches (the same pages in the
 * buffer cache as the api's own reads).
 */
export async function timeSequential(query: () => Promise<unknown>, times: number): Promise<number[]> {
  await query();
  const latencies: number[] = [];
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    await query();
    latencies.push(performance.now() - t0);
  }
  return latencies;
}
