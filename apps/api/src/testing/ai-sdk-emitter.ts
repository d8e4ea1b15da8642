/**
 * For tests and fixtures: real Vercel AI SDK calls (`ai` 7.x with its mock language model from `ai/test`, no network)
 * traced by the AI SDK's own OpenTelemetry integration (`@ai-sdk/otel`) into a tracer provider the caller owns, so the
 * spans are exactly what an application using the AI SDK emits — names, attributes, parenting, status — and nobody
 * here wrote them.
 *
 * Two integrations ship in `@ai-sdk/otel`, and applications use both:
 * - `semconv` (`OpenTelemetry`, the AI SDK 7 default): GenAI semantic-convention spans `invoke_agent <functionId>` →
 *   `step N` → `chat <model>` / `execute_tool <tool>`, with `gen_ai.*` attributes;
 * - `legacy` (`LegacyOpenTelemetry`, what AI SDK ≤ 6 emitted): `ai.generateText` → `ai.generateText.doGenerate` /
 *   `ai.toolCall` (`ai.streamText` → `ai.streamText.doStream`), with `ai.*` plus some `gen_ai.*` attributes.
 */

import { LegacyOpenTelemetry, OpenTelemetry } from '@ai-sdk/otel';
import type { Attributes, TracerProvider } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import {
  APICallError,
  generateText,
  simulateReadableStream,
  stepCountIs,
  streamText,
  type TelemetryOptions,
  tool,
} from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { z } from 'zod';

/** Which `@ai-sdk/otel` integration traces the calls (see the module comment). */
export type AiSdkTelemetryFlavor = 'semconv' | 'legacy';

export interface AiSdkScenarioOptions {
  /** Where the spans go; the caller flushes it. */
  provider: TracerProvider;
  /** Default `semconv`. */
  flavor?: AiSdkTelemetryFlavor;
}

/** What a scenario did, for assertions beside the spans. */
export interface AiSdkScenarioResult {
  /** The final text (empty for the failing call). */
  text: string;
  /** Model calls the SDK made. */
  modelCalls: number;
  /** The error the call ended with (the failing scenario only). */
  error?: unknown;
}

export type AiSdkScenarioName = 'generate-text' | 'stream-text' | 'error';

const PROVIDER = 'openai.chat';
const MODEL = 'gpt-4o-mini';
const FUNCTION_ID = 'weather-agent';

/** `LanguageModelV4Usage` as a provider reports it (cached input and reasoning tokens included). */
function usage(input: number, cacheRead: number, output: number, reasoning: number) {
  return {
    inputTokens: { total: input, noCache: input - cacheRead, cacheRead, cacheWrite: 0 },
    outputTokens: { total: output, text: output - reasoning, reasoning },
  };
}

function telemetry(options: AiSdkScenarioOptions): TelemetryOptions {
  const integration =
    (options.flavor ?? 'semconv') === 'semconv'
      ? // usage: the SDK's token details beyond the semantic conventions (reasoning tokens), which an app opts into
        new OpenTelemetry({ tracer: options.provider.getTracer('gen_ai'), usage: true })
      : new LegacyOpenTelemetry({ tracer: options.provider.getTracer('ai') });
  return { isEnabled: true, functionId: FUNCTION_ID, integrations: [integration] };
}

const weatherTool = tool({
  description: 'Current weather of a city',
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, celsius: 21, sky: 'clear' }),
});

/**
 * `generateText` with a tool: the model first asks for `weather({ city: 'Paris' })`, the tool runs, then the model
 * answers in text — two model calls, one tool execution.
 */
