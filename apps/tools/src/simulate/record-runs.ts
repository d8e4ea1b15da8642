import type { AgentProfile } from './agent-profiles.ts';
import type { Outcome } from './plan-outcomes.ts';
import { progressLine } from './print-summary.ts';
import { type RunResult, type SimulateRunOptions, simulateRun } from './simulate-run.ts';

export interface RecordRunsOptions extends Omit<SimulateRunOptions, 'call' | 'index' | 'agent' | 'outcome'> {
  /** One run for each planned outcome. */
  plan: Outcome[];
  /** The agents, taken in turn. */
  agents: AgentProfile[];
  concurrency: number;
}

/**
 * Records one run for each planned outcome, `concurrency` at a time, printing a progress line as each ends.
 * Answers their results (in the order they ended) and how many api calls they made.
 */
export async function recordRuns(o: RecordRunsOptions): Promise<{ results: RunResult[]; requests: number }> {
  const { plan, agents, concurrency, ...shared } = o;
  const runs = plan.length;
  const results: RunResult[] = [];
  let next = 0;
  let done = 0;
  let requests = 0;
  const counted = async <T>(call: () => Promise<T>): Promise<T> => {
    requests++;
    return call();
  };

  await Promise.all(
    Array.from({ length: Math.min(concurrency, runs) }, async () => {
      while (next < runs) {
        const index = next++;
        const agent = agents[index % agents.length] as AgentProfile;
        const result = await simulateRun({ ...shared, call: counted, index, agent, outcome: plan[index] as Outcome });
        results.push(result);
        done++;
        console.log(progressLine(result, done, runs));
      }
    }),
  );
  return { results, requests };
}
