/**
 * OTLP trace export requests (OTLP/HTTP, JSON or protobuf) → `otel_traces` rows, and the protocol's answers.
 *
 * Rows are built as JSONEachRow text straight from the decoded request, the way the OpenTelemetry Collector's
 * ClickHouse exporter fills its columns: ids as lowercase hex, `SpanKind`/`StatusCode` as pdata names (`Server`,
 * `Error`), attribute values as strings (pdata's AsString: numbers in decimal, arrays and maps as JSON, bytes in
 * base64), `Duration` = end − start in nanoseconds. The caller's organization is written into the resource attribute
 * `runtrace.organization_id`, replacing whatever the client sent (CONTRACTS §7).
 *
 * A request that cannot be decoded is an {@link InvalidArgument}. A decodable request whose spans are partly invalid
 * (ids of the wrong length, an end before the start, …) keeps the valid ones and reports the rest as the spec's
 * partial success.
 *
 * Text no store can keep is made storable rather than refused ({@link toStorableText}): an unpaired UTF-16 surrogate
 * (which OTLP/JSON can carry as `\ud800`, and which makes ClickHouse refuse a whole INSERT shared with other
 * requests) becomes U+FFFD, and NUL is removed, in every string of a span (names, keys, values, events, links,
 * status, resource and scope). Protobuf decoding already turns invalid UTF-8 into U+FFFD, so both encodings of a span
 * store the same row, and a span is not lost over one character; the answer warns how many spans were changed.
 */
import { Buffer } from 'node:buffer';
import { InvalidArgument } from '../errors.ts';
import { toStorableText } from '../storable-text.ts';
import { otlpProtoTypes } from './otlp-proto.ts';

export type OtlpFormat = 'json' | 'protobuf';

/** The spans of one export request as `otel_traces` rows. */
export interface OtlpRows {
  /** JSONEachRow lines, joined by newlines (no trailing one); '' when there are none. */
  lines: string;
  rows: number;
  /** Spans refused for invalid data (partial success). */
  rejected: number;
  /** Spans kept with text made storable (unpaired surrogates → U+FFFD, NUL removed). */
  altered: number;
  /** Why, when `rejected` > 0: each reason with its count; the warning about altered spans. */
  errorMessage: string;
}

/** The exporter's warning about `altered` spans, or ''. */
export function alteredSpansWarning(altered: number): string {
  return altered
    ? `${altered} span${altered === 1 ? '' : 's'} kept with text changed: unpaired surrogates replaced by U+FFFD, NUL characters removed`
    : '';
}

/** The resource attribute that carries the caller's organization; `otel_traces.OrganizationId` is derived from it. */
export const ORGANIZATION_ATTRIBUTE = 'runtrace.organization_id';

/** pdata's SpanKind.String() (what the exporter writes), by the proto's enum number. */
const SPAN_KINDS = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'];
/** pdata's StatusCode.String(), by enum number. */
const STATUS_CODES = ['Unset', 'Ok', 'Error'];
/** OTLP/JSON sends enums as numbers; the protobuf JSON mapping also allows their names. */
const SPAN_KIND_NAMES: Record<string, number> = {
  SPAN_KIND_UNSPECIFIED: 0,
  SPAN_KIND_INTERNAL: 1,
  SPAN_KIND_SERVER: 2,
  SPAN_KIND_CLIENT: 3,
  SPAN_KIND_PRODUCER: 4,
  SPAN_KIND_CONSUMER: 5,
};
const STATUS_CODE_NAMES: Record<string, number> = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };
/** The largest nanosecond timestamp DateTime64(9) holds (2262-04-11). */
const MAX_NS = 9_223_372_036_854_775_807n;
/** Attribute values nest (arrays, maps); deeper than this is refused rather than recursed into. */
const MAX_DEPTH = 32;
const HEX_32 = /^[0-9a-fA-F]{32}$/;
const HEX_16 = /^[0-9a-fA-F]{16}$/;
const DECIMAL = /^-?\d{1,20}$/;
/** The all-zero (invalid) ids, by byte length. */
const ZERO_IDS: Record<number, string> = { 8: '0'.repeat(16), 16: '0'.repeat(32) };

