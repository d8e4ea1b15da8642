/**
 * The socket telemetry protocol, version 1 (letta-behavior §7.2–§7.4): one JSON record per line (NDJSON) over a Unix
 * stream socket. Shared by the socket backend (the writer) and apps/sidecar (the reader), so both speak one format.
 */
import { type ProviderTrace, traceBodiesJson } from './provider-trace.ts';

/** The protocol this code writes and the only one the sidecar accepts ("must match ProtocolVersion" in Letta's sidecar). */
export const PROTOCOL_VERSION = 1;

/**
 * One v1 record. The key order below is the wire order (Letta's `_send_to_crouton` builds the dict in this order);
 * {@link toSocketRecord} builds the object literal in the same order, so `JSON.stringify` keeps it.
 */
export interface SocketRecordV1 {
  protocol_version: typeof PROTOCOL_VERSION;
  provider_trace_id: string;
  agent_id: string | null;
  run_id: string | null;
  step_id: string | null;
  /** `agent_tags or []`. */
  tags: string[];
  /** `call_type or "agent_step"`. */
  type: string;
  /** `request_json or {}`. */
  request: Record<string, unknown>;
  /** The response, or null when an error message was extracted from it (§7.3). */
  response: Record<string, unknown> | null;
  /**
   * `response.error.message` when `response.error` is an object (§7.3), else null. Usually a string; passed through
   * as-is when a provider puts another JSON value there, as the reference does.
   */
  error: unknown;
  /** When the record was built: UTC ISO-8601 with microseconds and `+00:00`, e.g. `2026-01-16T21:00:52.123456+00:00`. */
  timestamp: string;
}

