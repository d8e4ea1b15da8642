import type { RouterInputs } from '@runtrace/client';
import type { SampleCall } from '../provider-samples.ts';
import type { Random } from '../random.ts';
import type { AgentProfile } from './agent-profiles.ts';
import type { Outcome } from './plan-outcomes.ts';

type StepInput = RouterInputs['steps']['create'];

/** A simulated clock: steps take realistic durations even though the simulation itself is fast. */
export interface RunClock {
  readonly startNs: bigint;
  /** Where the last step ended. */
  nowNs: bigint;
  /** Time to the first token, once a step's provider call has not failed. */
  ttftNs: bigint | null;
}

export function startClock(): RunClock {
  const startNs = BigInt(Date.now()) * 1_000_000n;
  return { startNs, nowNs: startNs, ttftNs: null };
}

/** The sample calls an agent's steps draw from: its provider's successful agent steps, and one failed call. */
export interface SamplePools {
  pool: SampleCall[];
  errorCall: SampleCall | null;
}

export function samplePools(calls: SampleCall[], provider: AgentProfile['provider']): SamplePools {
  const usable = calls.filter((c) => !c.error && c.callType === 'agent_step');
  const own = usable.filter((c) => c.providerName === provider);
  const errors = calls.filter((c) => c.error);
  return {
    pool: own.length ? own : usable.length ? usable : calls,
    errorCall: errors.find((c) => c.providerName === provider) ?? errors[0] ?? null,
  };
}

export interface StepPlanOptions {
  runId: string;
  agent: AgentProfile;
  outcome: Outcome;
  /** The run's last step: it carries the outcome (a failure, or the final answer). */
  last: boolean;
  pools: SamplePools;
  clock: RunClock;
  rnd: Random;
}

/** What one step does: the sample call it replays, how it fails, and the steps.create input, timed on `clock`. */
export interface StepPlan {
  sample: SampleCall;
  failsLlm: boolean;
  failsTool: boolean;
  callsTool: boolean;
  input: StepInput;
}

/** Plans a step and advances the run's clock past it. */
export function planStep(o: StepPlanOptions): StepPlan {
  const { last, outcome, clock, rnd } = o;
  const failsLlm = last && outcome === 'llm_api_error' && o.pools.errorCall !== null;
  const failsTool = last && outcome === 'error';
  const sample = failsLlm ? (o.pools.errorCall as SampleCall) : rnd.pick(o.pools.pool);
  const ms = (n: number) => BigInt(Math.round(n * 1e6));
  const stepStartNs = clock.nowNs;
  const llmRequestStartNs = stepStartNs + ms(rnd.int(2, 15));
  const llmRequestNs = ms(failsLlm ? rnd.int(80, 400) : rnd.int(450, 3200));
  const callsTool = !failsLlm && !(last && outcome === 'end_turn');
  const toolExecutionNs = callsTool ? ms(rnd.int(15, 900)) : null;
  const stepNs = llmRequestStartNs - stepStartNs + llmRequestNs + (toolExecutionNs ?? 0n) + ms(rnd.int(1, 6));
  clock.nowNs = stepStartNs + stepNs;
  if (clock.ttftNs === null && !failsLlm)
    clock.ttftNs = llmRequestStartNs - clock.startNs + (llmRequestNs * 35n) / 100n;

  const input: StepInput = {
    runId: o.runId,
    providerName: sample.providerName,
    providerCategory: 'base',
    model: sample.model,
    modelEndpoint: sample.providerName === 'openai' ? 'https://api.openai.com/v1' : 'https://api.anthropic.com/v1',
    contextWindowLimit: sample.providerName === 'openai' ? 128_000 : 200_000,
    promptTokens: sample.promptTokens,
    completionTokens: sample.completionTokens,
    totalTokens: sample.totalTokens,
    promptTokensDetails: sample.promptTokensDetails,
    completionTokensDetails: sample.completionTokensDetails,
    stopReason: last && outcome !== 'running' && outcome !== 'cancelled' ? outcome : null,
    tags: ['simulate', o.agent.name],
    traceId: rnd.hex(32),
    requestId: sample.responseId,
    status: failsLlm || failsTool ? 'failed' : 'success',
    errorType: failsLlm ? (sample.error?.type ?? 'provider_error') : failsTool ? 'tool_execution_error' : null,
    errorData: failsLlm
      ? (sample.error?.data ?? null)
      : failsTool
        ? { message: 'tool raised TimeoutError after 30 s' }
        : null,
    stepStartNs: stepStartNs.toString(),
    llmRequestStartNs: llmRequestStartNs.toString(),
    llmRequestNs: llmRequestNs.toString(),
    toolExecutionNs: toolExecutionNs?.toString() ?? null,
    stepNs: stepNs.toString(),
  };
  return { sample, failsLlm, failsTool, callsTool, input };
}