type Obj = Record<string, unknown>;

/**
 * Decodes an `ExportTraceServiceRequest` and turns its spans into `otel_traces` rows of `organizationId`.
 * @throws InvalidArgument when the body is not a request in that format.
 */
export function otlpToRows(body: Uint8Array, format: OtlpFormat, organizationId: string): OtlpRows {
  let request: unknown;
  if (format === 'json') {
    try {
      request = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
    } catch (err) {
      throw new InvalidArgument(`the body is not JSON: ${(err as Error).message}`);
    }
  } else {
    try {
      request = otlpProtoTypes().ExportTraceServiceRequest.decode(body);
    } catch (err) {
      throw new InvalidArgument(`the body is not an OTLP protobuf ExportTraceServiceRequest: ${(err as Error).message}`);
    }
  }
  return new RowBuilder(format === 'protobuf', organizationId).build(request);
}

/** protobufjs's 64-bit integers (Long from the `long` package). */
interface LongLike {
  low: number;
  high: number;
}

/** AnyValue's fields, the most frequent first. */
const ANY_VALUE_FIELDS = ['stringValue', 'intValue', 'boolValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'];

function hasValue(value: Obj, field: string): boolean {
  return value[field] !== undefined;
}

/**
 * One request's walk. Where it is in the request is kept as a stack of path segments (pushed and popped, nothing
 * allocated per field), rendered only when something is malformed: `resourceSpans[0].scopeSpans[1].spans[7].name`.
 */
class RowBuilder {
  readonly #proto: boolean;
  readonly #organizationId: string;
  readonly #lines: string[] = [];
  readonly #reasons = new Map<string, number>();
  readonly #path: (string | number)[] = [];
  #rejected = 0;
  #altered = 0;
  /** Whether the span being built had text made storable. */
  #alteredSpan = false;

  constructor(proto: boolean, organizationId: string) {
    this.#proto = proto;
    this.#organizationId = organizationId;
  }