/** Python truthiness of a JSON value: `None`, `False`, `0`, `""`, `[]` and `{}` are falsy. */
function pyTruthy(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * §7.3: `error = response["error"].get("message") if isinstance(response.get("error"), dict) else None`, and the
 * response is dropped only when that error is truthy. So `{"error":{"message":""}}` gives error `""` with the
 * response kept, `{"error":"boom"}` and `{"error":{"type":"x"}}` give error null with the response kept.
 */
export function extractError(response: Record<string, unknown>): {
  error: unknown;
  response: Record<string, unknown> | null;
} {
  const inner = response.error;
  const error = isPlainObject(inner) && Object.hasOwn(inner, 'message') ? (inner.message ?? null) : null;
  return { error, response: pyTruthy(error) ? null : response };
}

/**
 * `datetime.now(timezone.utc).isoformat()`: microseconds and `+00:00`. Python omits the fraction when it is exactly
 * zero; we always print six digits (one in a million records differs, and every ISO parser reads both).
 * @param epochMs milliseconds since the epoch, fractional (microseconds are its first three decimals)
 */
export function pythonIsoTimestamp(epochMs: number): string {
  const whole = Math.floor(epochMs);
  const micros = Math.min(999, Math.floor((epochMs - whole) * 1000));
  return `${new Date(whole).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}+00:00`;
}

/** Wall-clock time with microsecond resolution (Date.now() has only milliseconds). */
export function nowEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The v1 record of a trace, exactly as Letta's socket backend builds it (§7.2). */
export function toSocketRecord(trace: ProviderTrace, epochMs: number = nowEpochMs()): SocketRecordV1 {
  const response = trace.responseJson ?? {};
  const extracted = extractError(response);
  return {
    protocol_version: PROTOCOL_VERSION,
    provider_trace_id: trace.id,
    agent_id: trace.agentId ?? null,
    run_id: trace.runId ?? null,
    step_id: trace.stepId ?? null,
    tags: trace.agentTags ?? [],
    type: trace.callType || 'agent_step',
    request: trace.requestJson ?? {},
    response: extracted.response,
    error: extracted.error,
    timestamp: pythonIsoTimestamp(epochMs),
  };
}

/**
 * One NDJSON line: compact JSON and `\n`. Letta writes `json.dumps(record)`, with `", "`/`": "` separators and
 * `\uXXXX` escapes for non-ASCII; any JSON parser (Letta's Go sidecar included) reads the compact UTF-8 form just
 * the same, and it is what `JSON.stringify` produces fastest and smallest. Unlike Python's default, it never writes
 * the invalid bare tokens `NaN`/`Infinity` (they become `null`).
 */
export function encodeRecord(record: SocketRecordV1): string {
  return `${JSON.stringify(record)}\n`;
}

/**
 * `encodeRecord(toSocketRecord(trace, epochMs))`, with the request and response spliced in as the text other backends
 * share ({@link traceBodiesJson}) rather than serialized again.
 */
export function encodeTraceRecord(trace: ProviderTrace, epochMs: number = nowEpochMs()): string {
  return traceRecordParts(trace, epochMs).join('');
}

/**
 * {@link encodeTraceRecord}'s line in five pieces whose concatenation is the line: the head, the request's JSON, the
 * response key, the response's JSON (or `null`), the tail. The bodies are the shared strings themselves, so a writer
 * can copy each piece into its buffer without first building (and flattening) a 2 KB string per record.
 */
export function traceRecordParts(
  trace: ProviderTrace,
  epochMs: number = nowEpochMs(),
): [string, string, string, string, string] {
  const { error, response } = extractError(trace.responseJson ?? {});
  const bodies = traceBodiesJson(trace);
  return [
    `{"protocol_version":${PROTOCOL_VERSION},"provider_trace_id":${JSON.stringify(trace.id)}` +
      `,"agent_id":${JSON.stringify(trace.agentId ?? null)},"run_id":${JSON.stringify(trace.runId ?? null)}` +
      `,"step_id":${JSON.stringify(trace.stepId ?? null)},"tags":${JSON.stringify(trace.agentTags ?? [])}` +
      `,"type":${JSON.stringify(trace.callType || 'agent_step')},"request":`,
    trace.requestJson ? bodies.request : '{}',
    ',"response":',
    response === null ? 'null' : bodies.response,
    `,"error":${JSON.stringify(error)},"timestamp":"${pythonIsoTimestamp(epochMs)}"}\n`,
  ];
}

export type DecodeResult =
  | { kind: 'ok'; record: SocketRecordV1 }
  | { kind: 'malformed'; reason: string }
  | { kind: 'unsupported_version'; version: unknown };

const nullableString = (v: unknown) => v === null || typeof v === 'string';
/** ISO-8601 date-time with an offset (Python's isoformat, with or without the fraction, or `Z`); cheaper than Date.parse. */
export const ISO_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;

/**
 * Parses and validates one line (without or with its trailing newline). A line that is not a JSON object is
 * `malformed`; an object whose `protocol_version` is not {@link PROTOCOL_VERSION} (missing included) is
 * `unsupported_version`; a v1 object with a missing or mistyped field is `malformed`. Never throws.
 */
export function decodeLine(line: string | Uint8Array): DecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(
      typeof line === 'string' ? line : Buffer.isBuffer(line) ? line.toString('utf8') : new TextDecoder().decode(line),
    );
  } catch (err) {
    return { kind: 'malformed', reason: `invalid JSON: ${(err as Error).message}` };
  }
  if (!isPlainObject(value)) return { kind: 'malformed', reason: 'not a JSON object' };
  if (value.protocol_version !== PROTOCOL_VERSION)
    return { kind: 'unsupported_version', version: value.protocol_version };
  const r = value;
  if (typeof r.provider_trace_id !== 'string' || r.provider_trace_id === '') return bad('provider_trace_id');
  if (!nullableString(r.agent_id)) return bad('agent_id');
  if (!nullableString(r.run_id)) return bad('run_id');
  if (!nullableString(r.step_id)) return bad('step_id');
  if (!Array.isArray(r.tags) || !r.tags.every((t) => typeof t === 'string')) return bad('tags');
  if (typeof r.type !== 'string') return bad('type');
  if (!isPlainObject(r.request)) return bad('request');
  if (r.response !== null && !isPlainObject(r.response)) return bad('response');
  if (!('error' in r)) return bad('error');
  if (typeof r.timestamp !== 'string' || !ISO_TIMESTAMP.test(r.timestamp)) return bad('timestamp');
  return { kind: 'ok', record: r as unknown as SocketRecordV1 };
}

function bad(field: string): DecodeResult {
  return { kind: 'malformed', reason: `missing or invalid field ${field}` };
}
