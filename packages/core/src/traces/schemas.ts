import { z } from 'zod';
import { idSchema } from '../ids.ts';

/** Most spans `runs.trace` returns (Letta's bound). */
export const MAX_RUN_TRACE_SPANS = 5000;

export const runTraceInput = z.strictObject({
  runId: idSchema('run'),
  /** Most spans returned, oldest first. @default 1000 */
  limit: z.number().int().min(1).max(MAX_RUN_TRACE_SPANS).default(1000),
  /**
   * Also the GenAI spans ({@link LLM_SPAN_FILTER}: `llm_request`, spans naming a model, and the GenAI conventions'
   * agent, step and tool spans), which Letta's view filter leaves out; the dashboard asks for them to show models,
   * tokens and the tool calls of agents recorded from their spans. The REST layer keeps Letta's answer.
   * @default false
   */
  llmSpans: z.boolean().default(false),
});
export type RunTraceInput = z.input<typeof runTraceInput>;

/** `runs.traceUpdates`: runs.trace's input; the snapshot takes `limit`, the increments are not limited. */
export const traceUpdatesInput = runTraceInput.extend({
  /**
   * Sent back by tRPC's client on reconnect; ignored: spans carry no ingest order to resume from, so a reconnect
   * starts over with a snapshot (which replaces what the client holds; spans merge by id).
   */
  lastEventId: z.string().max(100).nullish(),
});
export type TraceUpdatesInput = z.input<typeof traceUpdatesInput>;

/** An attribute map as stored (values are strings, as the OpenTelemetry Collector's ClickHouse exporter writes them). */
export type SpanAttributes = Record<string, string>;

/**
 * One `otel_traces` row, its columns camelCased. Nanosecond values (`timestamp`: the span's start since the epoch,
 * `duration`) are decimal strings (CONTRACTS §3); events and links are lists of objects instead of the table's
 * parallel `Events.*` / `Links.*` arrays.
 */
export interface TraceSpan {
  timestamp: string;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  traceState: string;
  spanName: string;
  /** `Unspecified`, `Internal`, `Server`, `Client`, `Producer` or `Consumer`. */
  spanKind: string;
  serviceName: string;
  resourceAttributes: SpanAttributes;
  scopeName: string;
  scopeVersion: string;
  spanAttributes: SpanAttributes;
  duration: string;
  /** `Unset`, `Ok` or `Error`. */
  statusCode: string;
  statusMessage: string;
  events: { timestamp: string; name: string; attributes: SpanAttributes }[];
  links: { traceId: string; spanId: string; traceState: string; attributes: SpanAttributes }[];
}
