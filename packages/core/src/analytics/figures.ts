import { formatUsd } from '../pricing/money.ts';
import { emptyHistogram, percentilesFromHistogram } from './latency-histogram.ts';
import type { AnalyticsFigures } from './schemas.ts';

/**
 * What every engine sums for one bucket and group before figures are derived: plain counts and sums, which add up
 * across hours, shards and engines. Engines return these; {@link toFigures} is the one place they become answers.
 */
export interface AggregateSums {
  runs: number;
  failedRuns: number;
  steps: number;
  stepErrors: number;
  inputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  totalTokens: number;
  costPusd: bigint;
  unpricedTokens: number;
  llmNs: bigint;
  /** Counts per bucket of latency-histogram.ts, HISTOGRAM_BUCKETS long. */
  durationHistogram: number[];
  ttftHistogram: number[];
}

/**
 * Zero sums. `histogram` stands for both histograms when given (an engine that keeps its counts elsewhere until it
 * computes figures); otherwise each gets a fresh array of zeros.
 */
export function emptySums(histogram?: number[]): AggregateSums {
  return {
    runs: 0,
    failedRuns: 0,
    steps: 0,
    stepErrors: 0,
    inputTokens: 0,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
    totalTokens: 0,
    costPusd: 0n,
    unpricedTokens: 0,
    llmNs: 0n,
    durationHistogram: histogram ?? emptyHistogram(),
    ttftHistogram: histogram ?? emptyHistogram(),
  };
}

/** Adds `b` into `a` (histograms bucket by bucket) and returns `a`. */
export function addSums(a: AggregateSums, b: AggregateSums): AggregateSums {
  a.runs += b.runs;
  a.failedRuns += b.failedRuns;
  a.steps += b.steps;
  a.stepErrors += b.stepErrors;
  a.inputTokens += b.inputTokens;
  a.cachedInputTokens += b.cachedInputTokens;
  a.cacheWriteTokens += b.cacheWriteTokens;
  a.outputTokens += b.outputTokens;
  a.reasoningTokens += b.reasoningTokens;
  a.totalTokens += b.totalTokens;
  a.costPusd += b.costPusd;
  a.unpricedTokens += b.unpricedTokens;
  a.llmNs += b.llmNs;
  for (let k = 0; k < a.durationHistogram.length; k++) {
    a.durationHistogram[k]! += b.durationHistogram[k] ?? 0;
    a.ttftHistogram[k]! += b.ttftHistogram[k] ?? 0;
  }
  return a;
}

const QUANTILES = [0.5, 0.95, 0.99];
const percentilesOf = (histogram: readonly number[]) => {
  const [p50, p95, p99] = percentilesFromHistogram(histogram, QUANTILES);
  return p50 == null ? null : { p50, p95: p95!, p99: p99! };
};

export function toFigures(s: AggregateSums): AnalyticsFigures {
  return {
    runs: s.runs,
    failedRuns: s.failedRuns,
    errorRate: s.runs === 0 ? null : s.failedRuns / s.runs,
    steps: s.steps,
    stepErrors: s.stepErrors,
    tokens: {
      input: s.inputTokens,
      cachedInput: s.cachedInputTokens,
      cacheWrite: s.cacheWriteTokens,
      output: s.outputTokens,
      reasoning: s.reasoningTokens,
      total: s.totalTokens,
    },
    costUsd: formatUsd(s.costPusd),
    unpricedTokens: s.unpricedTokens,
    runDurationMs: percentilesOf(s.durationHistogram),
    ttftMs: percentilesOf(s.ttftHistogram),
    llmMs: Number(s.llmNs / 1000n) / 1000,
  };
}
