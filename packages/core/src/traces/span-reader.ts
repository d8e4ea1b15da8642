import { clickhouseFailure } from '../clickhouse/clickhouse-failure.ts';
import { type ClickHouse, qualified } from '../clickhouse/connect.ts';
import type { SpanAttributes, TraceSpan } from './schemas.ts';

/**
 * The spans a trace view draws (Letta's UI filter): agent steps, tool executions (`<Class>._execute_tool`), root
 * spans and time to first token. Letta matches the tool spans with `LIKE '%._execute_tool'`, where `_` is a wildcard;
 * this is the exact ends-with the pattern means.
 */
export const TRACE_VIEW_FILTER =
  "(SpanName IN ('agent_step', 'time_to_first_token') OR endsWith(SpanName, '._execute_tool') OR ParentSpanId = '')";

/** The attribute keys that make a span a GenAI span of {@link LLM_SPAN_FILTER} (live-spans.ts tests the same). */
export const GENAI_SPAN_KEYS = [
  'gen_ai.request.model',
  'gen_ai.response.model',
  'llm.model_name',
  'gen_ai.operation.name',
  'openinference.span.kind',
  'ai.operationId',
] as const;

/**
 * GenAI spans, drawn beside {@link TRACE_VIEW_FILTER}'s spans when asked (`llmSpans`): Letta's `llm_request`, any span
 * naming a model in OpenTelemetry gen_ai or OpenInference attributes (where the model, tokens and cost are), and the
 * spans of the GenAI conventions' agents, steps and tools: any `gen_ai.operation.name` (invoke_agent, chat,
 * execute_tool), OpenInference's `openinference.span.kind` and the AI SDK's `ai.operationId` — so an agent recorded
 * from its spans draws its tool calls and steps, not only its model calls.
 */
export const LLM_SPAN_FILTER = `(SpanName = 'llm_request' OR hasAny(mapKeys(SpanAttributes), [${GENAI_SPAN_KEYS.map((k) => `'${k}'`).join(', ')}]))`;

const COLUMNS = `toString(toUnixTimestamp64Nano(Timestamp)) AS timestamp, TraceId AS traceId, SpanId AS spanId,
  ParentSpanId AS parentSpanId, TraceState AS traceState, SpanName AS spanName, SpanKind AS spanKind,
  ServiceName AS serviceName, ResourceAttributes AS resourceAttributes, ScopeName AS scopeName,
  ScopeVersion AS scopeVersion, SpanAttributes AS spanAttributes, toString(Duration) AS duration,
  StatusCode AS statusCode, StatusMessage AS statusMessage,
  arrayMap(t -> toString(toUnixTimestamp64Nano(t)), Events.Timestamp) AS eventTimestamps, Events.Name AS eventNames,
  Events.Attributes AS eventAttributes, Links.TraceId AS linkTraceIds, Links.SpanId AS linkSpanIds,
  Links.TraceState AS linkTraceStates, Links.Attributes AS linkAttributes`;

interface SpanRow extends Omit<TraceSpan, 'events' | 'links'> {
  eventTimestamps: string[];
  eventNames: string[];
  eventAttributes: SpanAttributes[];
  linkTraceIds: string[];
  linkSpanIds: string[];
  linkTraceStates: string[];
  linkAttributes: SpanAttributes[];
}

export interface ReadTraceSpansOptions {
  /** The organization every row must belong to (CONTRACTS §7). */
  organizationId: string;
  /** Lowercase hex trace ids; their spans are merged. */
  traceIds: readonly string[];
  limit: number;
  /** Only the spans a trace view draws ({@link TRACE_VIEW_FILTER}). @default true */
  viewFilter?: boolean;
  /** With the view filter, also the LLM calls ({@link LLM_SPAN_FILTER}). @default false */
  llmSpans?: boolean;
  /**
   * Bound the scan by the traces' time window from `otel_traces_trace_id_ts` (as the exporter's README does), so only
   * the days a trace spans are read. Off, the TraceId bloom filter is all that narrows it (a benchmark baseline).
   * @default true
   */
  useLookup?: boolean;
}

