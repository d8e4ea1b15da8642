/**
 * `pnpm simulate`: records realistic agent runs through the typed client against a running api.
 *
 *   pnpm start &                                   # an api on http://127.0.0.1:8283
 *   pnpm simulate -- --runs 50 --concurrency 4
 *
 * Token counts, models, tool calls, thinking and provider errors come from shared/data/provider-traces.sample.ndjson.
 */
import { randomUUID } from 'node:crypto';
import { ConfigError, loadConfig } from '@runtrace/core';
import { createRuntraceClient, isTRPCClientError, type RouterInputs, type RuntraceClient } from '@runtrace/client';
import { intFlag, parseFlags } from './args.ts';
import { describeCall, loadProviderSamples, type SampleCall } from './provider-samples.ts';
import { createRandom, type Random, stableId } from './random.ts';

type StepInput = RouterInputs['steps']['create'];
type MessageInput = RouterInputs['messages']['create']['messages'][number];
type EventInput = RouterInputs['runs']['appendEvents']['events'][number];

/** How a simulated run ends; `running` runs are left open on purpose, as crashed or slow producers leave them. */
type Outcome = 'end_turn' | 'max_steps' | 'error' | 'llm_api_error' | 'cancelled' | 'running';

/** Shares of each outcome; end_turn takes the rest. */
const OUTCOME_SHARES: [Exclude<Outcome, 'end_turn'>, number][] = [
  ['max_steps', 0.08],
  ['error', 0.07],
  ['llm_api_error', 0.07],
  ['cancelled', 0.03],
  ['running', 0.08],
];
const MAX_STEPS = 5;

interface AgentProfile {
  name: string;
  id: string;
  provider: 'openai' | 'anthropic';
  tools: string[];
}

const AGENT_PROFILES: Omit<AgentProfile, 'id'>[] = [
  { name: 'weather-bot', provider: 'openai', tools: ['archival_memory_search', 'web_search'] },
  { name: 'support-triage', provider: 'anthropic', tools: ['conversation_search', 'archival_memory_search'] },
  { name: 'research-assistant', provider: 'anthropic', tools: ['web_search', 'fetch_webpage', 'archival_memory_insert'] },
  { name: 'travel-planner', provider: 'openai', tools: ['web_search', 'core_memory_append'] },
  { name: 'code-reviewer', provider: 'openai', tools: ['run_code', 'conversation_search'] },
  { name: 'sales-copilot', provider: 'anthropic', tools: ['archival_memory_search', 'core_memory_replace'] },
];

const USAGE = `pnpm simulate [-- options]

Records realistic agent runs (steps, token usage, messages, stop reasons) through the typed client.

  --url <url>          the api (default RUNTRACE_URL or http://127.0.0.1:8283)
  --api-key <key>      an API key (default RUNTRACE_API_KEY; none → the default organization)
  --runs <n>           how many runs (default 20)
  --agents <n>         over how many agents, 1-${AGENT_PROFILES.length} (default 3)
  --concurrency <n>    runs recorded at once (default 4)
  --step-delay <ms>    pause between steps, to watch runs live in a dashboard (default 0)
  --background <pct>   share of background runs, 0-100 (default 30); they stream their events token by token
                       through runs.appendEvents: watch one with \`pnpm watch-run <runId>\`
  --token-delay <ms>   pause between the streamed chunks of a background run (default 0: each message's chunks
                       in one append); e.g. 30 to watch tokens arrive
  --seed <n>           replay the same choices (default random)`;

interface RunResult {
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
  ms: number;
  error: string | null;
}

