/**
 * Recognises a GenAI span (one kind: agent, llm or tool) and reads it into a {@link GenAiSpan}, in every convention
 * Runtrace maps: OpenTelemetry's gen_ai.* (1.36 and the development version, with the older usage names), OpenInference,
 * OpenLLMetry (gen_ai.* plus llm.* and traceloop.* extras) and the Vercel AI SDK (ai.*). Attribute values are strings,
 * as the OTLP decoder stores them. Unknown attributes are ignored (they stay in the span row).
 */
import { INT4_MAX } from '../../steps/schemas.ts';
import type { SpanAttributes } from '../schemas.ts';
import {
  type GenAiSpan,
  type GenAiSpanKind,
  MAX_MODEL_NAME_LENGTH,
  SpanDataError,
  type SpanRow,
  type SpanTokens,
} from './gen-ai-span.ts';
import { outputFinishReasons, readSpanMessages } from './read-span-messages.ts';

/** The AI SDK's outer calls (agent) and provider calls (llm); other ai.* spans (embed, …) are not mapped. */
const AI_SDK_AGENT = new Set(['ai.generateText', 'ai.streamText', 'ai.generateObject', 'ai.streamObject']);
const AI_SDK_LLM = /^ai\.(generateText|streamText|generateObject|streamObject)\.do(Generate|Stream)$/;
const OPENINFERENCE_KINDS: Record<string, GenAiSpanKind> = { AGENT: 'agent', LLM: 'llm', TOOL: 'tool' };
const GEN_AI_LLM_OPERATIONS = new Set(['chat', 'text_completion', 'generate_content']);

/** The span's kind, or null when it is no GenAI span Runtrace maps. */
export function genAiKind(row: SpanRow): GenAiSpanKind | null {
  const a = row.spanAttributes;
  // The AI SDK also puts gen_ai.* on its provider-call spans: its own operation id decides, so a call is one step.
  const aiOperation = a['ai.operationId'] ?? (row.spanName.startsWith('ai.') ? row.spanName : undefined);
  if (aiOperation !== undefined) {
    if (AI_SDK_AGENT.has(aiOperation)) return 'agent';
    if (AI_SDK_LLM.test(aiOperation)) return 'llm';
    if (aiOperation === 'ai.toolCall') return 'tool';
    if (a['ai.operationId'] !== undefined) return null;
  }
  const operation = a['gen_ai.operation.name'];
  if (operation !== undefined) {
    if (operation === 'invoke_agent') return 'agent';
    if (operation === 'execute_tool') return 'tool';
    return GEN_AI_LLM_OPERATIONS.has(operation) ? 'llm' : null;
  }
  const openInference = a['openinference.span.kind'];
  if (openInference !== undefined) return OPENINFERENCE_KINDS[openInference.toUpperCase()] ?? null;
  switch (a['traceloop.span.kind']) {
    case 'agent':
      return 'agent';
    case 'tool':
      return 'tool';
  }
  if (a['gen_ai.request.model'] !== undefined || a['llm.request.type'] !== undefined) return 'llm';
  for (const key in a) if (key.startsWith('gen_ai.usage.')) return 'llm';
  return null;
}

const first = (a: SpanAttributes, keys: readonly string[]): string | undefined => {
  for (const key of keys) {
    const v = a[key];
    if (v !== undefined && v !== '') return v;
  }
  return undefined;
};

/** A token count: a whole number within what the ledger stores (INT4); anything else is the span's data error. */
function tokenCount(a: SpanAttributes, keys: readonly string[]): number | null {
  for (const key of keys) {
    const v = a[key];
    if (v === undefined || v === '') continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > INT4_MAX) {
      throw new SpanDataError('invalid_tokens', `${key} is not a token count (a whole number from 0 to ${INT4_MAX})`);
    }
    return n;
  }
  return null;
}

