/**
 * Runs from spans, end to end through `OtelTraces.ingest` on real engines (PGlite and Postgres, chdb): OTLP export
 * requests in; runs, steps, messages and provider traces out through the managers — idempotent across repeated and
 * out-of-order exports, scoped to the organization, opt-in, and never losing a span over its data.
 */
import * as semconv from '@opentelemetry/semantic-conventions/incubating';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../actor.ts';
import { Unavailable } from '../../errors.ts';
import {
  createTestRuntime,
  type DatabaseTarget,
  databaseTargets,
  otlpJsonRequest,
  type TestAttributeValue,
  type TestRuntime,
  type TestSpan,
} from '../../testing/index.ts';
import { readTraceSpans } from '../span-reader.ts';
import { deterministicId } from './deterministic-id.ts';

const MS = 1_000_000n;
let traceNo = 0;
/** A fresh trace id (32 hex digits) per call. */
const newTraceId = () => `${(++traceNo).toString(16).padStart(8, '0')}${'ab'.repeat(12)}`;
const spanId = (n: number) => n.toString(16).padStart(16, 'c');

const chat = (
  traceId: string,
  id: number,
  start: bigint,
  attributes: Record<string, TestAttributeValue>,
  extra: Partial<TestSpan> = {},
): TestSpan => ({
  traceId,
  spanId: spanId(id),
  parentSpanId: spanId(1),
  name: 'chat gpt-4o-mini',
  startNs: start,
  durationNs: 2n * MS,
  attributes: {
    [semconv.ATTR_GEN_AI_OPERATION_NAME]: semconv.GEN_AI_OPERATION_NAME_VALUE_CHAT,
    [semconv.ATTR_GEN_AI_PROVIDER_NAME]: 'openai',
    [semconv.ATTR_GEN_AI_REQUEST_MODEL]: 'gpt-4o-mini',
    [semconv.ATTR_GEN_AI_SYSTEM_INSTRUCTIONS]: JSON.stringify([{ type: 'text', content: 'Answer briefly.' }]),
    ...attributes,
  },
  ...extra,
});

const USER = { role: 'user', parts: [{ type: 'text', content: 'Weather in Paris?' }] };
const CALL = {
  role: 'assistant',
  parts: [{ type: 'tool_call', id: 'call-1', name: 'weather', arguments: { city: 'Paris' } }],
};
const RESULT = { role: 'tool', parts: [{ type: 'tool_call_response', id: 'call-1', response: { celsius: 21 } }] };

