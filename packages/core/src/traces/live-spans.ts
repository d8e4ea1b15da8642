import type { TraceSpan } from './schemas.ts';
import { GENAI_SPAN_KEYS } from './span-reader.ts';
import { traceSpanOfRow } from './trace-span-of-row.ts';

/**
 * The topic (on the run-change feed: in-process or Redis Pub/Sub) of one trace's spans as they are ingested, for
 * `runs.traceUpdates`. Scoped by organization, so a subscriber only ever hears its own organization's spans.
 */
export function traceSpansTopic(organizationId: string, traceId: string): string {
  return `trace-spans:${organizationId}:${traceId}`;
}

/** What is published on a {@link traceSpansTopic}: spans of that trace, as `runs.trace` returns them. */
export interface LiveSpansMessage {
  spans: TraceSpan[];
}

/** Most spans one message carries: a large export is published in several, so no message is unboundedly large. */
export const MAX_SPANS_PER_MESSAGE = 500;

/** The JS twin of span-reader.ts's TRACE_VIEW_FILTER (and LLM_SPAN_FILTER when `llmSpans`): the same spans pass. */
export function inTraceView(span: TraceSpan, llmSpans: boolean): boolean {
  const name = span.spanName;
  if (name === 'agent_step' || name === 'time_to_first_token' || name.endsWith('._execute_tool')) return true;
  if (span.parentSpanId === '') return true;
  if (!llmSpans) return false;
  const a = span.spanAttributes;
  return name === 'llm_request' || GENAI_SPAN_KEYS.some((key) => key in a);
}

/**
 * What a row that {@link inTraceView} may keep contains (a root's empty parent, a view span's name, an attribute key
 * naming a model): most rows of an export are none of these and are skipped without being parsed. A match may be a
 * false one (a resource attribute with such a key), which the exact filter then drops.
 */
const VIEW_HINT = new RegExp(
  String.raw`"ParentSpanId":""|"SpanName":"(?:agent_step|time_to_first_token|llm_request|(?:[^"\\]|\\.)*\._execute_tool)"|"(?:${GENAI_SPAN_KEYS.map((k) => k.replaceAll('.', '\\.')).join('|')})":`,
);

/**
 * The spans of an ingest's rows that a trace view may draw (the view filter with LLM calls: each subscriber narrows
 * to its own `llmSpans`), by trace id; the others are never published.
 */
export function liveSpansOfRows(lines: string): Map<string, TraceSpan[]> {
  const byTrace = new Map<string, TraceSpan[]>();
  if (!lines) return byTrace;
  for (const line of lines.split('\n')) {
    if (!VIEW_HINT.test(line)) continue;
    const span = traceSpanOfRow(line);
    if (!inTraceView(span, true)) continue;
    const list = byTrace.get(span.traceId);
    if (list) list.push(span);
    else byTrace.set(span.traceId, [span]);
  }
  return byTrace;
}
