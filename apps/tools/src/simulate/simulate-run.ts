import { isTRPCClientError, type RuntraceClient } from '@runtrace/client';
import type { SampleCall } from '../provider-samples.ts';
import type { Random } from '../random.ts';
import type { AgentProfile } from './agent-profiles.ts';
import { type EventInput, eventsForStep } from './events-for-step.ts';
import { messagesForStep } from './messages-for-step.ts';
import { type Outcome, stepCountFor } from './plan-outcomes.ts';
import { planStep, type RunClock, type SamplePools, samplePools, startClock } from './plan-step.ts';
import { exportSpans, runSpans, type StepTiming } from './run-spans.ts';

/** What one simulated run sent, and how it ended. */
export interface RunResult {
  index: number;
  agent: AgentProfile;
  runId: string | null;
  outcome: Outcome;
  status: string;
  steps: number;
  messages: number;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  background: boolean;
  /** Events appended to the run's stream (background runs). */
  events: number;
  /** Provider traces recorded: one per step, the sample call's request and response. */
  providerTraces: number;
  /** OTLP spans the api stored for the run's trace. */
  spans: number;
  /** Why spans were not stored (e.g. CLICKHOUSE_URL=off), or null. */
  spansRefused: string | null;
  ms: number;
  error: string | null;
}

/** Makes one api call; the caller counts them. */
export type CallApi = <T>(fn: () => Promise<T>) => Promise<T>;

export interface SimulateRunOptions {
  client: RuntraceClient;
  /** Where the run's spans are exported (OTLP/HTTP `/v1/traces`), with the client's API key. */
  apiUrl: string;
  apiKey?: string | undefined;
  call: CallApi;
  index: number;
  agent: AgentProfile;
  outcome: Outcome;
  calls: SampleCall[];
  rnd: Random;
  stepDelayMs: number;
  tokenDelayMs: number;
  backgroundShare: number;
}

/**
 * Records one run as an agent would: creates it and sets it running, records its steps (with their messages, and
 * streamed events for a background run), then ends it as `outcome` says. A failed call ends the simulation of the
 * run; `result.error` says why.
 */
export async function simulateRun(o: SimulateRunOptions): Promise<RunResult> {
  const t0 = performance.now();
  const result: RunResult = {
    index: o.index,
    agent: o.agent,
    runId: null,
    outcome: o.outcome,
    status: 'created',
    steps: 0,
    messages: 0,
    promptTokens: 0,
    completionTokens: 0,
    cachedTokens: 0,
    reasoningTokens: 0,
    background: false,
    events: 0,
    providerTraces: 0,
    spans: 0,
    spansRefused: null,
    ms: 0,
    error: null,
  };
  const pools = samplePools(o.calls, o.agent.provider);
  try {
    const runId = await startRun(o, result);
    const stepCount = stepCountFor(o.outcome, o.rnd);
    const clock = startClock();
    // One trace per run, as a Letta request is one trace: every step carries it, and the run's spans share it.
    const traceId = o.rnd.hex(32);
    const timings: StepTiming[] = [];
    for (let step = 0; step < stepCount; step++) {
      timings.push(await recordStep(o, result, { runId, traceId, step, last: step === stepCount - 1, pools, clock }));
      if (o.stepDelayMs) await new Promise((resolve) => setTimeout(resolve, o.stepDelayMs));
    }
    await endRun(o, result, runId, clock);
    const body = runSpans(
      { runId, traceId, agent: o.agent, startNs: clock.startNs, endNs: clock.nowNs, steps: timings },
      o.rnd,
    );
    const exported = await o.call(() => exportSpans(o.apiUrl, o.apiKey, body));
    result.spans = exported.spans;
    result.spansRefused = exported.refused;
  } catch (err) {
    result.error = describeError(err);
  }
  result.ms = performance.now() - t0;
  return result;
}

/** Creates the run (in the background or not, as chance says) and sets it running. */
async function startRun(o: SimulateRunOptions, result: RunResult): Promise<string> {
  const { client, call, agent, rnd } = o;
  const background = rnd.chance(o.backgroundShare);
  result.background = background;
  const run = await call(() =>
    client.runs.create.mutate({
      agentId: agent.id,
      background,
      conversationId: rnd.chance(0.5) ? `conv-${agent.name}-${rnd.int(1, 4)}` : null,
      metadata: { source: 'simulate', agentName: agent.name },
      requestConfig: { useAssistantMessage: true },
    }),
  );
  result.runId = run.id;
  await call(() => client.runs.update.mutate({ runId: run.id, status: 'running' }));
  result.status = 'running';
  return run.id;
}

/**
 * Records one step, its provider trace and its messages; a background run streams them first, as an agent streams
 * its step. Answers the step's timings, for the run's spans.
 */
