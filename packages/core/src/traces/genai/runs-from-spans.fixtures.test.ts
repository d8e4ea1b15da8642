/**
 * Real spans of the Vercel AI SDK (7, both its OpenTelemetry integration and LegacyOpenTelemetry's ai.* spans),
 * captured from the official OTLP/HTTP JSON exporter (fixtures/, see the emitters harness), become the run a user
 * expects: steps with tokens, messages in order, provider traces, the run's end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../actor.ts';
import {
  type AiSdkFixture,
  aiSdkFixture,
  createTestRuntime,
  type DatabaseTarget,
  databaseTargets,
  type TestRuntime,
} from '../../testing/index.ts';
import { deterministicId } from './deterministic-id.ts';

/** The messages of generateText with a tool call, in order: the prompt, the tool's round trip, the answer. */
const TOOL_ROUND_TRIP = [
  'system_message',
  'user_message',
  'tool_call_message',
  'tool_return_message',
  'assistant_message',
];

describe.each(databaseTargets())('AI SDK spans on $name', (target: DatabaseTarget) => {
  let rt: TestRuntime;
  let actor: Actor;
  beforeAll(async () => {
    rt = await createTestRuntime(target, { CLICKHOUSE_URL: 'chdb:memory' });
    const org = await rt.auth.createOrganization('ai-sdk');
    actor = { organizationId: org.id, userId: org.userId };
    await rt.runsFromSpans.setFor(org.id, { enabled: true });
  }, 120_000);
  afterAll(() => rt?.dispose());

  /** Ingests a fixture and answers its run with steps, messages and provider traces. */
  async function record(name: AiSdkFixture) {
    const { body, traceId } = aiSdkFixture(name);
    expect(await rt.traces.ingest(actor, body, 'json')).toMatchObject({ rejected: 0 });
    const runId = deterministicId('run', actor.organizationId, 'run', traceId);
    const run = await rt.runs.retrieve(actor, { runId });
    const steps = (await rt.steps.listByRun(actor, { runId, order: 'asc' })).items;
    const messages = (await rt.messages.listByRun(actor, { runId })).items;
    const traces = (await rt.providerTraces.listByRun(actor, { runId })).items;
    const agent = (await rt.agents.list(actor, {})).items.find((a) => a.id === run.agentId);
    return { run, steps, messages, traces, agent, traceId };
  }

  for (const name of ['ai-sdk-generate-text', 'ai-sdk-legacy-generate-text'] as const) {
    it(`${name}: generateText with a tool call is one run of two steps`, async () => {
      const { run, steps, messages, traces, agent, traceId } = await record(name);
      expect(run).toMatchObject({
        status: 'completed',
        stopReason: 'end_turn',
        stepCount: 2,
        totalTokens: 120 + 18 + 160 + 9,
        model: 'gpt-4o-mini',
        provider: 'openai',
      });
      expect(agent?.name).toBe('weather-agent');
      expect(
        steps.map((s) => [s.promptTokens, s.completionTokens, s.cachedInputTokens, s.stopReason, s.traceId]),
      ).toEqual([
        [120, 18, 100, null, traceId],
        [160, 9, 120, 'end_turn', traceId],
      ]);
      // reasoning tokens: the legacy spans name them; the new integration only with its usage extras (on here)
      expect(steps[0]?.reasoningTokens).toBe(8);
      expect(messages.map((m) => m.messageType)).toEqual(TOOL_ROUND_TRIP);
      expect(messages.map((m) => ('content' in m ? m.content : null))).toEqual([
        'You answer weather questions briefly.',
        'Weather in Paris?',
        null,
        null,
        'Paris: 21°C, clear.',
      ]);
      expect(messages[2]).toMatchObject({
        toolCall: { name: 'weather', arguments: '{"city":"Paris"}', toolCallId: 'call-1' },
      });
      expect(messages[3]).toMatchObject({
        toolCallId: 'call-1',
        toolReturn: '{"city":"Paris","celsius":21,"sky":"clear"}',
      });
      expect(messages.slice(0, 3).every((m) => m.stepId === steps[0]?.id)).toBe(true);
      expect(messages[4]?.stepId).toBe(steps[1]?.id);
      expect(traces.map((t) => [t.stepId, t.responseJson.id])).toEqual([
        [steps[0]?.id, 'resp-1'],
        [steps[1]?.id, 'resp-2'],
      ]);
      expect(traces[1]?.responseJson).toMatchObject({ model: 'gpt-4o-mini-2024-07-18', finish_reasons: ['stop'] });
    });
  }

  for (const name of ['ai-sdk-stream-text', 'ai-sdk-legacy-stream-text'] as const) {
    it(`${name}: streamText records reasoning and text, and the run's time to first token`, async () => {
      const { run, steps, messages } = await record(name);
      expect(run).toMatchObject({ status: 'completed', stopReason: 'end_turn', stepCount: 1, totalTokens: 52 });
      expect(BigInt(run.ttftNs ?? '0')).toBeGreaterThan(0n);
      expect(BigInt(run.ttftNs ?? '0')).toBeLessThan(BigInt(run.totalDurationNs ?? '0'));
      expect(steps[0]).toMatchObject({ promptTokens: 40, completionTokens: 12, reasoningTokens: 4 });
      expect(messages.map((m) => m.messageType)).toEqual(['user_message', 'reasoning_message', 'assistant_message']);
    });
  }

  for (const name of ['ai-sdk-error', 'ai-sdk-legacy-error'] as const) {
    it(`${name}: a failed provider call fails the step and the run`, async () => {
      const { run, steps, messages } = await record(name);
      expect(run).toMatchObject({ status: 'failed', stopReason: 'error', stepCount: 1, stepErrors: 1 });
      expect(steps[0]).toMatchObject({
        status: 'failed',
        stopReason: 'llm_api_error',
        errorType: 'AI_APICallError',
        errorData: { message: 'The server is overloaded' },
      });
      expect(messages.map((m) => m.messageType)).toEqual(['user_message']);
    });
  }

  for (const name of ['ai-sdk-generate-text', 'ai-sdk-legacy-generate-text'] as const) {
    it(`${name}: a tool span starting in the same nanosecond as its call, exported first, still follows the call`, async () => {
      // SDKs stamp whole milliseconds: a tool often starts in the last millisecond of the call that asked for it.
      const org = await rt.auth.createOrganization(`tie-${name}`);
      const tied: Actor = { organizationId: org.id, userId: org.userId };
      await rt.runsFromSpans.setFor(org.id, { enabled: true });
      const { body, traceId } = aiSdkFixture(name);
      const request = JSON.parse(body.toString());
      const spans: { name: string; startTimeUnixNano: string; attributes: { key: string }[] }[] =
        request.resourceSpans[0].scopeSpans.flatMap((s: { spans: unknown[] }) => s.spans);
      const isTool = (s: (typeof spans)[number]) => s.name === 'ai.toolCall' || s.name.startsWith('execute_tool');
      const isCall = (s: (typeof spans)[number]) => s.name.endsWith('.doGenerate') || s.name.startsWith('chat ');
      const firstCall = spans
        .filter(isCall)
        .sort((a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1))[0];
      const tool = spans.find(isTool);
      if (!firstCall || !tool) throw new Error(`${name} has no tool span and call`);
      tool.startTimeUnixNano = firstCall.startTimeUnixNano;
      for (const scope of request.resourceSpans[0].scopeSpans)
        scope.spans.sort((a: unknown, b: unknown) => Number(isTool(b as never)) - Number(isTool(a as never)));
      await rt.traces.ingest(tied, Buffer.from(JSON.stringify(request)), 'json');
      const runId = deterministicId('run', tied.organizationId, 'run', traceId);
      const messages = (await rt.messages.listByRun(tied, { runId })).items;
      const steps = (await rt.steps.listByRun(tied, { runId, order: 'asc' })).items;
      expect(messages.map((m) => m.messageType)).toEqual(TOOL_ROUND_TRIP);
      expect(messages[2]?.stepId).toBe(steps[0]?.id);
    });
  }
});
