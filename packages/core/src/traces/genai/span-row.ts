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

/** The start time as the decoder wrote it: a bare integer past 2^53, which JSON.parse would round. */
const TIMESTAMP = /"Timestamp":(\d+)/;

interface RowJson {
  ServiceName: string;
  ResourceAttributes: Record<string, string>;
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  SpanName: string;
  SpanAttributes: Record<string, string>;
  Duration: number;
  StatusCode: string;
  StatusMessage: string;
  'Events.Name'?: string[];
  'Events.Attributes'?: Record<string, string>[];
}

/** Parses one `otel_traces` JSONEachRow line (otlp-to-rows.ts) into the fields the GenAI reader uses. */
export function parseSpanRow(line: string): SpanRow {
  const row = JSON.parse(line) as RowJson;
  // Attribute values are strings (not integer literals), so the first bare-integer "Timestamp" is the column.
  const start = TIMESTAMP.exec(line)?.[1] ?? '0';
  const names = row['Events.Name'] ?? [];
  const attributes = row['Events.Attributes'] ?? [];
  return {
    serviceName: row.ServiceName,
    resourceAttributes: row.ResourceAttributes,
    traceId: row.TraceId,
    spanId: row.SpanId,
    parentSpanId: row.ParentSpanId,
    spanName: row.SpanName,
    startNs: BigInt(start),
    // Durations below 2^53 ns (104 days) are exact; a longer one is not mapped as a step duration anyway.
    durationNs: BigInt(Math.trunc(row.Duration)),
    spanAttributes: row.SpanAttributes,
    statusCode: row.StatusCode,
    statusMessage: row.StatusMessage,
    events: names.map((name, i) => ({ name, attributes: attributes[i] ?? {} })),
  };
}
