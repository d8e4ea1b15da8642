/**
 * Runs from spans (README "Send OpenTelemetry"), end to end with emitters nobody here wrote. The AI SDK's own spans (testing/ai-sdk-emitter.ts: generateText with a tool, streamText, a failing call; both
 * `@ai-sdk/otel` integrations), sent by the official gRPC exporter with the resource opted in
 * (`runtrace.runs_from_spans=true`), become these ledger records: one run per trace, a step per
 * LLM call with its tokens and duration, the call's messages and provider trace — the same records whichever
 * integration traced the call. A repeated export records nothing twice; a resource not opted in records nothing.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace-node';
import type { Actor } from '@runtrace/core';
import { databaseTargets } from '@runtrace/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AiSdkScenarioName,
  type AiSdkTelemetryFlavor,
  type RecordedAiSdkCall,
  recordAiSdkCalls,
} from './testing/ai-sdk-emitter.ts';
import {
  type Api,
  exportWith,
  officialExporters,
  runTrace,
  startApi,
  stopApi,
  storedTraceSpans,
} from './testing/otlp-test-api.ts';

const ns = (t: [number, number]) => BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);

/** The run, steps (oldest first), messages and provider traces recorded for one trace. */
async function ledgerOf(api: Api, actor: Actor, traceId: string) {
  const steps = (await api.rt.steps.list(actor, { traceIds: [traceId], limit: 100 })).items.sort((a, b) =>
    String(a.stepStartNs).localeCompare(String(b.stepStartNs)),
  );
  const runId = steps[0]?.runId;
  if (!runId) return null;
  return {
    run: await api.rt.runs.retrieve(actor, { runId }),
    usage: await api.rt.runs.usage(actor, { runId }),
    steps,
    messages: (await api.rt.messages.listByRun(actor, { runId, limit: 100 })).items,
    providerTraces: (await api.rt.providerTraces.listByRun(actor, { runId })).items,
  };
}

/** The spans of a call that are LLM calls (semconv `chat …`, legacy `…doGenerate` / `…doStream`), oldest first. */
function llmSpans(call: RecordedAiSdkCall): ReadableSpan[] {
  return call.spans
    .filter((s) => s.name.startsWith('chat ') || /\.do(Generate|Stream)$/.test(s.name))
    .sort((a, b) => (ns(a.startTime) < ns(b.startTime) ? -1 : 1));
}

const rootOf = (call: RecordedAiSdkCall) => call.spans.find((s) => !s.parentSpanContext)!;

