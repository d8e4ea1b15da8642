import { traceSpanOfRow } from '../trace-span-of-row.ts';
import type { SpanRow } from './gen-ai-span.ts';

/**
 * Text any GenAI span's row contains (attribute keys as the decoder writes them, quoted): a row with none of them is
 * no GenAI span and is not parsed. `"ParentSpanId":""` keeps root spans, whose arrival ends a trace's run.
 */
const MARKERS = ['"gen_ai.', '"ai.', '"llm.', '"openinference.span.kind"', '"traceloop.span.kind"'];
const ROOT_MARKER = '"ParentSpanId":""';

/** Whether a JSONEachRow line may be a GenAI span or a root span: a few substring searches, no parsing. */
export function mayMap(line: string): boolean {
  for (const marker of MARKERS) if (line.includes(marker)) return true;
  return line.includes(ROOT_MARKER);
}

/** Parses one `otel_traces` JSONEachRow line (otlp-to-rows.ts) into the fields the GenAI reader uses. */
export function parseSpanRow(line: string): SpanRow {
  const span = traceSpanOfRow(line);
  return {
    serviceName: span.serviceName,
    resourceAttributes: span.resourceAttributes,
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    spanName: span.spanName,
    startNs: BigInt(span.timestamp),
    durationNs: BigInt(span.duration),
    spanAttributes: span.spanAttributes,
    statusCode: span.statusCode,
    statusMessage: span.statusMessage,
    events: span.events.map(({ name, attributes }) => ({ name, attributes })),
  };
}