  build(request: unknown): OtlpRows {
    const req = this.#object(request, 'request');
    const resourceSpansList = this.#list(req.resourceSpans, 'resourceSpans');
    this.#path.push('resourceSpans');
    for (let i = 0; i < resourceSpansList.length; i++) {
      this.#path.push(i);
      const resourceSpans = this.#object(resourceSpansList[i], null);
      const resource = this.#optionalObject(resourceSpans.resource, 'resource');
      // resource and scope text is in every row under them: their changes count for each of those spans
      this.#alteredSpan = false;
      this.#path.push('resource');
      const attributes = this.#attributeMap(resource?.attributes);
      this.#path.pop();
      const resourceAltered = this.#alteredSpan;
      const service = attributes['service.name'] ?? '';
      attributes[ORGANIZATION_ATTRIBUTE] = this.#organizationId;
      const resourcePart = `{"ServiceName":${JSON.stringify(service)},"ResourceAttributes":${JSON.stringify(attributes)}`;
      const scopeSpansList = this.#list(resourceSpans.scopeSpans, 'scopeSpans');
      this.#path.push('scopeSpans');
      for (let j = 0; j < scopeSpansList.length; j++) {
        this.#path.push(j);
        const scopeSpans = this.#object(scopeSpansList[j], null);
        const scope = this.#optionalObject(scopeSpans.scope, 'scope');
        this.#alteredSpan = resourceAltered;
        this.#path.push('scope');
        const prefix =
          `${resourcePart},"ScopeName":${JSON.stringify(this.#str(scope?.name, 'name'))}` +
          `,"ScopeVersion":${JSON.stringify(this.#str(scope?.version, 'version'))}`;
        this.#path.pop();
        const scopeAltered = this.#alteredSpan;
        const spans = this.#list(scopeSpans.spans, 'spans');
        this.#path.push('spans');
        for (let k = 0; k < spans.length; k++) {
          this.#path.push(k);
          this.#alteredSpan = scopeAltered;
          const refused = this.#span(prefix, this.#object(spans[k], null));
          if (refused) this.#reject(refused);
          else if (this.#alteredSpan) this.#altered += 1;
          this.#path.pop();
        }
        this.#path.length -= 2;
      }
      this.#path.length -= 2;
    }
    this.#path.pop();
    const rejected = this.#rejected;
    const reasons = rejected
      ? `${rejected} span${rejected === 1 ? '' : 's'} rejected: ${[...this.#reasons].map(([r, n]) => `${r} (${n})`).join('; ')}`
      : '';
    return {
      lines: this.#lines.join('\n'),
      rows: this.#lines.length,
      rejected,
      altered: this.#altered,
      errorMessage: [reasons, alteredSpansWarning(this.#altered)].filter(Boolean).join('; '),
    };
  }

  #reject(reason: string): void {
    this.#rejected += 1;
    this.#reasons.set(reason, (this.#reasons.get(reason) ?? 0) + 1);
  }

  /** Adds the span's row; returns why it was refused instead, or null. */
  #span(prefix: string, span: Obj): string | null {
    const traceId = this.#id(span.traceId, 16, 'traceId') ?? '';
    if (!traceId) return 'traceId is not 16 bytes (32 hex digits), or is all zeros';
    const spanId = this.#id(span.spanId, 8, 'spanId') ?? '';
    if (!spanId) return 'spanId is not 8 bytes (16 hex digits), or is all zeros';
    // an empty or all-zero parent means a root span (the exporter writes both as '')
    const parentSpanId = this.#id(span.parentSpanId, 8, 'parentSpanId');
    if (parentSpanId === null) return 'parentSpanId is neither empty nor 8 bytes';
    const start = this.#nanos(span.startTimeUnixNano, 'startTimeUnixNano');
    const end = this.#nanos(span.endTimeUnixNano, 'endTimeUnixNano');
    if (start === null || end === null) return 'a timestamp is past 2262-04-11 (beyond DateTime64(9))';
    if (end < start) return 'endTimeUnixNano is before startTimeUnixNano';
    const status = this.#optionalObject(span.status, 'status');
    const kind = SPAN_KINDS[this.#enum(span.kind, SPAN_KIND_NAMES, 'kind')] ?? '';
    this.#path.push('status');
    const statusCode = STATUS_CODES[this.#enum(status?.code, STATUS_CODE_NAMES, 'code')] ?? '';
    const statusMessage = this.#str(status?.message, 'message');
    this.#path.pop();
    let line =
      `${prefix},"Timestamp":${start},"TraceId":"${traceId}","SpanId":"${spanId}","ParentSpanId":"${parentSpanId}"` +
      `,"TraceState":${JSON.stringify(this.#str(span.traceState, 'traceState'))}` +
      `,"SpanName":${JSON.stringify(this.#str(span.name, 'name'))},"SpanKind":"${kind}"` +
      `,"SpanAttributes":${this.#attributes(span.attributes)}` +
      `,"Duration":${end - start},"StatusCode":"${statusCode}","StatusMessage":${JSON.stringify(statusMessage)}`;

    const events = this.#list(span.events, 'events');
    if (events.length) {
      const times: bigint[] = [];
      const names: string[] = [];
      const attributes: string[] = [];
      this.#path.push('events');
      for (let e = 0; e < events.length; e++) {
        this.#path.push(e);
        const event = this.#object(events[e], null);
        const time = this.#nanos(event.timeUnixNano, 'timeUnixNano');
        names.push(JSON.stringify(this.#str(event.name, 'name')));
        attributes.push(this.#attributes(event.attributes));
        this.#path.pop();
        if (time === null) {
          this.#path.pop();
          return 'an event timestamp is past 2262-04-11 (beyond DateTime64(9))';
        }
        times.push(time);
      }
      this.#path.pop();
      line += `,"Events.Timestamp":[${times.join(',')}],"Events.Name":[${names.join(',')}],"Events.Attributes":[${attributes.join(',')}]`;
    }

    const links = this.#list(span.links, 'links');
    if (links.length) {
      const traceIds: string[] = [];
      const spanIds: string[] = [];
      const states: string[] = [];
      const attributes: string[] = [];
      this.#path.push('links');
      for (let l = 0; l < links.length; l++) {
        this.#path.push(l);
        const link = this.#object(links[l], null);
        const linkTrace = this.#id(link.traceId, 16, 'traceId') ?? '';
        const linkSpan = this.#id(link.spanId, 8, 'spanId') ?? '';
        states.push(JSON.stringify(this.#str(link.traceState, 'traceState')));
        attributes.push(this.#attributes(link.attributes));
        this.#path.pop();
        if (!linkTrace || !linkSpan) {
          this.#path.pop();
          return 'a link has an invalid traceId or spanId';
        }
        traceIds.push(`"${linkTrace}"`);
        spanIds.push(`"${linkSpan}"`);
      }
      this.#path.pop();
      line +=
        `,"Links.TraceId":[${traceIds.join(',')}],"Links.SpanId":[${spanIds.join(',')}]` +
        `,"Links.TraceState":[${states.join(',')}],"Links.Attributes":[${attributes.join(',')}]`;
    }
    this.#lines.push(`${line}}`);
    return null;
  }

  /**
   * A trace id (16 bytes) or span id (8 bytes) as lowercase hex: hex text in JSON, bytes in protobuf. Absent, empty or
   * all zeros (the invalid id) → ''; the wrong length or not hex → null.
   */
  #id(value: unknown, bytes: 8 | 16, field: string): string | null {
    let hex: string;
    if (value === undefined || value === null) return '';
    if (this.#proto) {
      const raw = value as Uint8Array;
      if (raw.length === 0) return '';
      if (raw.length !== bytes) return null;
      hex = (Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)).toString('hex');
    } else if (typeof value === 'string') {
      if (value === '') return '';
      if (!(bytes === 16 ? HEX_32 : HEX_16).test(value)) return null;
      hex = value.toLowerCase();
    } else {
      throw this.#malformed(field, 'must be a hex string');
    }
    return hex === ZERO_IDS[bytes] ? '' : hex;
  }

  /** A fixed64 nanosecond timestamp (protobuf Long, JSON decimal string or number); null beyond DateTime64(9). */
  #nanos(value: unknown, field: string): bigint | null {
    const ns = this.#proto ? longToBigInt(value as LongLike, true) : this.#jsonInteger(value, field);
    if (ns < 0n) throw this.#malformed(field, 'must not be negative');
    return ns > MAX_NS ? null : ns;
  }

  /** A KeyValue list → a map of strings (pdata's AsString), in a null-prototype object (`__proto__` is a plain key). */
  #attributeMap(value: unknown): Record<string, string> {
    const map: Record<string, string> = Object.create(null);
    if (value === undefined || value === null) return map;
    const kvs = this.#list(value, 'attributes');
    this.#path.push('attributes');
    for (let i = 0; i < kvs.length; i++) {
      this.#path.push(i);
      const kv = this.#object(kvs[i], null);
      map[this.#str(kv.key, 'key')] = this.#asString(kv.value);
      this.#path.pop();
    }
    this.#path.pop();
    return map;
  }

  /**
   * A KeyValue list → the JSON text of its map of strings (the hot path). A plain object is the fastest to serialize;
   * a repeated key keeps its last value, as in a map; `__proto__` is defined as an own key (assigning it would set the
   * prototype and lose it).
   */
  #attributes(value: unknown): string {
    if (value === undefined || value === null) return '{}';
    const kvs = this.#list(value, 'attributes');
    if (kvs.length === 0) return '{}';
    const map: Record<string, string> = {};
    this.#path.push('attributes');
    for (let i = 0; i < kvs.length; i++) {
      this.#path.push(i);
      const kv = this.#object(kvs[i], null);
      const key = this.#str(kv.key, 'key');
      const text = this.#asString(kv.value);
      if (key === '__proto__') Object.defineProperty(map, key, { value: text, enumerable: true, writable: true, configurable: true });
      else map[key] = text;
      this.#path.pop();
    }
    this.#path.pop();
    return JSON.stringify(map);
  }

  /**
   * The field an AnyValue holds. protobufjs sets only the present field as an own property (defaults live on the
   * prototype); JSON has only the present field.
   */
  #which(value: Obj): string | undefined {
    const has = this.#proto ? Object.hasOwn : hasValue;
    for (const field of ANY_VALUE_FIELDS) {
      if (has(value, field)) return field;
    }
    return undefined;
  }

  /** pdata's Value.AsString() of a KeyValue's `value`. */
  #asString(value: unknown): string {
    if (value === undefined || value === null) return '';
    // the common case first: a string value
    const text = (value as Obj).stringValue;
    if (typeof text === 'string' && (!this.#proto || Object.hasOwn(value as Obj, 'stringValue'))) return this.#storable(text);
    return this.#asStringSlow(value);
  }

  #asStringSlow(value: unknown): string {
    this.#path.push('value');
    const v = this.#object(value, null);
    let text: string;
    switch (this.#which(v)) {
      case 'stringValue':
        text = this.#str(v.stringValue, 'stringValue');
        break;
      case 'boolValue':
        text = this.#bool(v.boolValue, 'boolValue') ? 'true' : 'false';
        break;
      case 'intValue':
        text = this.#int(v.intValue, 'intValue');
        break;
      case 'doubleValue':
        text = formatDouble(this.#double(v.doubleValue, 'doubleValue'));
        break;
      case 'bytesValue':
        text = this.#base64(v.bytesValue, 'bytesValue');
        break;
      case 'arrayValue':
      case 'kvlistValue':
        text = this.#raw(v, 0);
        break;
      default:
        text = '';
    }
    this.#path.pop();
    return text;
  }

  /** pdata's AsRaw() as JSON text: nested arrays and maps keep their value types (ints stay exact). */
  #raw(v: Obj, depth: number): string {
    if (depth > MAX_DEPTH) throw this.#malformed(null, `nests deeper than ${MAX_DEPTH} levels`);
    switch (this.#which(v)) {
      case 'stringValue':
        return JSON.stringify(this.#str(v.stringValue, 'stringValue'));
      case 'boolValue':
        return this.#bool(v.boolValue, 'boolValue') ? 'true' : 'false';
      case 'intValue':
        return this.#int(v.intValue, 'intValue');
      case 'doubleValue': {
        const d = this.#double(v.doubleValue, 'doubleValue');
        return Number.isFinite(d) ? String(d) : JSON.stringify(formatDouble(d));
      }
      case 'bytesValue':
        return JSON.stringify(this.#base64(v.bytesValue, 'bytesValue'));
      case 'arrayValue':
      case 'kvlistValue': {
        const isArray = this.#which(v) === 'arrayValue';
        const field = isArray ? 'arrayValue' : 'kvlistValue';
        const container = this.#optionalObject(v[field], field);
        this.#path.push(field);
        const values = this.#list(container?.values, 'values');
        this.#path.push('values');
        const parts: string[] = [];
        for (let i = 0; i < values.length; i++) {
          this.#path.push(i);
          const item = this.#object(values[i], null);
          if (isArray) {
            parts.push(this.#raw(item, depth + 1));
          } else {
            const key = JSON.stringify(this.#str(item.key, 'key'));
            this.#path.push('value');
            const value = item.value === undefined || item.value === null ? 'null' : this.#raw(this.#object(item.value, null), depth + 1);
            this.#path.pop();
            parts.push(`${key}:${value}`);
          }
          this.#path.pop();
        }
        this.#path.length -= 2;
        return isArray ? `[${parts.join(',')}]` : `{${parts.join(',')}}`;
      }
      default:
        return 'null';
    }
  }

  #int(value: unknown, field: string): string {
    return (this.#proto ? longToBigInt(value as LongLike, false) : this.#jsonInteger(value, field)).toString();
  }

  #double(value: unknown, field: string): number {
    if (typeof value === 'number') return value;
    // The protobuf JSON mapping writes the non-finite doubles as strings.
    if (!this.#proto && (value === 'NaN' || value === 'Infinity' || value === '-Infinity')) return Number(value);
    throw this.#malformed(field, 'must be a number');
  }

  #base64(value: unknown, field: string): string {
    if (this.#proto) {
      const raw = value as Uint8Array;
      return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64');
    }
    return this.#str(value, field);
  }

  /** An int64 in OTLP/JSON: a decimal string (the protobuf JSON mapping) or a number. */
  #jsonInteger(value: unknown, field: string): bigint {
    if (value === undefined || value === null) return 0n;
    if (typeof value === 'string' && DECIMAL.test(value)) return BigInt(value);
    if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
    throw this.#malformed(field, 'must be an integer (a decimal string or a number)');
  }

  #enum(value: unknown, names: Record<string, number>, field: string): number {
    if (value === undefined || value === null) return 0;
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'string' && value in names) return names[value] as number;
    throw this.#malformed(field, 'must be an enum number');
  }

  #object(value: unknown, field: string | null): Obj {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.#malformed(field, 'must be an object');
    return value as Obj;
  }

  #optionalObject(value: unknown, field: string): Obj | undefined {
    return value === undefined || value === null ? undefined : this.#object(value, field);
  }

  #list(value: unknown, field: string): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw this.#malformed(field, 'must be an array');
    return value;
  }

  #str(value: unknown, field: string): string {
    if (value === undefined || value === null) return '';
    if (typeof value !== 'string') throw this.#malformed(field, 'must be a string');
    return this.#storable(value);
  }

