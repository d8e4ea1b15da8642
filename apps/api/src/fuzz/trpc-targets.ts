import { agentListTarget, agentTargets } from './agent-targets.ts';
import { analyticsTargets } from './analytics-targets.ts';
import { messageTargets } from './message-targets.ts';
import { priceTargets } from './price-targets.ts';
import { providerTraceTargets } from './provider-trace-targets.ts';
import { retentionTargets } from './retention-targets.ts';
import { runTargets } from './run-targets.ts';
import { stepTargets } from './step-targets.ts';
import type { Target } from './target.ts';

/**
 * Every tRPC procedure's generator. The order of the entries is the order cases are drawn in: keep it, so that a
 * recorded RUNTRACE_FUZZ_SEED and RUNTRACE_FUZZ_PATH replay the same input.
 */
export function trpcTargets(): Map<string, Target> {
  return new Map<string, Target>([
    ...runTargets(),
    ...stepTargets(),
    ...messageTargets(),
    agentListTarget(),
    ...providerTraceTargets(),
    ...retentionTargets(),
    ...agentTargets(),
    ...priceTargets(),
    ...analyticsTargets(),
  ]);
}
