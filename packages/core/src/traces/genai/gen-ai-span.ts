/**
 * What the GenAI span reader ({@link readGenAiSpan}) makes of one span, whatever convention it was written in
 * (OpenTelemetry gen_ai.*, OpenInference, OpenLLMetry, the Vercel AI SDK): the normalized record the runs-from-spans
 * recorder turns into a run, steps, messages and provider traces.
 */
import type { SpanAttributes } from '../schemas.ts';

/** One kind per span, never two: an agent invocation, an LLM call, or a tool execution. */
export const GEN_AI_SPAN_KINDS = ['agent', 'llm', 'tool'] as const;
export type GenAiSpanKind = (typeof GEN_AI_SPAN_KINDS)[number];

/** A message part in the shape of gen_ai.input.messages / gen_ai.output.messages (semantic conventions ≥ 1.37). */
export type MessagePart =
  | { type: 'text'; content: string }
  | { type: 'reasoning'; content: string }
  | { type: 'tool_call'; id: string | null; name: string; arguments: string }
  | { type: 'tool_call_response'; id: string | null; response: string };

export type MessageRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ChatMessage {
  role: MessageRole;
  parts: MessagePart[];
}

/** Tokens by type, as the span reported them (null: not reported). Prompt and completion totals include the details. */
export interface SpanTokens {
  /** All input tokens, cached ones included (the semantic conventions' gen_ai.usage.input_tokens). */
  prompt: number;
  completion: number;
  cachedInput: number | null;
  cacheWrite: number | null;
  reasoning: number | null;
}

export interface ToolExecution {
  name: string | null;
  callId: string | null;
  arguments: string | null;
  result: string | null;
}

/** One GenAI span, normalized. Times are nanoseconds since the epoch; durations nanoseconds. */
export interface GenAiSpan {
  kind: GenAiSpanKind;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  startNs: bigint;
  durationNs: bigint;
  /** The span's StatusCode: `Error` makes a failed step (or run). */
  error: { type: string; message: string } | null;
  serviceName: string;
  /** gen_ai.agent.id (agent spans), for the agent key. */
  agentId: string | null;
  /** gen_ai.agent.name, OpenInference agent.name, or the AI SDK's ai.telemetry.functionId. */
  agentName: string | null;
  /** The requested model (else the response's). */
  model: string | null;
  responseModel: string | null;
  /** Lowercase provider name (openai, anthropic, …). */
  provider: string | null;
  tokens: SpanTokens | null;
  /** As the span reported them (stop, length, tool_calls, …). */
  finishReasons: string[];
  /** Time to the first token or chunk, where the span reports it. */
  ttftNs: bigint | null;
  inputMessages: ChatMessage[];
  outputMessages: ChatMessage[];
  /** Request parameters (temperature, max_tokens, …) for the provider trace. */
  requestParams: Record<string, unknown>;
  responseId: string | null;
  /** Tool spans: what was called, with what, and what it returned. */
  tool: ToolExecution | null;
}

/**
 * Why a span could not be mapped, as counted in `runtrace_otlp_mapping_failures_total{reason}`: fixed strings that
 * carry no span data. `invalid_tokens`: a token count that is negative, fractional or too large; `model_too_long`:
 * a model or provider name past {@link MAX_MODEL_NAME_LENGTH}; `invalid_messages`: message attributes that are not
 * the convention's JSON; `refused`: a record the ledger refused for its values; `conflict`: a deterministic id
 * already taken by other content; `internal`: anything else (logged).
 */
export const MAPPING_FAILURE_REASONS = [
  'invalid_tokens',
  'model_too_long',
  'invalid_messages',
  'refused',
  'conflict',
  'internal',
] as const;
export type MappingFailureReason = (typeof MAPPING_FAILURE_REASONS)[number];

/** Longest model or provider name mapped (runs.list filters models up to this length). */
export const MAX_MODEL_NAME_LENGTH = 256;

/** A span whose data cannot be mapped; the span itself is still stored. */
export class SpanDataError extends Error {
  readonly reason: MappingFailureReason;
  constructor(reason: MappingFailureReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** One `otel_traces` row as the OTLP decoder built it (otlp-to-rows.ts), with the fields the reader needs. */
export interface SpanRow {
  serviceName: string;
  resourceAttributes: SpanAttributes;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  spanName: string;
  startNs: bigint;
  durationNs: bigint;
  spanAttributes: SpanAttributes;
  statusCode: string;
  statusMessage: string;
  events: { name: string; attributes: SpanAttributes }[];
}