  /** Every string of the request passes here ({@link toStorableText}); a change marks the span as altered. */
  #storable(text: string): string {
    const storable = toStorableText(text);
    if (storable !== text) this.#alteredSpan = true;
    return storable;
  }

  #bool(value: unknown, field: string): boolean {
    if (typeof value !== 'boolean') throw this.#malformed(field, 'must be a boolean');
    return value;
  }

  /** The malformed part, named by its path, e.g. `resourceSpans[0].scopeSpans[2].spans[5].name`. */
  #malformed(field: string | null, what: string): InvalidArgument {
    let path = '';
    for (const segment of field === null ? this.#path : [...this.#path, field]) {
      path += typeof segment === 'number' ? `[${segment}]` : path ? `.${segment}` : segment;
    }
    return new InvalidArgument(`malformed OTLP export request: ${path || 'the request'} ${what}`, { field: path || undefined });
  }
}

function longToBigInt(value: LongLike | null | undefined, unsigned: boolean): bigint {
  if (!value) return 0n;
  const bits = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  return unsigned ? bits : BigInt.asIntN(64, bits);
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64) for the usual range; JavaScript's shortest form beyond it. */
function formatDouble(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

// ---- answers ---------------------------------------------------------------------------------------------------

/** The content type an OTLP answer goes back in: the request's. */
export const OTLP_CONTENT_TYPES: Record<OtlpFormat, string> = {
  json: 'application/json',
  protobuf: 'application/x-protobuf',
};

/**
 * An `ExportTraceServiceResponse`: empty when every span was accepted as it was; with `partial_success` (the count and
 * the reasons) when some were rejected, or only its message as a warning when spans were kept altered, as the OTLP
 * specification asks.
 */
export function encodeExportResponse(format: OtlpFormat, rejected: number, errorMessage: string): Uint8Array {
  // With nothing rejected, a message is a warning (the spec allows it: rejected_spans 0, error_message set).
  const partial = rejected > 0 || errorMessage !== '';
  const response = partial ? { partialSuccess: { rejectedSpans: rejected, errorMessage } } : {};
  if (format === 'json') {
    // The protobuf JSON mapping writes int64 as a decimal string, and leaves out fields at their default.
    const json = partial ? { partialSuccess: { ...(rejected > 0 ? { rejectedSpans: String(rejected) } : {}), errorMessage } } : {};
    return Buffer.from(JSON.stringify(json));
  }
  const { ExportTraceServiceResponse } = otlpProtoTypes();
  return ExportTraceServiceResponse.encode(ExportTraceServiceResponse.fromObject(response)).finish();
}

/** gRPC status codes used in OTLP error bodies (google.rpc.Code). */
export const RPC_CODES = {
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** The body of an OTLP/HTTP error answer: a `google.rpc.Status`, encoded like the request. */
export function encodeStatus(format: OtlpFormat, code: number, message: string): Uint8Array {
  if (format === 'json') return Buffer.from(JSON.stringify({ code, message }));
  const { Status } = otlpProtoTypes();
  return Status.encode(Status.fromObject({ code, message })).finish();
}
