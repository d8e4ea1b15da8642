import type { SpanAttributes, TraceSpan } from './schemas.ts';

/**
 * One `otel_traces` JSONEachRow line, as otlp-to-rows.ts writes it, read back as the span `runs.trace` returns: what
 * ingest hands on without a ClickHouse round trip (live updates, the GenAI mapping). Nanoseconds stay exact.
 */
export function traceSpanOfRow(line: string): TraceSpan {
  return toTraceSpan(parseRow(line));
}

/** An `otel_traces` JSONEachRow line as otlp-to-rows.ts writes it (nanoseconds already quoted, see below). */
interface RowLine {
  Timestamp: string;
  TraceId: string;
  SpanId: string;
  ParentSpanId: string;
  TraceState: string;
  SpanName: string;
  SpanKind: string;
  ServiceName: string;
  ResourceAttributes: SpanAttributes;
  ScopeName: string;
  ScopeVersion: string;
  SpanAttributes: SpanAttributes;
  Duration: string;
  StatusCode: string;
  StatusMessage: string;
  'Events.Timestamp'?: string[];
  'Events.Name'?: string[];
  'Events.Attributes'?: SpanAttributes[];
  'Links.TraceId'?: string[];
  'Links.SpanId'?: string[];
  'Links.TraceState'?: string[];
  'Links.Attributes'?: SpanAttributes[];
}

/**
 * Nanosecond numbers are past 2^53, so they are quoted before JSON.parse would round them. They are the only
 * numbers in a row (attribute values are strings), and `"Timestamp":<digit>` cannot occur inside a string, where
 * quotes are escaped.
 */
const NANOS = /"(Timestamp|Duration)":(\d+)/g;
const EVENT_NANOS = /"Events\.Timestamp":\[([\d,]*)\]/;

function parseRow(line: string): RowLine {
  const quoted = line
    .replace(NANOS, '"$1":"$2"')
    .replace(
      EVENT_NANOS,
      (_, list: string) => `"Events.Timestamp":[${list ? `"${list.split(',').join('","')}"` : ''}]`,
    );
  return JSON.parse(quoted) as RowLine;
}

function toTraceSpan(row: RowLine): TraceSpan {
  const eventNames = row['Events.Name'] ?? [];
  const linkSpans = row['Links.SpanId'] ?? [];
  return {
    timestamp: row.Timestamp,
    traceId: row.TraceId,
    spanId: row.SpanId,
    parentSpanId: row.ParentSpanId,
    traceState: row.TraceState,
    spanName: row.SpanName,
    spanKind: row.SpanKind,
    serviceName: row.ServiceName,
    resourceAttributes: row.ResourceAttributes,
    scopeName: row.ScopeName,
    scopeVersion: row.ScopeVersion,
    spanAttributes: row.SpanAttributes,
    duration: row.Duration,
    statusCode: row.StatusCode,
    statusMessage: row.StatusMessage,
    events: eventNames.map((name, i) => ({
      timestamp: row['Events.Timestamp']?.[i] ?? '0',
      name,
      attributes: row['Events.Attributes']?.[i] ?? {},
    })),
    links: linkSpans.map((spanId, i) => ({
      traceId: row['Links.TraceId']?.[i] ?? '',
      spanId,
      traceState: row['Links.TraceState']?.[i] ?? '',
      attributes: row['Links.Attributes']?.[i] ?? {},
    })),
  };
}