/** An agent trace as the AI SDK's OpenTelemetry integration shapes it: invoke_agent → chat, execute_tool, chat. */
function agentTrace(traceId: string, t0: bigint, rootStatus: TestSpan['status'] = 'ok') {
  const root: TestSpan = {
    traceId,
    spanId: spanId(1),
    name: 'invoke_agent weather-agent',
    startNs: t0,
    durationNs: 10n * MS,
    status: rootStatus,
    statusMessage: rootStatus === 'error' ? 'overloaded' : '',
    attributes: {
      [semconv.ATTR_GEN_AI_OPERATION_NAME]: semconv.GEN_AI_OPERATION_NAME_VALUE_INVOKE_AGENT,
      [semconv.ATTR_GEN_AI_AGENT_NAME]: 'weather-agent',
    },
  };
  const llm1 = chat(traceId, 2, t0 + MS, {
    [semconv.ATTR_GEN_AI_INPUT_MESSAGES]: JSON.stringify([USER]),
    [semconv.ATTR_GEN_AI_OUTPUT_MESSAGES]: JSON.stringify([{ ...CALL, finish_reason: 'tool_call' }]),
    [semconv.ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: ['tool_calls'],
    [semconv.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 120,
    [semconv.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: 100,
    [semconv.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: 18,
    [semconv.ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS]: 8,
    [semconv.ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]: 0.0005,
  });
  const tool: TestSpan = {
    traceId,
    spanId: spanId(3),
    parentSpanId: spanId(1),
    name: 'execute_tool weather',
    startNs: t0 + 3n * MS,
    durationNs: MS,
    attributes: {
      [semconv.ATTR_GEN_AI_OPERATION_NAME]: semconv.GEN_AI_OPERATION_NAME_VALUE_EXECUTE_TOOL,
      [semconv.ATTR_GEN_AI_TOOL_NAME]: 'weather',
      [semconv.ATTR_GEN_AI_TOOL_CALL_ID]: 'call-1',
      [semconv.ATTR_GEN_AI_TOOL_CALL_ARGUMENTS]: '{"city":"Paris"}',
      [semconv.ATTR_GEN_AI_TOOL_CALL_RESULT]: '{"celsius":21}',
    },
  };
  const llm2 = chat(traceId, 4, t0 + 5n * MS, {
    [semconv.ATTR_GEN_AI_INPUT_MESSAGES]: JSON.stringify([USER, CALL, RESULT]),
    [semconv.ATTR_GEN_AI_OUTPUT_MESSAGES]: JSON.stringify([
      { role: 'assistant', parts: [{ type: 'text', content: 'Paris: 21°C.' }], finish_reason: 'stop' },
    ]),
    [semconv.ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: ['stop'],
    [semconv.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 160,
    [semconv.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: 120,
    [semconv.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: 9,
  });
  return { root, llm1, tool, llm2 };
}

const request = (spans: TestSpan[], attributes: Record<string, TestAttributeValue> = {}) =>
  otlpJsonRequest([{ attributes: { 'service.name': 'weather-app', ...attributes }, spans }]);

describe.each(databaseTargets())('runs from spans on $name', (target: DatabaseTarget) => {
  let rt: TestRuntime;
  let actor: Actor;
  let other: Actor;
  const now = () => BigInt(Date.now()) * MS;

  beforeAll(async () => {
    rt = await createTestRuntime(target, { CLICKHOUSE_URL: 'chdb:memory', RUNTRACE_DB_STATEMENT_TIMEOUT_MS: '1500' });
    const a = await rt.auth.createOrganization('a');
    const b = await rt.auth.createOrganization('b');
    actor = { organizationId: a.id, userId: a.userId };
    other = { organizationId: b.id, userId: b.userId };
    await rt.runsFromSpans.setFor(a.id, { enabled: true });
    await rt.runsFromSpans.setFor(b.id, { enabled: true });
  }, 120_000);
  afterAll(() => rt?.dispose());

  const ingest = (who: Actor, body: Uint8Array) => rt.traces.ingest(who, body, 'json');
  const runIdOf = (who: Actor, traceId: string) => deterministicId('run', who.organizationId, 'run', traceId);
  const storedSpans = async (who: Actor, traceId: string) => {
    await rt.traces.flush();
    return readTraceSpans(rt.clickhouse!, {
      organizationId: who.organizationId,
      traceIds: [traceId],
      limit: 100,
      viewFilter: false,
    });
  };

  it('records a trace sent in one request: run, steps with tokens and cost, messages in order, provider traces, TTFT', async () => {
    const traceId = newTraceId();
    const t0 = now();
    const { root, llm1, tool, llm2 } = agentTrace(traceId, t0);
    expect(await ingest(actor, request([llm1, tool, llm2, root]))).toMatchObject({ accepted: 4, rejected: 0 });
    const runId = runIdOf(actor, traceId);
    const run = await rt.runs.retrieve(actor, { runId });
    expect(run).toMatchObject({
      status: 'completed',
      stopReason: 'end_turn',
      totalDurationNs: String(10n * MS),
      // the first LLM call's first chunk, 1 ms + 0.5 ms after the run began
      ttftNs: String(1_500_000n),
      stepCount: 2,
      totalTokens: 120 + 18 + 160 + 9,
      model: 'gpt-4o-mini',
      provider: 'openai',
    });
    expect(run.costUsd).not.toBeNull();
    expect(run.metadata).toMatchObject({ 'otel.trace_id': traceId });
    expect(await rt.runs.usage(actor, { runId })).toMatchObject({
      promptTokens: 280,
      completionTokens: 27,
      cachedInputTokens: 220,
      reasoningTokens: 8,
    });
    const { items: agents } = await rt.agents.list(actor, {});
    expect(agents.find((a) => a.id === run.agentId)?.name).toBe('weather-agent');

    const { items: stepList } = await rt.steps.listByRun(actor, { runId, order: 'asc' });
    expect(
      stepList.map((s) => [s.model, s.providerName, s.promptTokens, s.completionTokens, s.stopReason, s.status]),
    ).toEqual([
      ['gpt-4o-mini', 'openai', 120, 18, null, 'success'],
      ['gpt-4o-mini', 'openai', 160, 9, 'end_turn', 'success'],
    ]);
    const [step1, step2] = stepList;
    expect(step1).toMatchObject({
      traceId,
      cachedInputTokens: 100,
      reasoningTokens: 8,
      stepStartNs: String(t0 + MS),
      llmRequestNs: String(2n * MS),
      stepNs: String(2n * MS),
    });
    const inStep = await rt.messages.listByStep(actor, { stepId: step1!.id });
    expect(inStep.items.map((m) => m.messageType)).toEqual(['system_message', 'user_message', 'tool_call_message']);
    const { items: messageList } = await rt.messages.listByRun(actor, { runId });
    expect(messageList.map((m) => m.messageType)).toEqual([
      'system_message',
      'user_message',
      'tool_call_message',
      'tool_return_message',
      'assistant_message',
    ]);
    expect(messageList[2]).toMatchObject({
      toolCall: { name: 'weather', arguments: '{"city":"Paris"}', toolCallId: 'call-1' },
    });
    expect(messageList[3]).toMatchObject({ toolReturn: '{"celsius":21}', toolCallId: 'call-1', status: 'success' });
    expect(messageList[4]).toMatchObject({ content: 'Paris: 21°C.', stepId: step2!.id });

    const trace = await rt.providerTraces.forStep(actor, { stepId: step2!.id });
    expect(trace).toMatchObject({ runId, stepId: step2!.id, agentId: run.agentId });
    expect(trace?.requestJson).toMatchObject({ model: 'gpt-4o-mini', provider: 'openai' });
    expect(trace?.requestJson.messages).toHaveLength(4); // system + the three of the history
    expect(trace?.responseJson).toMatchObject({
      finish_reasons: ['stop'],
      usage: { input_tokens: 160, output_tokens: 9 },
    });
    expect((await rt.providerTraces.listByRun(actor, { runId })).items).toHaveLength(2);

    // runs.trace shows the waterfall of the run's trace
    await rt.traces.flush();
    const spans = await rt.traces.forRun(actor, { runId, llmSpans: true });
    expect(spans.map((s) => s.spanId)).toContain(root.spanId);
  });

  it('assembles a trace sent over several requests in any order, and a repeat of them records nothing twice', async () => {
    const traceId = newTraceId();
    const { root, llm1, tool, llm2 } = agentTrace(traceId, now());
    const runId = runIdOf(actor, traceId);
    await ingest(actor, request([tool, llm2]));
    // a step before its run existed created the run: running until the root arrives
    expect(await rt.runs.retrieve(actor, { runId })).toMatchObject({ status: 'running', stepCount: 1 });
    await ingest(actor, request([llm1]));
    await ingest(actor, request([root]));
    const counts = async () => ({
      run: await rt.runs.retrieve(actor, { runId }),
      steps: (await rt.steps.listByRun(actor, { runId })).items.length,
      messages: (await rt.messages.listByRun(actor, { runId })).items.map((m) => m.id),
      traces: (await rt.providerTraces.listByRun(actor, { runId })).items.length,
    });
    const first = await counts();
    expect(first.run).toMatchObject({ status: 'completed', stopReason: 'end_turn', stepCount: 2, totalTokens: 307 });
    expect(first.steps).toBe(2);
    expect(first.traces).toBe(2);
    // system, user, tool call, tool return, assistant: the tool span and the second call name the same call once
    expect(first.messages).toHaveLength(5);
    const stats = rt.traces.stats().written;
    for (const body of [request([tool, llm2]), request([llm1]), request([root]), request([llm1, tool, llm2, root])]) {
      await ingest(actor, body);
    }
    const again = await counts();
    expect(again.steps).toBe(2);
    expect(again.traces).toBe(2);
    expect(again.messages).toEqual(first.messages);
    expect(again.run).toMatchObject({
      status: 'completed',
      stepCount: 2,
      totalTokens: 307,
      completedAt: first.run.completedAt,
    });
    // the spans themselves are stored as sent (the span store keeps every export)
    expect(rt.traces.stats().written - stats).toBe(2 + 1 + 1 + 4);
  });

  it('ends the run when a plain root span (a web request around the agent) arrives later; a plain trace records nothing', async () => {
    const traceId = newTraceId();
    const { llm1 } = agentTrace(traceId, now());
    const httpRoot: TestSpan = {
      traceId,
      spanId: spanId(1),
      name: 'POST /chat',
      startNs: llm1.startNs - MS,
      durationNs: 20n * MS,
      attributes: { 'http.request.method': 'POST' },
    };
    await ingest(actor, request([llm1]));
    const runId = runIdOf(actor, traceId);
    expect(await rt.runs.retrieve(actor, { runId })).toMatchObject({ status: 'running' });
    const plainTrace = newTraceId();
    await ingest(actor, request([httpRoot, { ...httpRoot, traceId: plainTrace }]));
    expect(await rt.runs.retrieve(actor, { runId })).toMatchObject({
      status: 'completed',
      stopReason: 'end_turn',
      totalDurationNs: String(20n * MS),
      // the call's first chunk, 1 ms after the web request began plus its own 0.5 ms
      ttftNs: String(1_500_000n),
    });
    await expect(rt.runs.retrieve(actor, { runId: runIdOf(actor, plainTrace) })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('fails the run when the root span has StatusCode Error, and marks the failed LLM call', async () => {
    const traceId = newTraceId();
    const { root, llm1 } = agentTrace(traceId, now(), 'error');
    const failedCall = {
      ...llm1,
      status: 'error' as const,
      statusMessage: 'The server is overloaded',
      attributes: { ...llm1.attributes, 'error.type': '503' },
    };
    await ingest(actor, request([failedCall, root]));
    const runId = runIdOf(actor, traceId);
    expect(await rt.runs.retrieve(actor, { runId })).toMatchObject({
      status: 'failed',
      stopReason: 'error',
      stepErrors: 1,
    });
    const [step] = (await rt.steps.listByRun(actor, { runId })).items;
    expect(step).toMatchObject({
      status: 'failed',
      errorType: '503',
      errorData: { message: 'The server is overloaded' },
      stopReason: 'llm_api_error',
    });
  });

  it("keeps each organization's runs its own, even for the same trace id", async () => {
    const traceId = newTraceId();
    const { root, llm1 } = agentTrace(traceId, now());
    await ingest(actor, request([llm1, root]));
    await ingest(other, request([llm1, root]));
    const mine = runIdOf(actor, traceId);
    const theirs = runIdOf(other, traceId);
    expect(mine).not.toBe(theirs);
    await expect(rt.runs.retrieve(other, { runId: mine })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(rt.runs.retrieve(actor, { runId: theirs })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await rt.runs.list(other, {})).items.map((r) => r.id)).not.toContain(mine);
    expect((await rt.runs.retrieve(other, { runId: theirs })).stepCount).toBe(1);
  });

  it('records nothing when the organization is off, unless the resource opts in; a resource may opt out', async () => {
    const off = await rt.auth.createOrganization('off');
    const offActor = { organizationId: off.id, userId: off.userId };
    const plain = newTraceId();
    const optedIn = newTraceId();
    const { root, llm1 } = agentTrace(plain, now());
    const opted = agentTrace(optedIn, now());
    await ingest(offActor, request([llm1, root]));
    await ingest(offActor, request([opted.llm1, opted.root], { 'runtrace.runs_from_spans': true }));
    expect((await rt.runs.list(offActor, {})).items.map((r) => r.id)).toEqual([runIdOf(offActor, optedIn)]);
    expect(await storedSpans(offActor, plain)).toHaveLength(2);

    const optedOut = newTraceId();
    const out = agentTrace(optedOut, now());
    await ingest(actor, request([out.llm1, out.root], { 'runtrace.runs_from_spans': false }));
    await expect(rt.runs.retrieve(actor, { runId: runIdOf(actor, optedOut) })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await storedSpans(actor, optedOut)).toHaveLength(2);
  });

  it('stores a span whose data cannot be mapped, and counts it as a mapping failure', async () => {
    const traceId = newTraceId();
    const { root, llm1, tool, llm2 } = agentTrace(traceId, now());
    const longModel = {
      ...llm1,
      attributes: { ...llm1.attributes, [semconv.ATTR_GEN_AI_REQUEST_MODEL]: 'm'.repeat(5000) },
    };
    const negative = { ...llm2, attributes: { ...llm2.attributes, [semconv.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: -3 } };
    // the root's own data is bad too: it still ends the run
    const failures = (reason: string) => counter('runtrace_otlp_mapping_failures_total', 'reason', reason);
    const before = { long: await failures('model_too_long'), negative: await failures('invalid_tokens') };
    const mappedBefore = await counter('runtrace_otlp_mapped_spans_total', 'kind', 'agent');
    const badRoot = { ...root, attributes: { ...root.attributes, [semconv.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 1e12 } };
    expect(await ingest(actor, request([longModel, tool, negative, badRoot]))).toMatchObject({
      accepted: 4,
      rejected: 0,
    });
    expect((await failures('model_too_long')) - before.long).toBe(1);
    expect((await failures('invalid_tokens')) - before.negative).toBe(2);
    expect((await counter('runtrace_otlp_mapped_spans_total', 'kind', 'agent')) - mappedBefore).toBe(0);
    expect(await storedSpans(actor, traceId)).toHaveLength(4);
    // the run is still recorded (from the tool span) and ended by the root, without the two calls
    expect(await rt.runs.retrieve(actor, { runId: runIdOf(actor, traceId) })).toMatchObject({
      status: 'completed',
      stepCount: 0,
    });
  });

  it('maps concurrent exports of the same traces once: one run each, every step, message and provider trace once', async () => {
    const traces = [newTraceId(), newTraceId(), newTraceId()].map((traceId) => ({
      traceId,
      ...agentTrace(traceId, now()),
    }));
    const all = traces.flatMap(({ root, llm1, tool, llm2 }) => [llm1, tool, llm2, root]);
    const failures = async () =>
      (
        await Promise.all(
          ['conflict', 'refused', 'internal'].map((r) => counter('runtrace_otlp_mapping_failures_total', 'reason', r)),
        )
      ).reduce((a, b) => a + b, 0);
    const failedBefore = await failures();
    // the same traces in several requests at once: all of them, reversed, and overlapping parts of them (whole
    // traces: a root that ends its run before a call's first token is known leaves the run without TTFT)
    await Promise.all([
      ingest(actor, request(all)),
      ingest(actor, request([...all].reverse())),
      ingest(actor, request(all.slice(0, 8))),
      ingest(actor, request(all.slice(4))),
    ]);
    for (const { traceId } of traces) {
      const runId = runIdOf(actor, traceId);
      expect(await rt.runs.retrieve(actor, { runId })).toMatchObject({
        status: 'completed',
        stopReason: 'end_turn',
        stepCount: 2,
        totalTokens: 307,
        ttftNs: String(1_500_000n),
      });
      expect((await rt.runs.metrics(actor, { runId })).numSteps).toBe(2);
      expect((await rt.steps.listByRun(actor, { runId })).items).toHaveLength(2);
      const messages = (await rt.messages.listByRun(actor, { runId })).items;
      expect(messages.map((m) => m.messageType)).toEqual([
        'system_message',
        'user_message',
        'tool_call_message',
        'tool_return_message',
        'assistant_message',
      ]);
      expect(messages.map((m) => m.seqId)).toEqual([1, 2, 3, 4, 5]);
      expect((await rt.providerTraces.listByRun(actor, { runId })).items).toHaveLength(2);
    }
    expect(await failures()).toBe(failedBefore);
  });

  /** A counter of /metrics by its label, as scraped. */
  async function counter(name: string, label: string, value: string): Promise<number> {
    const text = await rt.telemetry.metrics.registry.metrics();
    const match = new RegExp(`^${name}\\{${label}="${value}"\\} (\\d+)`, 'm').exec(text);
    return Number(match?.[1] ?? 0);
  }

  if (target.name === 'postgres') {
    it('fails the export as Unavailable when Postgres cannot answer, writing no span; the retry records it once', async () => {
      const traceId = newTraceId();
      const { root, llm1 } = agentTrace(traceId, now());
      const admin = postgres(rt.config.databaseUrl as string, { max: 1, onnotice: () => {} });
      try {
        // The runs table locked by another session: the mapping's reads wait past the statement timeout.
        const release = admin.begin(async (tx) => {
          await tx.unsafe('lock table runs in access exclusive mode');
          await tx.unsafe('select pg_sleep(3)');
        });
        await new Promise((r) => setTimeout(r, 200));
        await expect(ingest(actor, request([llm1, root]))).rejects.toBeInstanceOf(Unavailable);
        await release;
      } finally {
        await admin.end();
      }
      expect(await storedSpans(actor, traceId)).toHaveLength(0);
      await ingest(actor, request([llm1, root]));
      expect(await storedSpans(actor, traceId)).toHaveLength(2);
      expect(await rt.runs.retrieve(actor, { runId: runIdOf(actor, traceId) })).toMatchObject({
        status: 'completed',
        stepCount: 1,
      });
    }, 30_000);
  }
});
