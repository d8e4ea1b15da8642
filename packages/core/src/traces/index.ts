/**
 * `@runtrace/core/traces`: OpenTelemetry traces — OTLP ingest and its wire responses, the span store and reader,
 * and the API's own (self) tracing. The ClickHouse connection they run on is `@runtrace/core/clickhouse`.
 */
export {
  encodeExportResponse,
  encodeStatus,
  OTLP_CONTENT_TYPES,
  type OtlpFormat,
  RPC_CODES,
} from './encode-export-response.ts';
export type { GenAiSpan, GenAiSpanKind, MappingFailureReason } from './genai/gen-ai-span.ts';
export { GEN_AI_SPAN_KINDS, MAPPING_FAILURE_REASONS } from './genai/gen-ai-span.ts';
export { readGenAiSpan } from './genai/read-gen-ai-span.ts';
export { type MappingStats, RunsFromSpans, type RunsFromSpansOptions } from './genai/runs-from-spans.ts';
export {
  RUNS_FROM_SPANS_CACHE_MS,
  type RunsFromSpansSetting,
  RunsFromSpansSettings,
  setRunsFromSpansInput,
} from './genai/runs-from-spans-settings.ts';
export { inTraceView, traceSpansTopic } from './live-spans.ts';
export {
  type IngestResult,
  type OrganizationIngestStats,
  OTLP_REQUEST_OUTCOMES,
  OtelTraces,
  type OtelTracesOptions,
  type OtlpRequestOutcome,
  otlpOutcomeOf,
} from './otel-traces.ts';
export { RUNS_FROM_SPANS_ATTRIBUTE } from './otlp-to-rows.ts';
export {
  MAX_RUN_TRACE_SPANS,
  type RunTraceInput,
  runTraceInput,
  type TraceSpan,
  type TraceUpdatesInput,
  traceUpdatesInput,
} from './schemas.ts';
export type { SelfTracer } from './self-trace.ts';
export { type ReadTraceSpansOptions, readTraceSpans } from './span-reader.ts';
export type { TraceUpdate, TraceUpdatesOptions } from './trace-updates.ts';