/** Attribute names by token type, newest convention first. */
export const TOKEN_ATTRIBUTES = {
  prompt: [
    'gen_ai.usage.input_tokens',
    'gen_ai.usage.prompt_tokens',
    'llm.token_count.prompt',
    'ai.usage.inputTokens',
    'ai.usage.promptTokens',
  ],
  completion: [
    'gen_ai.usage.output_tokens',
    'gen_ai.usage.completion_tokens',
    'llm.token_count.completion',
    'ai.usage.outputTokens',
    'ai.usage.completionTokens',
  ],
  cachedInput: [
    'gen_ai.usage.cache_read.input_tokens',
    'gen_ai.usage.cache_read_input_tokens',
    'llm.token_count.prompt_details.cache_read',
    'ai.usage.cachedInputTokens',
    'ai.usage.inputTokenDetails.cacheReadTokens',
  ],
  cacheWrite: [
    'gen_ai.usage.cache_creation.input_tokens',
    'gen_ai.usage.cache_creation_input_tokens',
    'llm.token_count.prompt_details.cache_write',
    'ai.usage.inputTokenDetails.cacheWriteTokens',
  ],
  reasoning: [
    'gen_ai.usage.reasoning.output_tokens',
    'gen_ai.usage.reasoning_tokens',
    'llm.token_count.completion_details.reasoning',
    'ai.usage.reasoningTokens',
    'ai.usage.outputTokenDetails.reasoningTokens',
  ],
} as const;

function readTokens(a: SpanAttributes): SpanTokens | null {
  const prompt = tokenCount(a, TOKEN_ATTRIBUTES.prompt);
  const completion = tokenCount(a, TOKEN_ATTRIBUTES.completion);
  const cachedInput = tokenCount(a, TOKEN_ATTRIBUTES.cachedInput);
  const cacheWrite = tokenCount(a, TOKEN_ATTRIBUTES.cacheWrite);
  const reasoning = tokenCount(a, TOKEN_ATTRIBUTES.reasoning);
  if (prompt === null && completion === null) return null;
  let promptTotal = prompt ?? 0;
  let completionTotal = completion ?? 0;
  // The conventions count cache reads and writes inside the input tokens; a provider that reports them apart
  // (Anthropic's input_tokens) gives more cached than input: then they are added, so each token is priced once.
  if ((cachedInput ?? 0) + (cacheWrite ?? 0) > promptTotal) promptTotal += (cachedInput ?? 0) + (cacheWrite ?? 0);
  if ((reasoning ?? 0) > completionTotal) completionTotal += reasoning ?? 0;
  if (promptTotal + completionTotal > INT4_MAX) {
    throw new SpanDataError('invalid_tokens', `the span's tokens add up to more than ${INT4_MAX}`);
  }
  return { prompt: promptTotal, completion: completionTotal, cachedInput, cacheWrite, reasoning };
}

function boundedName(value: string | undefined, what: string): string | null {
  if (value === undefined) return null;
  if (value.length > MAX_MODEL_NAME_LENGTH) {
    throw new SpanDataError('model_too_long', `${what} is longer than ${MAX_MODEL_NAME_LENGTH} characters`);
  }
  return value;
}

function finishReasons(a: SpanAttributes): string[] {
  const list = a['gen_ai.response.finish_reasons'];
  if (list !== undefined) {
    if (list.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(list);
        if (Array.isArray(parsed)) return parsed.map(String);
      } catch {
        // a single reason that merely starts with a bracket: taken as it is below
      }
    }
    return [list];
  }
  const one = first(a, ['ai.response.finishReason', 'llm.finish_reason', 'gen_ai.completion.0.finish_reason']);
  return one !== undefined ? [one] : outputFinishReasons(a);
}

/** Seconds (gen_ai.response.time_to_first_chunk) or the AI SDK's milliseconds → nanoseconds. */
function ttftNs(a: SpanAttributes): bigint | null {
  const seconds = first(a, ['gen_ai.response.time_to_first_chunk', 'gen_ai.client.operation.time_to_first_chunk']);
  const ms = first(a, ['ai.response.msToFirstChunk', 'ai.stream.msToFirstChunk']);
  const ns = seconds !== undefined ? Number(seconds) * 1e9 : ms !== undefined ? Number(ms) * 1e6 : Number.NaN;
  return Number.isFinite(ns) && ns >= 0 ? BigInt(Math.round(ns)) : null;
}

const REQUEST_PARAMS: Record<string, string> = {
  'gen_ai.request.temperature': 'temperature',
  'gen_ai.request.max_tokens': 'max_tokens',
  'gen_ai.request.top_p': 'top_p',
  'gen_ai.request.top_k': 'top_k',
  'gen_ai.request.frequency_penalty': 'frequency_penalty',
  'gen_ai.request.presence_penalty': 'presence_penalty',
  'gen_ai.request.stop_sequences': 'stop_sequences',
  'gen_ai.request.seed': 'seed',
  'ai.settings.temperature': 'temperature',
  'ai.settings.maxOutputTokens': 'max_tokens',
  'ai.settings.maxTokens': 'max_tokens',
  'ai.settings.topP': 'top_p',
  'ai.settings.topK': 'top_k',
  'ai.settings.maxRetries': 'max_retries',
};