/**
 * The spans of some traces, oldest first (spans that start together: a parent before its children, then by span id),
 * camelCased; nanoseconds as decimal strings.
 */
export async function readTraceSpans(ch: ClickHouse, options: ReadTraceSpansOptions): Promise<TraceSpan[]> {
  if (options.traceIds.length === 0) return [];
  const window =
    (options.useLookup ?? true)
      ? `AND Timestamp >= (SELECT min(Start) FROM ${qualified(ch, 'otel_traces_trace_id_ts')} WHERE TraceId IN {ids:Array(String)})
         AND Timestamp <= (SELECT max(End) + 1 FROM ${qualified(ch, 'otel_traces_trace_id_ts')} WHERE TraceId IN {ids:Array(String)})`
      : '';
  const query = `SELECT ${COLUMNS} FROM ${qualified(ch, 'otel_traces')}
    WHERE OrganizationId = {org:String} AND TraceId IN {ids:Array(String)} ${window}
      ${(options.viewFilter ?? true) ? `AND (${TRACE_VIEW_FILTER}${options.llmSpans ? ` OR ${LLM_SPAN_FILTER}` : ''})` : ''}
    ORDER BY Timestamp, SpanId
    LIMIT {limit:UInt32}`;
  let rows: SpanRow[];
  try {
    const result = await ch.client.query({
      query,
      query_params: { org: options.organizationId, ids: options.traceIds, limit: options.limit },
      format: 'JSONEachRow',
    });
    rows = await result.json<SpanRow>();
  } catch (err) {
    throw clickhouseFailure(err);
  }
  return parentsFirstOnTies(rows.map(toTraceSpan));
}

/**
 * Spans ordered by start come out in span-id order when they start in the same nanosecond, which SDKs that keep
 * milliseconds (the AI SDK) make common: a step and the model call it makes. Within each such group a span goes after
 * its ancestors (fewer ancestors first), so a waterfall never draws a child above its parent.
 */
function parentsFirstOnTies(spans: TraceSpan[]): TraceSpan[] {
  const key = (s: TraceSpan) => `${s.traceId}/${s.spanId}`;
  let depths: Map<string, number> | undefined;
  for (let start = 0; start < spans.length; ) {
    let end = start + 1;
    while (end < spans.length && spans[end]?.timestamp === spans[start]?.timestamp) end += 1;
    if (end - start > 1) {
      depths ??= ancestorCounts(spans, key);
      const depth = depths;
      const group = spans
        .slice(start, end)
        .sort(
          (a, b) =>
            (depth.get(key(a)) ?? 0) - (depth.get(key(b)) ?? 0) ||
            (a.spanId < b.spanId ? -1 : a.spanId > b.spanId ? 1 : 0),
        );
      spans.splice(start, end - start, ...group);
    }
    start = end;
  }
  return spans;
}

/** How many ancestors each span has among `spans` (a parent outside them counts as one). */
function ancestorCounts(spans: TraceSpan[], key: (s: TraceSpan) => string): Map<string, number> {
  const parents = new Map(spans.map((s) => [key(s), s.parentSpanId]));
  const depths = new Map<string, number>();
  for (const s of spans) {
    let depth = 0;
    let parent = s.parentSpanId;
    // bounded: a cycle (malformed ids) must not loop forever
    while (parent && depth < spans.length) {
      depth += 1;
      parent = parents.get(`${s.traceId}/${parent}`) ?? '';
    }
    depths.set(key(s), depth);
  }
  return depths;
}

function toTraceSpan(row: SpanRow): TraceSpan {
  const {
    eventTimestamps,
    eventNames,
    eventAttributes,
    linkTraceIds,
    linkSpanIds,
    linkTraceStates,
    linkAttributes,
    ...span
  } = row;
  return {
    ...span,
    events: eventTimestamps.map((timestamp, i) => ({
      timestamp,
      name: eventNames[i] ?? '',
      attributes: eventAttributes[i] ?? {},
    })),
    links: linkTraceIds.map((traceId, i) => ({
      traceId,
      spanId: linkSpanIds[i] ?? '',
      traceState: linkTraceStates[i] ?? '',
      attributes: linkAttributes[i] ?? {},
    })),
  };
}
