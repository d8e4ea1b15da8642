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
