/**
 * The read paths of what a write touched, over tRPC and REST: every one must answer 2xx (an accepted write stays
 * readable), and the values that should round-trip are compared.
 */
import { isDeepStrictEqual } from 'node:util';
import type { IdPools } from './arbitraries.ts';
import type { Answer, FuzzClient } from './fuzz-client.ts';

/** What a fuzz run knows about the api it drives. */
export interface FuzzState {
  client: FuzzClient;
  /** The second organization's API key. */
  keyB: string;
  pools: IdPools;
  /** Each own step's run, each own run's agent. */
  stepRun: Map<string, string>;
  runAgent: Map<string, string>;
  /** The trace id the fixture step of `pools.own.run[0]` carries (OTLP spans with it show in that run's trace). */
  fixtureTraceId: string;
  /** The run whose fixture step carries {@link fixtureTraceId}. */
  fixtureRunId: string;
  /** Writes pending OpenTelemetry spans to ClickHouse. */
  flushTraces(): Promise<void>;
}

export class ReadBackError extends Error {}

/** `answer` must be 2xx; returns its tRPC data (or REST JSON). */
export function ok(answer: Answer, what: string): unknown {
  if (answer.status < 200 || answer.status >= 300) {
    throw new ReadBackError(`${what} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  }
  return answer.data !== undefined && !(answer.data instanceof Buffer) ? answer.data : answer.json;
}

export function same(actual: unknown, expected: unknown, what: string): void {
  if (!isDeepStrictEqual(actual, expected)) {
    throw new ReadBackError(
      `${what}: read ${JSON.stringify(actual)?.slice(0, 300)}, wrote ${JSON.stringify(expected)?.slice(0, 300)}`,
    );
  }
}

export function contains(list: unknown, id: string, what: string): void {
  const items = Array.isArray(list) ? list : ((list as { items?: unknown[] })?.items ?? []);
  if (!items.some((item) => (item as { id?: string }).id === id))
    throw new ReadBackError(`${what} does not list ${id}`);
}

const q = (s: FuzzState, path: string, input: unknown) => s.client.trpc('query', path, input);
const get = (s: FuzzState, path: string, query?: Record<string, unknown>) => s.client.rest('GET', path, { query });

/** Every read of a run, tRPC and REST; returns tRPC's run, usage and page of messages. */
export async function readRun(s: FuzzState, runId: string) {
  const [run, usage, metrics, steps, messages, trace, traces, rRun, rUsage, rMetrics, rSteps, rMessages, rTrace] =
    await Promise.all([
      q(s, 'runs.retrieve', { runId }),
      q(s, 'runs.usage', { runId }),
      q(s, 'runs.metrics', { runId }),
      q(s, 'runs.steps', { runId, limit: 1000 }),
      q(s, 'runs.messages', { runId, limit: 1000 }),
      q(s, 'runs.trace', { runId }),
      q(s, 'providerTraces.list', { runId, limit: 1000 }),
      get(s, `/v1/runs/${runId}`),
      get(s, `/v1/runs/${runId}/usage`),
      get(s, `/v1/runs/${runId}/metrics`),
      get(s, `/v1/runs/${runId}/steps`, { limit: 1000 }),
      get(s, `/v1/runs/${runId}/messages`, { limit: 1000 }),
      get(s, `/v1/runs/${runId}/trace`),
    ]);
  const out = {
    run: ok(run, 'runs.retrieve') as Record<string, unknown>,
    usage: ok(usage, 'runs.usage') as Record<string, unknown>,
    metrics: ok(metrics, 'runs.metrics'),
    steps: ok(steps, 'runs.steps') as { items: { id: string }[] },
    messages: ok(messages, 'runs.messages') as { items: Record<string, unknown>[] },
    trace: ok(trace, 'runs.trace') as { spanId: string }[],
    traces: ok(traces, 'providerTraces.list'),
    rest: {
      run: ok(rRun, `GET /v1/runs/${runId}`) as Record<string, unknown>,
      usage: ok(rUsage, 'GET /v1/runs/R/usage'),
      metrics: ok(rMetrics, 'GET /v1/runs/R/metrics'),
      steps: ok(rSteps, 'GET /v1/runs/R/steps'),
      messages: ok(rMessages, 'GET /v1/runs/R/messages') as Record<string, unknown>[],
      trace: ok(rTrace, 'GET /v1/runs/R/trace'),
    },
  };
  const agentId = out.run.agentId as string;
  const [list, active, rList] = await Promise.all([
    q(s, 'runs.list', { agentId, limit: 1000 }),
    q(s, 'runs.listActive', { agentId, limit: 1000 }),
    get(s, '/v1/runs/', { agent_id: agentId, limit: 1000 }),
  ]);
  contains(ok(list, 'runs.list'), runId, 'runs.list({ agentId })');
  ok(active, 'runs.listActive');
  contains(ok(rList, 'GET /v1/runs/?agent_id'), runId, 'GET /v1/runs/?agent_id');
  return out;
}

/** Every read of a step, tRPC and REST (and of its run); returns tRPC's step. */
export async function readStep(s: FuzzState, stepId: string) {
  const [step, trace, rStep, rMetrics, rTrace, rMessages] = await Promise.all([
    q(s, 'steps.retrieve', { stepId }),
    q(s, 'steps.trace', { stepId }),
    get(s, `/v1/steps/${stepId}`),
    get(s, `/v1/steps/${stepId}/metrics`),
    get(s, `/v1/steps/${stepId}/trace`),
    get(s, `/v1/steps/${stepId}/messages`, { limit: 1000 }),
  ]);
  const out = {
    step: ok(step, 'steps.retrieve') as Record<string, unknown>,
    trace: ok(trace, 'steps.trace'),
    rest: {
      step: ok(rStep, `GET /v1/steps/${stepId}`) as Record<string, unknown>,
      metrics: ok(rMetrics, 'GET /v1/steps/S/metrics'),
      trace: ok(rTrace, 'GET /v1/steps/S/trace'),
      messages: ok(rMessages, 'GET /v1/steps/S/messages') as Record<string, unknown>[],
    },
  };
  const list = await get(s, '/v1/steps/', { agent_id: out.step.agentId, limit: 1000 });
  contains(ok(list, 'GET /v1/steps/?agent_id'), stepId, 'GET /v1/steps/?agent_id');
  await readRun(s, out.step.runId as string);
  return out;
}

/** Forgets a deleted run and everything of it. */
export function forgetRun(s: FuzzState, runId: string): void {
  const drop = (list: string[] | undefined, id: string) => {
    const i = list?.indexOf(id) ?? -1;
    if (i >= 0) list?.splice(i, 1);
  };
  drop(s.pools.own.run, runId);
  drop(s.pools.own.backgroundRun, runId);
  drop(s.pools.own.deletableRun, runId);
  for (const [stepId, of] of s.stepRun) {
    if (of === runId) {
      drop(s.pools.own.step, stepId);
      s.stepRun.delete(stepId);
    }
  }
}
