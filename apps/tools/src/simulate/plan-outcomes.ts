import type { Random } from '../random.ts';

/** How a simulated run ends; `running` runs are left open on purpose, as crashed or slow producers leave them. */
export type Outcome = 'end_turn' | 'max_steps' | 'error' | 'llm_api_error' | 'cancelled' | 'running';

/** Shares of each outcome; end_turn takes the rest. */
const OUTCOME_SHARES: [Exclude<Outcome, 'end_turn'>, number][] = [
  ['max_steps', 0.08],
  ['error', 0.07],
  ['llm_api_error', 0.07],
  ['cancelled', 0.03],
  ['running', 0.08],
];
const MAX_STEPS = 5;

/** Exact shares of each outcome (at least one of each from 10 runs up), in a shuffled order. */
export function planOutcomes(runs: number, rnd: Random): Outcome[] {
  const plan: Outcome[] = [];
  for (const [outcome, share] of OUTCOME_SHARES) {
    const n = Math.max(runs >= 10 ? 1 : 0, Math.round(runs * share));
    for (let i = 0; i < n && plan.length < runs; i++) plan.push(outcome);
  }
  while (plan.length < runs) plan.push('end_turn');
  return rnd.shuffle(plan);
}

/** How many steps a run with this outcome takes. */
export function stepCountFor(outcome: Outcome, rnd: Random): number {
  return outcome === 'max_steps'
    ? MAX_STEPS
    : outcome === 'cancelled'
      ? rnd.int(1, 2)
      : outcome === 'end_turn'
        ? rnd.int(1, 4)
        : rnd.int(1, 3);
}