export async function runGenerateTextWithTool(options: AiSdkScenarioOptions): Promise<AiSdkScenarioResult> {
  const model = new MockLanguageModelV4({
    provider: PROVIDER,
    modelId: MODEL,
    doGenerate: [
      {
        content: [{ type: 'tool-call', toolCallId: 'call-1', toolName: 'weather', input: '{"city":"Paris"}' }],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
        usage: usage(120, 100, 18, 8),
        response: { id: 'resp-1', modelId: `${MODEL}-2024-07-18`, timestamp: new Date(0) },
        warnings: [],
      },
      {
        content: [{ type: 'text', text: 'Paris: 21°C, clear.' }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage: usage(160, 120, 9, 0),
        response: { id: 'resp-2', modelId: `${MODEL}-2024-07-18`, timestamp: new Date(0) },
        warnings: [],
      },
    ],
  });
  const result = await generateText({
    model,
    system: 'You answer weather questions briefly.',
    prompt: 'Weather in Paris?',
    tools: { weather: weatherTool },
    stopWhen: stepCountIs(3),
    temperature: 0.2,
    maxOutputTokens: 200,
    telemetry: telemetry(options),
  });
  return { text: result.text, modelCalls: model.doGenerateCalls.length };
}

/**
 * `streamText` consumed to the end: a reasoning part then text deltas, the first chunk after 30 ms and the next ones
 * 5 ms apart, so the call has a time to first chunk.
 */
export async function runStreamText(options: AiSdkScenarioOptions): Promise<AiSdkScenarioResult> {
  const model = new MockLanguageModelV4({
    provider: PROVIDER,
    modelId: MODEL,
    doStream: {
      stream: simulateReadableStream({
        initialDelayInMs: 30,
        chunkDelayInMs: 5,
        chunks: [
          { type: 'stream-start', warnings: [] },
          { type: 'response-metadata', id: 'resp-3', modelId: `${MODEL}-2024-07-18`, timestamp: new Date(0) },
          { type: 'reasoning-start', id: 'r1' },
          { type: 'reasoning-delta', id: 'r1', delta: 'Short haiku.' },
          { type: 'reasoning-end', id: 'r1' },
          { type: 'text-start', id: 't1' },
          { type: 'text-delta', id: 't1', delta: 'Spans ' },
          { type: 'text-delta', id: 't1', delta: 'fall like ' },
          { type: 'text-delta', id: 't1', delta: 'leaves.' },
          { type: 'text-end', id: 't1' },
          { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage: usage(40, 0, 12, 4) },
        ],
      }),
    },
  });
  const result = streamText({
    model,
    prompt: 'A haiku about traces.',
    telemetry: telemetry(options),
  });
  let text = '';
  for await (const delta of result.textStream) text += delta;
  return { text, modelCalls: model.doStreamCalls.length };
}

/** `generateText` whose provider call fails with an API error (HTTP 503, no retry): the spans carry the error. */
export async function runFailingCall(options: AiSdkScenarioOptions): Promise<AiSdkScenarioResult> {
  const model = new MockLanguageModelV4({
    provider: PROVIDER,
    modelId: MODEL,
    doGenerate: async () => {
      const error = new APICallError({
        message: 'The server is overloaded',
        url: 'https://api.openai.invalid/v1/chat/completions',
        requestBodyValues: { model: MODEL },
        statusCode: 503,
        responseBody: '{"error":{"message":"The server is overloaded"}}',
        isRetryable: true,
      });
      // the spans record the stack (exception.stacktrace): a fixed one keeps the fixtures small and free of local paths
      error.stack = 'AI_APICallError: The server is overloaded\n    at doGenerate (ai-sdk-emitter.ts)';
      throw error;
    },
  });
  try {
    await generateText({ model, prompt: 'Weather in Oslo?', maxRetries: 0, telemetry: telemetry(options) });
  } catch (error) {
    return { text: '', modelCalls: model.doGenerateCalls.length, error };
  }
  throw new Error('the failing AI SDK call succeeded');
}

/** Every scenario by name (the fixture files are named after these). */
export const aiSdkScenarios: Record<
  AiSdkScenarioName,
  (options: AiSdkScenarioOptions) => Promise<AiSdkScenarioResult>
> = {
  'generate-text': runGenerateTextWithTool,
  'stream-text': runStreamText,
  error: runFailingCall,
};

/** One scenario's spans, as the SDK finished them (children before their parents). */
export interface RecordedAiSdkCall {
  scenario: AiSdkScenarioName;
  flavor: AiSdkTelemetryFlavor;
  traceId: string;
  spans: ReadableSpan[];
}

/**
 * Every scenario under both integrations, each call its own trace (random ids), recorded in memory by the real SDK
 * for a resource `service.name=weather-app` plus `resource`.
 */
export async function recordAiSdkCalls(resource: Attributes = {}): Promise<RecordedAiSdkCall[]> {
  const memory = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'weather-app', ...resource }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const calls: RecordedAiSdkCall[] = [];
  for (const flavor of ['semconv', 'legacy'] as const) {
    for (const scenario of Object.keys(aiSdkScenarios) as AiSdkScenarioName[]) {
      memory.reset();
      await aiSdkScenarios[scenario]({ provider, flavor });
      await provider.forceFlush();
      const spans = [...memory.getFinishedSpans()];
      calls.push({ scenario, flavor, traceId: spans[0]!.spanContext().traceId, spans });
    }
  }
  await provider.shutdown();
  return calls;
}
