/** The ledger records of one LLM call span: its step and its provider trace's bodies. */
import { MAX_STEP_DURATION_NS } from '../../runs/schemas.ts';
import type { StopReason } from '../../runs/status.ts';
import type { CreateStepInput } from '../../steps/schemas.ts';
import { toIso } from '../../time.ts';
import type { GenAiSpan } from './gen-ai-span.ts';

/** Finish reasons (as providers and conventions spell them) → the step's stop reason; others map to none. */
const STOP_REASON_OF_FINISH: Record<string, StopReason> = {
  stop: 'end_turn',
  end_turn: 'end_turn',
  end: 'end_turn',
  eos: 'end_turn',
  complete: 'end_turn',
  stop_sequence: 'end_turn',
  length: 'max_tokens_exceeded',
  max_tokens: 'max_tokens_exceeded',
  max_output_tokens: 'max_tokens_exceeded',
  error: 'llm_api_error',
};

/** The stop reason of an LLM call: llm_api_error when it failed, else its first finish reason that maps to one. */
export function stopReasonOf(span: GenAiSpan): StopReason | null {
  if (span.error) return 'llm_api_error';
  for (const reason of span.finishReasons) {
    const mapped = STOP_REASON_OF_FINISH[reason.toLowerCase()];
    if (mapped) return mapped;
  }
  return null;
}

/** Nanoseconds since the epoch → the ledger's ISO timestamp (millisecond precision). */
export const nsToIso = (ns: bigint) => toIso(new Date(Number(ns / 1_000_000n)));

/** The step of an LLM call: model, provider, tokens by type, durations (the span's), stop reason and error. */
export function stepInputOf(span: GenAiSpan, runId: string, stepId: string): CreateStepInput {
  const tokens = span.tokens;
  // a span longer than a step may report (about 11.6 days) keeps its tokens, without durations
  const duration = span.durationNs <= MAX_STEP_DURATION_NS ? span.durationNs : null;
  const promptDetails: Record<string, number> = {};
  if (tokens?.cachedInput) promptDetails.cached_tokens = tokens.cachedInput;
  if (tokens?.cacheWrite) promptDetails.cache_creation_tokens = tokens.cacheWrite;
  return {
    id: stepId,
    runId,
    origin: 'otel',
    providerName: span.provider,
    model: span.model ?? span.responseModel,
    promptTokens: tokens?.prompt ?? 0,
    completionTokens: tokens?.completion ?? 0,
    promptTokensDetails: Object.keys(promptDetails).length ? promptDetails : null,
    completionTokensDetails: tokens?.reasoning ? { reasoning_tokens: tokens.reasoning } : null,
    stopReason: stopReasonOf(span),
    traceId: span.traceId,
    requestId: span.responseId,
    status: span.error ? 'failed' : 'success',
    errorType: span.error?.type ?? null,
    errorData: span.error ? { message: span.error.message } : null,
    stepStartNs: span.startNs,
    llmRequestStartNs: span.startNs,
    llmRequestNs: duration,
    stepNs: duration,
  };
}

/**
 * The call's provider trace bodies: the request (model, provider, every input message, request parameters) and the
 * response (id, model, output messages, finish reasons, usage, error).
 */
export function providerTraceBodiesOf(span: GenAiSpan): {
  requestJson: Record<string, unknown>;
  responseJson: Record<string, unknown>;
} {
  const tokens = span.tokens;
  return {
    requestJson: {
      model: span.model,
      ...(span.provider ? { provider: span.provider } : {}),
      messages: span.inputMessages,
      ...span.requestParams,
    },
    responseJson: {
      ...(span.responseId ? { id: span.responseId } : {}),
      model: span.responseModel ?? span.model,
      messages: span.outputMessages,
      finish_reasons: span.finishReasons,
      usage: tokens
        ? {
            input_tokens: tokens.prompt,
            output_tokens: tokens.completion,
            cache_read_input_tokens: tokens.cachedInput,
            cache_creation_input_tokens: tokens.cacheWrite,
            reasoning_tokens: tokens.reasoning,
          }
        : null,
      ...(span.error ? { error: span.error } : {}),
    },
  };
}