describe.each(databaseTargets())("the AI SDK's spans become runs on $name", (target) => {
  let api: Api;
  let actor: Actor;
  let key: string;
  let calls: RecordedAiSdkCall[];
  const call = (scenario: AiSdkScenarioName, flavor: AiSdkTelemetryFlavor) =>
    calls.find((c) => c.scenario === scenario && c.flavor === flavor)!;

  beforeAll(async () => {
    api = await startApi(target, {});
    const org = await api.rt.auth.createOrganization('ai-sdk');
    actor = { organizationId: org.id, userId: org.userId };
    key = (await api.rt.auth.createApiKey(org.id, 'ai-sdk')).key;
    calls = await recordAiSdkCalls({ 'runtrace.runs_from_spans': true });
    const exporter = officialExporters.grpc(api, key);
    try {
      await exportWith(
        exporter,
        calls.flatMap((c) => c.spans),
      );
    } finally {
      await exporter.shutdown();
    }
    await api.rt.traces.flush();
  });
  afterAll(() => stopApi(api));

  it.each(['semconv', 'legacy'] as const)(
    '%s generateText with a tool: a completed run of two steps, the tool round trip in its messages',
    async (flavor) => {
      const made = call('generate-text', flavor);
      const ledger = (await ledgerOf(api, actor, made.traceId))!;
      expect(ledger.run).toMatchObject({
        status: 'completed',
        stopReason: 'end_turn',
        stepCount: 2,
        stepErrors: 0,
        model: 'gpt-4o-mini',
        provider: 'openai',
        ttftNs: null,
        totalDurationNs: String(ns(rootOf(made).duration)),
      });
      expect(ledger.usage).toMatchObject({
        promptTokens: 280,
        completionTokens: 27,
        cachedInputTokens: 220,
        reasoningTokens: 8,
      });
      const llm = llmSpans(made);
      expect(
        ledger.steps.map((s) => ({
          traceId: s.traceId,
          status: s.status,
          model: s.model,
          providerName: s.providerName,
          promptTokens: s.promptTokens,
          completionTokens: s.completionTokens,
          cachedInputTokens: s.cachedInputTokens,
          reasoningTokens: s.reasoningTokens,
          llmRequestNs: s.llmRequestNs,
          stepNs: s.stepNs,
        })),
      ).toEqual(
        [
          [120, 18, 100, 8],
          [160, 9, 120, 0],
        ].map(([prompt, completion, cached, reasoning], i) => ({
          traceId: made.traceId,
          status: 'success',
          model: 'gpt-4o-mini',
          providerName: 'openai',
          promptTokens: prompt,
          completionTokens: completion,
          cachedInputTokens: cached,
          reasoningTokens: reasoning,
          llmRequestNs: String(ns(llm[i]!.duration)),
          stepNs: String(ns(llm[i]!.duration)),
        })),
      );
      expect(ledger.steps[1]!.stopReason).toBe('end_turn');
      const [first, second] = ledger.steps.map((s) => s.id);
      expect(
        ledger.messages.map((m) => {
          const { messageType, stepId } = m as { messageType: string; stepId: string | null };
          const body = m as Record<string, unknown>;
          // (which step a tool result belongs to is not settled by the design: not asserted)
          const step = messageType === 'tool_return_message' ? 'any' : stepId;
          return [messageType, body.content ?? body.toolCall ?? body.toolReturn, step];
        }),
      ).toEqual([
        ['system_message', 'You answer weather questions briefly.', first],
        ['user_message', 'Weather in Paris?', first],
        [
          'tool_call_message',
          expect.objectContaining({ name: 'weather', arguments: '{"city":"Paris"}', toolCallId: 'call-1' }),
          first,
        ],
        ['tool_return_message', '{"city":"Paris","celsius":21,"sky":"clear"}', 'any'],
        ['assistant_message', 'Paris: 21°C, clear.', second],
      ]);
      expect(ledger.providerTraces.map((t) => t.stepId).sort()).toEqual([first, second].sort());
      const secondTrace = ledger.providerTraces.find((t) => t.stepId === second)!;
      expect(JSON.stringify(secondTrace.requestJson)).toContain('"model":"gpt-4o-mini"');
      expect(JSON.stringify(secondTrace.requestJson)).toContain('celsius');
      expect(JSON.stringify(secondTrace.responseJson)).toContain('Paris: 21°C, clear.');
      // the run's steps carry the trace id: its trace is the AI SDK call's
      const view = await runTrace(api, actor, made.traceId, key);
      expect(view.map((s) => s.spanId)).toContain(rootOf(made).spanContext().spanId);
    },
  );

  it.each(['semconv', 'legacy'] as const)(
    '%s streamText: one step with reasoning tokens, and the run TTFT from the time to first chunk',
    async (flavor) => {
      const made = call('stream-text', flavor);
      const ledger = (await ledgerOf(api, actor, made.traceId))!;
      expect(ledger.run).toMatchObject({ status: 'completed', stopReason: 'end_turn', stepCount: 1 });
      expect(ledger.steps[0]).toMatchObject({ promptTokens: 40, completionTokens: 12, reasoningTokens: 4 });
      // TTFT counts from the run's start: the LLM call's start, plus its time to first chunk (s or ms by integration)
      const [llm] = llmSpans(made);
      const ttfcMs =
        flavor === 'semconv'
          ? Number(llm!.attributes['gen_ai.client.operation.time_to_first_chunk']) * 1000
          : Number(llm!.attributes['ai.response.msToFirstChunk']);
      expect(ttfcMs).toBeGreaterThanOrEqual(25);
      const expected = Number(ns(llm!.startTime) - ns(rootOf(made).startTime)) + ttfcMs * 1e6;
      expect(Math.abs(Number(ledger.run.ttftNs) - expected)).toBeLessThan(1_000);
      expect(
        ledger.messages.map((m) => [
          (m as { messageType: string }).messageType,
          (m as { content?: string; reasoning?: string }).content ?? (m as { reasoning?: string }).reasoning,
        ]),
      ).toEqual([
        ['user_message', 'A haiku about traces.'],
        ['reasoning_message', 'Short haiku.'],
        ['assistant_message', 'Spans fall like leaves.'],
      ]);
    },
  );

  it.each(['semconv', 'legacy'] as const)(
    '%s failing call: a failed run whose step carries the API error, no tokens',
    async (flavor) => {
      const made = call('error', flavor);
      const ledger = (await ledgerOf(api, actor, made.traceId))!;
      expect(ledger.run).toMatchObject({ status: 'failed', stepCount: 1, stepErrors: 1, totalTokens: 0 });
      // (the design lists both; the step says which)
      expect(['error', 'llm_api_error']).toContain(ledger.run.stopReason);
      expect(ledger.steps[0]).toMatchObject({
        status: 'failed',
        stopReason: 'llm_api_error',
        errorData: expect.objectContaining({ message: 'The server is overloaded' }),
        promptTokens: 0,
        completionTokens: 0,
      });
      expect(ledger.messages.map((m) => (m as { content?: string }).content)).toEqual(['Weather in Oslo?']);
      expect(JSON.stringify(ledger.providerTraces[0]?.responseJson)).toContain('The server is overloaded');
    },
  );

  it('both integrations name the same agent (gen_ai.agent.name and ai.telemetry.functionId are the functionId)', async () => {
    const agents = new Set<string>();
    for (const made of calls) agents.add((await ledgerOf(api, actor, made.traceId))!.run.agentId);
    expect(agents.size).toBe(1);
  });

  it('a repeated export (another transport) records nothing twice', async () => {
    const before = await Promise.all(calls.map((c) => ledgerOf(api, actor, c.traceId)));
    const exporter = officialExporters.json(api, key);
    try {
      await exportWith(
        exporter,
        calls.flatMap((c) => c.spans),
      );
    } finally {
      await exporter.shutdown();
    }
    await api.rt.traces.flush();
    const after = await Promise.all(calls.map((c) => ledgerOf(api, actor, c.traceId)));
    const ids = (ledgers: typeof before) =>
      ledgers.map((l) => [l!.run.id, l!.run.status, l!.steps.map((s) => s.id), l!.messages.map((m) => m.id)]);
    expect(ids(after)).toEqual(ids(before));
    expect(after.map((l) => l!.usage)).toEqual(before.map((l) => l!.usage));
  });

  it('a resource not opted in (organization off) records no run, and its spans are stored all the same', async () => {
    const org = await api.rt.auth.createOrganization('ai-sdk-off');
    const offActor = { organizationId: org.id, userId: org.userId };
    const offCalls = await recordAiSdkCalls();
    const exporter = officialExporters.grpc(api, (await api.rt.auth.createApiKey(org.id, 'off')).key);
    try {
      await exportWith(
        exporter,
        offCalls.flatMap((c) => c.spans),
      );
    } finally {
      await exporter.shutdown();
    }
    for (const made of offCalls) {
      expect(await ledgerOf(api, offActor, made.traceId)).toBeNull();
      expect(await storedTraceSpans(api, org.id, made.traceId)).toHaveLength(made.spans.length);
    }
  });
});