async function main() {
  const flags = parseFlags({
    url: { type: 'string' },
    'api-key': { type: 'string' },
    runs: { type: 'string' },
    agents: { type: 'string' },
    concurrency: { type: 'string' },
    'step-delay': { type: 'string' },
    background: { type: 'string' },
    'token-delay': { type: 'string' },
    seed: { type: 'string' },
  });
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  const config = loadConfig();
  const url = flags.url ?? config.apiUrl;
  const apiKey = flags['api-key'] ?? config.apiKey;
  const runs = intFlag('runs', flags.runs, 20);
  const agentCount = Math.min(intFlag('agents', flags.agents, 3), AGENT_PROFILES.length);
  const concurrency = intFlag('concurrency', flags.concurrency, 4);
  const stepDelayMs = flags['step-delay'] === undefined ? 0 : intFlag('step-delay', flags['step-delay'], 0);
  const tokenDelayMs = flags['token-delay'] === undefined ? 0 : intFlag('token-delay', flags['token-delay'], 0);
  const backgroundShare = percentFlag('background', flags.background, 30) / 100;
  const rnd = createRandom(flags.seed === undefined ? undefined : intFlag('seed', flags.seed, 1));

  const { samples, source } = loadProviderSamples();
  const calls = samples.map(describeCall);
  const agents: AgentProfile[] = AGENT_PROFILES.slice(0, agentCount).map((p) => ({ ...p, id: stableId('agent', p.name) }));

  console.log(`Runtrace simulate → ${url}${apiKey ? ' (with API key)' : ' (default organization)'}`);
  console.log(`  provider samples: ${source} (${calls.length} calls)`);
  console.log(
    `  ${runs} runs over ${agents.length} agents, concurrency ${concurrency}, ${Math.round(backgroundShare * 100)}% background ` +
      `(streamed${tokenDelayMs ? `, ${tokenDelayMs} ms between chunks` : ''}), seed ${rnd.seed}\n`,
  );

  await checkHealth(url);
  const client = createRuntraceClient({ url, apiKey });
  const plan = planOutcomes(runs, rnd);
  const results: RunResult[] = [];
  const started = performance.now();
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
        const result = await simulateRun({
          client,
          call: counted,
          index,
          agent,
          outcome: plan[index] as Outcome,
          calls,
          rnd,
          stepDelayMs,
          tokenDelayMs,
          backgroundShare,
        });
        results.push(result);
        done++;
        console.log(progressLine(result, done, runs));
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const ok = await printSummary(client, results, requests, seconds);
  return ok ? 0 : 1;
}

/** Exact shares of each outcome (at least one of each from 10 runs up), in a shuffled order. */
function planOutcomes(runs: number, rnd: Random): Outcome[] {
  const plan: Outcome[] = [];
  for (const [outcome, share] of OUTCOME_SHARES) {
    const n = Math.max(runs >= 10 ? 1 : 0, Math.round(runs * share));
    for (let i = 0; i < n && plan.length < runs; i++) plan.push(outcome);
  }
  while (plan.length < runs) plan.push('end_turn');
  return rnd.shuffle(plan);
}

interface SimulateRunOptions {
  client: RuntraceClient;
  call: <T>(fn: () => Promise<T>) => Promise<T>;
  index: number;
  agent: AgentProfile;
  outcome: Outcome;
  calls: SampleCall[];
  rnd: Random;
  stepDelayMs: number;
  tokenDelayMs: number;
  backgroundShare: number;
}