function requestParams(a: SpanAttributes): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  const invocation = a['llm.invocation_parameters'];
  if (invocation !== undefined) {
    try {
      const parsed: unknown = JSON.parse(invocation);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) Object.assign(params, parsed);
    } catch {
      params.invocation_parameters = invocation;
    }
  }
  for (const [key, name] of Object.entries(REQUEST_PARAMS)) {
    const v = a[key];
    if (v === undefined || name in params) continue;
    const n = Number(v);
    params[name] = v !== '' && Number.isFinite(n) ? n : v.startsWith('[') ? safeJson(v) : v;
  }
  return params;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The AI SDK names providers as `openai.chat`, `anthropic.messages`: the provider is the first part. */
function providerOf(a: SpanAttributes): string | null {
  // The AI SDK's own name first: its gen_ai.system repeats `openai.chat`, while gen_ai names may contain dots
  // (`azure.ai.openai`, `aws.bedrock`).
  const aiSdk = a['ai.model.provider'];
  const provider =
    aiSdk !== undefined
      ? aiSdk.split('.')[0]
      : first(a, ['gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system']);
  return boundedName(provider?.toLowerCase(), 'the provider name');
}

/** error.type, else the recorded exception's type (the AI SDK's `AI_APICallError`), else `error`. */
function errorType(row: SpanRow): string {
  const exception = row.events.find((e) => e.name === 'exception')?.attributes['exception.type'];
  return row.spanAttributes['error.type'] || exception || 'error';
}

/**
 * Reads a span as a GenAI span, or null when it is none (see {@link genAiKind}).
 * @throws SpanDataError when it is one but its data cannot be mapped (a bad token count, an oversized model name,
 * message attributes that are not JSON).
 */
export function readGenAiSpan(row: SpanRow): GenAiSpan | null {
  const kind = genAiKind(row);
  if (!kind) return null;
  const a = row.spanAttributes;
  const model = boundedName(
    first(a, [
      'gen_ai.request.model',
      'llm.model_name',
      'llm.request.model_name',
      'ai.model.id',
      'gen_ai.response.model',
    ]),
    'the model name',
  );
  const responseModel = boundedName(
    first(a, ['gen_ai.response.model', 'llm.response.model_name', 'ai.response.model']),
    'the response model name',
  );
  const messages = kind === 'tool' ? { input: [], output: [] } : readSpanMessages(row);
  const tool =
    kind === 'tool'
      ? {
          name: first(a, ['gen_ai.tool.name', 'ai.toolCall.name', 'tool.name', 'traceloop.entity.name']) ?? null,
          callId: first(a, ['gen_ai.tool.call.id', 'ai.toolCall.id', 'tool_call.id']) ?? null,
          arguments:
            first(a, [
              'gen_ai.tool.call.arguments',
              'ai.toolCall.args',
              'ai.toolCall.input',
              'input.value',
              'traceloop.entity.input',
            ]) ?? null,
          result:
            first(a, [
              'gen_ai.tool.call.result',
              'ai.toolCall.result',
              'ai.toolCall.output',
              'output.value',
              'traceloop.entity.output',
            ]) ?? null,
        }
      : null;
  const agentName =
    first(a, ['gen_ai.agent.name', 'agent.name', 'ai.telemetry.functionId']) ??
    (a['traceloop.span.kind'] === 'agent' ? first(a, ['traceloop.entity.name']) : undefined);
  return {
    kind,
    traceId: row.traceId,
    spanId: row.spanId,
    parentSpanId: row.parentSpanId,
    name: row.spanName,
    startNs: row.startNs,
    durationNs: row.durationNs,
    error: row.statusCode === 'Error' ? { type: errorType(row), message: row.statusMessage } : null,
    serviceName: row.serviceName,
    agentId: first(a, ['gen_ai.agent.id']) ?? null,
    agentName: agentName ?? null,
    model,
    responseModel,
    provider: providerOf(a),
    tokens: kind === 'tool' ? null : readTokens(a),
    finishReasons: finishReasons(a),
    ttftNs: ttftNs(a),
    inputMessages: messages.input,
    outputMessages: messages.output,
    requestParams: kind === 'llm' ? requestParams(a) : {},
    responseId: first(a, ['gen_ai.response.id', 'ai.response.id']) ?? null,
    tool,
  };
}