async function recordStep(
  o: SimulateRunOptions,
  result: RunResult,
  at: { runId: string; traceId: string; step: number; last: boolean; pools: SamplePools; clock: RunClock },
): Promise<StepTiming> {
  const { client, call, agent, outcome, rnd } = o;
  const { runId, step, last } = at;
  const firstTokenPending = at.clock.ttftNs === null;
  const plan = planStep({ runId, agent, outcome, last, pools: at.pools, clock: at.clock, rnd });
  const { sample } = plan;
  const created = await call(() => client.steps.create.mutate({ ...plan.input, traceId: at.traceId }));
  result.steps++;
  await call(() =>
    client.providerTraces.create.mutate({
      requestJson: sample.requestJson,
      responseJson: sample.responseJson,
      runId,
      stepId: created.id,
      agentId: agent.id,
      callType: sample.callType,
    }),
  );
  result.providerTraces++;
  result.promptTokens += sample.promptTokens;
  result.completionTokens += sample.completionTokens;
  result.cachedTokens += Number(
    sample.promptTokensDetails?.cached_tokens ?? sample.promptTokensDetails?.cache_read_tokens ?? 0,
  );
  result.reasoningTokens += Number(sample.completionTokensDetails?.reasoning_tokens ?? 0);

  const { failsLlm, failsTool, callsTool } = plan;
  const messages = messagesForStep({
    step,
    stepId: created.id,
    sample,
    agent,
    outcome,
    last,
    failsLlm,
    failsTool,
    callsTool,
    rnd,
  });
  if (result.background) {
    // Live first, as an agent streams its step; the messages are recorded when the step is done.
    const events = eventsForStep(messages, { failsLlm, sample, rnd });
    result.events += await streamEvents(client, call, runId, events, o.tokenDelayMs);
  }
  if (messages.length) {
    await call(() => client.messages.create.mutate({ runId, messages }));
    result.messages += messages.length;
  }
  const toolCall = messages.find((m) => m.messageType === 'tool_call_message');
  const ns = (value: string | number | bigint | null | undefined) => (value == null ? null : BigInt(value));
  return {
    stepId: created.id,
    index: step,
    model: sample.model,
    providerName: sample.providerName,
    stepStartNs: ns(plan.input.stepStartNs)!,
    llmRequestStartNs: ns(plan.input.llmRequestStartNs)!,
    llmRequestNs: ns(plan.input.llmRequestNs)!,
    toolExecutionNs: ns(plan.input.toolExecutionNs),
    toolName: toolCall && 'toolCall' in toolCall ? (toolCall.toolCall?.name ?? null) : null,
    stepNs: ns(plan.input.stepNs)!,
    promptTokens: sample.promptTokens,
    completionTokens: sample.completionTokens,
    error: plan.failsLlm
      ? (sample.error?.message ?? 'provider error')
      : plan.failsTool
        ? 'tool raised TimeoutError after 30 s'
        : null,
    firstToken: firstTokenPending && at.clock.ttftNs !== null,
  };
}

/** Ends the run as its outcome says: cancelled, ended by its stream (background) or by an update; `running` stays open. */
async function endRun(o: SimulateRunOptions, result: RunResult, runId: string, clock: RunClock): Promise<void> {
  const { client, call, outcome } = o;
  const timing = {
    ...(clock.ttftNs !== null ? { ttftNs: clock.ttftNs.toString() } : {}),
    totalDurationNs: (clock.nowNs - clock.startNs).toString(),
  };
  if (outcome === 'cancelled') {
    // A background run's stream gets its stop_reason (cancelled) and end from the cancellation itself.
    const cancelled = await call(() => client.runs.cancel.mutate({ runId }));
    result.status = cancelled.status;
  } else if (outcome !== 'running' && result.background) {
    // The producer ends its stream: the stop reason sets the status; usage statistics close it, as Letta streams.
    await call(() => client.runs.update.mutate({ runId, ...timing }));
    const ended = await call(() =>
      client.runs.appendEvents.mutate({
        runId,
        events: [
          { messageType: 'stop_reason', stopReason: outcome },
          {
            messageType: 'usage_statistics',
            promptTokens: result.promptTokens,
            completionTokens: result.completionTokens,
            totalTokens: result.promptTokens + result.completionTokens,
            stepCount: result.steps,
            cachedInputTokens: result.cachedTokens,
            reasoningTokens: result.reasoningTokens,
          },
        ],
        end: true,
      }),
    );
    result.events += ended.ids.length;
    result.status = (await call(() => client.runs.retrieve.query({ runId }))).status;
  } else if (outcome !== 'running') {
    const ended = await call(() => client.runs.update.mutate({ runId, stopReason: outcome, ...timing }));
    result.status = ended.status;
  }
}

/** Appends a step's events: chunk by chunk with `tokenDelayMs` between them, else one append per message. */
async function streamEvents(
  client: RuntraceClient,
  call: CallApi,
  runId: string,
  groups: EventInput[][],
  tokenDelayMs: number,
): Promise<number> {
  let appended = 0;
  for (const group of groups) {
    if (!tokenDelayMs) {
      await call(() => client.runs.appendEvents.mutate({ runId, events: group }));
      appended += group.length;
      continue;
    }
    for (const event of group) {
      await call(() => client.runs.appendEvents.mutate({ runId, events: [event] }));
      appended++;
      await new Promise((resolve) => setTimeout(resolve, tokenDelayMs));
    }
  }
  return appended;
}

export function describeError(err: unknown): string {
  if (isTRPCClientError(err)) return `${err.data?.code ?? 'ERROR'}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