async function simulateRun(o: SimulateRunOptions): Promise<RunResult> {
  const { client, call, agent, outcome, rnd } = o;
  const t0 = performance.now();
  const result: RunResult = {
    index: o.index,
    agent,
    runId: null,
    outcome,
    status: 'created',
    steps: 0,
    messages: 0,
    promptTokens: 0,
    completionTokens: 0,
    cachedTokens: 0,
    reasoningTokens: 0,
    background: false,
    events: 0,
    ms: 0,
    error: null,
  };
  const usable = o.calls.filter((c) => !c.error && c.callType === 'agent_step');
  const own = usable.filter((c) => c.providerName === agent.provider);
  const pool = own.length ? own : usable.length ? usable : o.calls;
  const errors = o.calls.filter((c) => c.error);
  const errorCall = errors.find((c) => c.providerName === agent.provider) ?? errors[0] ?? null;

  try {
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

    const stepCount =
      outcome === 'max_steps' ? MAX_STEPS : outcome === 'cancelled' ? rnd.int(1, 2) : outcome === 'end_turn' ? rnd.int(1, 4) : rnd.int(1, 3);
    // A simulated clock: steps take realistic durations even though the simulation itself is fast.
    const runStartNs = BigInt(Date.now()) * 1_000_000n;
    let clock = runStartNs;
    let ttftNs: bigint | null = null;
    const ms = (n: number) => BigInt(Math.round(n * 1e6));

    for (let s = 0; s < stepCount; s++) {
      const last = s === stepCount - 1;
      const failsLlm = last && outcome === 'llm_api_error' && errorCall !== null;
      const failsTool = last && outcome === 'error';
      const sample = failsLlm ? (errorCall as SampleCall) : rnd.pick(pool);
      const stepStartNs = clock;
      const llmRequestStartNs = stepStartNs + ms(rnd.int(2, 15));
      const llmRequestNs = ms(failsLlm ? rnd.int(80, 400) : rnd.int(450, 3200));
      const callsTool = !failsLlm && !(last && outcome === 'end_turn');
      const toolExecutionNs = callsTool ? ms(rnd.int(15, 900)) : null;
      const stepNs = llmRequestStartNs - stepStartNs + llmRequestNs + (toolExecutionNs ?? 0n) + ms(rnd.int(1, 6));
      clock = stepStartNs + stepNs;
      if (ttftNs === null && !failsLlm) ttftNs = llmRequestStartNs - runStartNs + (llmRequestNs * 35n) / 100n;

      const stepInput: StepInput = {
        runId: run.id,
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
        tags: ['simulate', agent.name],
        traceId: rnd.hex(32),
        requestId: sample.responseId,
        status: failsLlm || failsTool ? 'failed' : 'success',
        errorType: failsLlm ? (sample.error?.type ?? 'provider_error') : failsTool ? 'tool_execution_error' : null,
        errorData: failsLlm ? (sample.error?.data ?? null) : failsTool ? { message: 'tool raised TimeoutError after 30 s' } : null,
        stepStartNs: stepStartNs.toString(),
        llmRequestStartNs: llmRequestStartNs.toString(),
        llmRequestNs: llmRequestNs.toString(),
        toolExecutionNs: toolExecutionNs?.toString() ?? null,
        stepNs: stepNs.toString(),
      };
      const step = await call(() => client.steps.create.mutate(stepInput));
      result.steps++;
      result.promptTokens += sample.promptTokens;
      result.completionTokens += sample.completionTokens;
      result.cachedTokens += Number(sample.promptTokensDetails?.cached_tokens ?? sample.promptTokensDetails?.cache_read_tokens ?? 0);
      result.reasoningTokens += Number(sample.completionTokensDetails?.reasoning_tokens ?? 0);

      const messages = messagesForStep({ step: s, stepId: step.id, sample, agent, outcome, last, failsLlm, failsTool, callsTool, rnd });
      if (background) {
        // Live first, as an agent streams its step; the messages are recorded when the step is done.
        const events = eventsForStep(messages, { failsLlm, sample, rnd });
        result.events += await streamEvents(client, call, run.id, events, o.tokenDelayMs);
      }
      if (messages.length) {
        await call(() => client.messages.create.mutate({ runId: run.id, messages }));
        result.messages += messages.length;
      }
      if (o.stepDelayMs) await new Promise((resolve) => setTimeout(resolve, o.stepDelayMs));
    }

    if (outcome === 'cancelled') {
      // A background run's stream gets its stop_reason (cancelled) and end from the cancellation itself.
      const cancelled = await call(() => client.runs.cancel.mutate({ runId: run.id }));
      result.status = cancelled.status;
    } else if (outcome !== 'running' && background) {
      // The producer ends its stream: the stop reason sets the status; usage statistics close it, as Letta streams.
      await call(() =>
        client.runs.update.mutate({
          runId: run.id,
          ...(ttftNs !== null ? { ttftNs: ttftNs.toString() } : {}),
          totalDurationNs: (clock - runStartNs).toString(),
        }),
      );
      const ended = await call(() =>
        client.runs.appendEvents.mutate({
          runId: run.id,
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
      result.status = (await call(() => client.runs.retrieve.query({ runId: run.id }))).status;
    } else if (outcome !== 'running') {
      const ended = await call(() =>
        client.runs.update.mutate({
          runId: run.id,
          stopReason: outcome,
          ...(ttftNs !== null ? { ttftNs: ttftNs.toString() } : {}),
          totalDurationNs: (clock - runStartNs).toString(),
        }),
      );
      result.status = ended.status;
    }
  } catch (err) {
    result.error = describeError(err);
  }
  result.ms = performance.now() - t0;
  return result;
}

interface StepMessagesOptions {
  step: number;
  stepId: string;
  sample: SampleCall;
  agent: AgentProfile;
  outcome: Outcome;
  last: boolean;
  failsLlm: boolean;
  failsTool: boolean;
  callsTool: boolean;
  rnd: Random;
}

/** Letta's message sequence for one step: the user's turn (first step), reasoning, a tool call and its return, a reply. */
function messagesForStep(o: StepMessagesOptions): MessageInput[] {
  const { sample, rnd } = o;
  // Each message has its own id and otid (Letta's offline threading id); all share the step. The id is chosen here
  // so that a background run's streamed chunks and the recorded message share it; it is random even with --seed
  // (ids are unique, and a replayed simulation must not collide with the first).
  const common = () => ({ id: `message-${randomUUID()}`, stepId: o.stepId, otid: `otid-${rnd.hex(16)}` });
  const out: MessageInput[] = [];
  if (o.step === 0) out.push({ messageType: 'user_message', content: sample.userText, senderId: 'user-simulated', ...common() });
  if (o.failsLlm) return out;
  if (sample.thinking) {
    out.push({
      messageType: 'reasoning_message',
      reasoning: sample.thinking.text,
      source: 'reasoner_model',
      signature: sample.thinking.signature,
      ...common(),
    });
  } else {
    out.push({
      messageType: 'reasoning_message',
      reasoning: `The user asked: "${sample.userText.slice(0, 80)}". ${o.callsTool ? 'I should look this up first.' : 'I can answer now.'}`,
      source: 'non_reasoner_model',
      ...common(),
    });
  }
  if (o.callsTool) {
    const tool = rnd.pick(o.agent.tools);
    const toolCallId = `${sample.providerName === 'openai' ? 'call_' : 'toolu_'}${rnd.hex(12)}`;
    const args = JSON.stringify({ query: sample.userText.split(' ').slice(0, 5).join(' ') });
    out.push({ messageType: 'tool_call_message', toolCall: { name: tool, arguments: args, toolCallId }, ...common() });
    out.push({
      messageType: 'tool_return_message',
      toolReturn: o.failsTool
        ? JSON.stringify({ status: 'Failed', message: `${tool} raised TimeoutError after 30 s` })
        : (sample.toolResult ?? JSON.stringify({ status: 'OK', results: [] })),
      status: o.failsTool ? 'error' : 'success',
      toolCallId,
      isErr: o.failsTool ? true : null,
      stderr: o.failsTool ? ['TimeoutError: tool did not finish within 30 s'] : null,
      ...common(),
    });
  }
  if (o.last && o.outcome === 'end_turn') {
    out.push({ messageType: 'assistant_message', content: sample.text ?? 'Done.', ...common() });
  }
  return out;
}

/** Text cut into token-like chunks of one to three words (with their spaces), as a model streams it. */
function chunksOf(text: string, rnd: Random): string[] {
  const words = text.match(/\S+\s*/g) ?? [];
  const chunks: string[] = [];
  for (let i = 0; i < words.length; ) {
    const n = rnd.int(1, 3);
    chunks.push(words.slice(i, i + n).join(''));
    i += n;
  }
  return chunks.length ? chunks : [text];
}

/**
 * A step's stream: reasoning and assistant text as chunks sharing their message's id (each chunk carries its delta,
 * as Letta streams tokens), tool calls and returns whole, and an error_message when the provider call failed.
 */
function eventsForStep(messages: MessageInput[], o: { failsLlm: boolean; sample: SampleCall; rnd: Random }): EventInput[][] {
  const groups: EventInput[][] = [];
  for (const m of messages) {
    const common = { id: m.id, stepId: m.stepId, otid: m.otid };
    switch (m.messageType) {
      case 'reasoning_message':
        groups.push(
          chunksOf(m.reasoning, o.rnd).map((reasoning) => ({ messageType: 'reasoning_message', ...common, reasoning, source: m.source })),
        );
        break;
      case 'assistant_message': {
        const text = typeof m.content === 'string' ? m.content : m.content.map((p) => ('text' in p ? p.text : '')).join('');
        groups.push(chunksOf(text, o.rnd).map((content) => ({ messageType: 'assistant_message', ...common, content })));
        break;
      }
      case 'tool_call_message':
        groups.push([{ messageType: 'tool_call_message', ...common, toolCall: m.toolCall }]);
        break;
      case 'tool_return_message':
        groups.push([
          {
            messageType: 'tool_return_message',
            ...common,
            toolReturn: m.toolReturn,
            status: m.status,
            toolCallId: m.toolCallId,
            isErr: m.isErr,
            stderr: m.stderr,
          },
        ]);
        break;
      default:
        break; // the user's turn is not streamed back
    }
  }
  if (o.failsLlm) {
    groups.push([
      {
        messageType: 'error_message',
        errorType: 'llm_error',
        message: o.sample.error?.type ? `The provider answered ${o.sample.error.type}` : 'The provider call failed',
        detail: null,
      },
    ]);
  }
  return groups;
}

/** Appends a step's events: chunk by chunk with `tokenDelayMs` between them, else one append per message. */
async function streamEvents(
  client: RuntraceClient,
  call: <T>(fn: () => Promise<T>) => Promise<T>,
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

/** An integer percentage flag, 0-100. */
function percentFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value.replace(/%$/, ''));
  if (!Number.isInteger(n) || n < 0 || n > 100) {
    console.error(`--${name} must be a percentage from 0 to 100, got '${value}'`);
    process.exit(2);
  }
  return n;
}

async function checkHealth(url: string) {
  const health = `${url.replace(/\/+$/, '')}/healthz`;
  try {
    const res = await fetch(health, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  } catch (err) {
    console.error(`Cannot reach the Runtrace api at ${health}: ${(err as Error).message}`);
    console.error('Start one with `pnpm start` (or pass --url / set RUNTRACE_URL).');
    process.exit(1);
  }
}

function describeError(err: unknown): string {
  if (isTRPCClientError(err)) return `${err.data?.code ?? 'ERROR'}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

const fmt = (n: number) => n.toLocaleString('en-US');

function progressLine(r: RunResult, done: number, total: number): string {
  const width = String(total).length;
  const head = `[${String(done).padStart(width)}/${total}] ${r.agent.name.padEnd(18)} ${r.runId ?? '(not created)'}`;
  if (r.error) return `${head}  FAILED after ${r.steps} steps: ${r.error}`;
  const end = r.outcome === 'running' ? 'running (left open)' : `${r.status} (${r.outcome === 'cancelled' ? 'cancelled' : r.outcome})`;
  const streamed = r.background ? `  streamed ${r.events} events` : '';
  return `${head}  ${r.steps} step${r.steps === 1 ? ' ' : 's'} ${String(r.messages).padStart(2)} msgs ${fmt(
    r.promptTokens + r.completionTokens,
  ).padStart(6)} tok  ${end}${streamed}  ${r.ms.toFixed(0)} ms`;
}

/** Prints what was recorded, and checks the server's per-run usage against what was sent. */
async function printSummary(client: RuntraceClient, results: RunResult[], requests: number, seconds: number) {
  const failed = results.filter((r) => r.error);
  const recorded = results.filter((r) => r.runId);
  const byEnd = new Map<string, number>();
  for (const r of results) {
    if (r.error) continue;
    const key = r.outcome === 'running' ? 'running (left open)' : `${r.status} / ${r.outcome}`;
    byEnd.set(key, (byEnd.get(key) ?? 0) + 1);
  }
  const sum = (f: (r: RunResult) => number) => results.reduce((a, r) => a + f(r), 0);

  let mismatches = 0;
  for (const r of recorded) {
    try {
      const usage = await client.runs.usage.query({ runId: r.runId as string });
      const same =
        usage.stepCount === r.steps &&
        usage.promptTokens === r.promptTokens &&
        usage.completionTokens === r.completionTokens &&
        (usage.cachedInputTokens ?? 0) === r.cachedTokens;
      if (!same) {
        mismatches++;
        console.error(`  usage mismatch for ${r.runId}: server ${JSON.stringify(usage)}`);
      }
    } catch (err) {
      mismatches++;
      console.error(`  runs.usage failed for ${r.runId}: ${describeError(err)}`);
    }
  }

  console.log('\nSummary');
  console.log(`  runs recorded   ${recorded.length} of ${results.length}${failed.length ? `, ${failed.length} failed` : ''}`);
  for (const [key, n] of [...byEnd.entries()].sort((a, b) => b[1] - a[1])) console.log(`    ${key.padEnd(28)} ${n}`);
  console.log(`  agents          ${new Set(results.map((r) => r.agent.id)).size}`);
  console.log(`  steps           ${fmt(sum((r) => r.steps))}`);
  console.log(`  messages        ${fmt(sum((r) => r.messages))}`);
  const streamed = results.filter((r) => r.background);
  console.log(`  streamed        ${fmt(sum((r) => r.events))} events of ${streamed.length} background runs`);
  console.log(
    `  tokens          ${fmt(sum((r) => r.promptTokens))} prompt (${fmt(sum((r) => r.cachedTokens))} cached), ` +
      `${fmt(sum((r) => r.completionTokens))} completion (${fmt(sum((r) => r.reasoningTokens))} reasoning)`,
  );
  console.log(`  requests        ${fmt(requests)} in ${seconds.toFixed(2)} s (${fmt(Math.round(requests / seconds))}/s)`);
  const check = !recorded.length
    ? 'not checked: no run was recorded'
    : mismatches
      ? `${mismatches} run(s) disagree with what was sent`
      : `matches what was sent for all ${recorded.length} runs`;
  console.log(`  server usage    ${check}`);
  if (failed.length) console.log(`  first failure   ${failed[0]?.error}`);
  if (recorded.length) {
    console.log(`\n  try: client.runs.list.query({ agentId: '${recorded[0]?.agent.id}', limit: 10 })`);
  }
  const replay = streamed.find((r) => r.runId && !r.error);
  if (replay) console.log(`       pnpm watch-run ${replay.runId}    (replays its stream${replay.outcome === 'running' ? '; it is still open' : ''})`);
  return failed.length === 0 && mismatches === 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) console.error(err.message);
    else console.error(err);
    process.exit(1);
  },
);
