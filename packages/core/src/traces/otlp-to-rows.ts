/**
 * OTLP trace export requests (OTLP/HTTP, JSON or protobuf) → `otel_traces` rows. JSON is walked here as parsed
 * objects; protobuf is read straight from the wire format (otlp-wire-rows.ts) into the same rows.
 *
 * Rows are built as JSONEachRow text straight from the decoded request, the way the OpenTelemetry Collector's
 * ClickHouse exporter fills its columns: ids as lowercase hex, `SpanKind`/`StatusCode` as pdata names (`Server`,
 * `Error`), attribute values as strings (pdata's AsString: numbers in decimal, arrays and maps as JSON, bytes in
 * base64), `Duration` = end − start in nanoseconds. The caller's organization is written into the resource attribute
 * `runtrace.organization_id`, replacing whatever the client sent (CONTRACTS §7).
 *
 * A request that cannot be decoded is an {@link InvalidArgument}. A decodable request whose spans are partly invalid
 * (ids of the wrong length, an end before the start, …) keeps the valid ones and reports the rest as the spec's
 * partial success ({@link partialSuccessMessage}). Values are read and checked by {@link OtlpValueReader}.
 *
 * Text no store can keep is made storable rather than refused ({@link toStorableText}): an unpaired UTF-16 surrogate
 * (which OTLP/JSON can carry as `\ud800`, and which makes ClickHouse refuse a whole INSERT shared with other
 * requests) becomes U+FFFD, and NUL is removed, in every string of a span (names, keys, values, events, links,
 * status, resource and scope). Protobuf decoding already turns invalid UTF-8 into U+FFFD, so both encodings of a span
 * store the same row, and a span is not lost over one character; the answer warns how many spans were changed.
 */
import { Buffer } from 'node:buffer';
import { InvalidArgument } from '../errors.ts';
import { type OtlpFormat, partialSuccessMessage } from './encode-export-response.ts';
import {
  ORGANIZATION_ATTRIBUTE,
  type OtlpRows,
  RUNS_FROM_SPANS_ATTRIBUTE,
  SPAN_KINDS,
  STATUS_CODES,
} from './otlp-row-parts.ts';
import { type Obj, OtlpValueReader } from './otlp-value-reader.ts';
import { protobufToRows } from './otlp-wire-rows.ts';

export { ORGANIZATION_ATTRIBUTE, type OtlpRows, RUNS_FROM_SPANS_ATTRIBUTE } from './otlp-row-parts.ts';

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

/**
 * Decodes an `ExportTraceServiceRequest` and turns its spans into `otel_traces` rows of `organizationId`.
 * @throws InvalidArgument when the body is not a request in that format.
 */
export function otlpToRows(body: Uint8Array, format: OtlpFormat, organizationId: string): OtlpRows {
  if (format === 'protobuf') return protobufToRows(body, organizationId);
  let request: unknown;
  try {
    request = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (err) {
    throw new InvalidArgument(`the body is not JSON: ${(err as Error).message}`);
  }
  return new RowBuilder(organizationId).build(request);
}

/** One OTLP/JSON request's walk: resource → scope → span, each span a row or a reason it was refused. */
class RowBuilder extends OtlpValueReader {
  readonly #organizationId: string;
  readonly #lines: string[] = [];
  readonly #reasons = new Map<string, number>();
  readonly #overrides: { firstRow: number; endRow: number; enabled: boolean }[] = [];
  #rejected = 0;
  #altered = 0;

  constructor(organizationId: string) {
    super(false);
    this.#organizationId = organizationId;
  }

  build(request: unknown): OtlpRows {
    const req = this.object(request, 'request');
    const resourceSpansList = this.list(req.resourceSpans, 'resourceSpans');
    this.path.push('resourceSpans');
    for (let i = 0; i < resourceSpansList.length; i++) {
      this.path.push(i);
      const resourceSpans = this.object(resourceSpansList[i], null);
      const resource = this.optionalObject(resourceSpans.resource, 'resource');
      // resource and scope text is in every row under them: their changes count for each of those spans
      this.alteredSpan = false;
      this.path.push('resource');
      const attributes = this.attributeMap(resource?.attributes);
      this.path.pop();
      const resourceAltered = this.alteredSpan;
      const service = attributes['service.name'] ?? '';
      attributes[ORGANIZATION_ATTRIBUTE] = this.#organizationId;
      const override = attributes[RUNS_FROM_SPANS_ATTRIBUTE]?.toLowerCase();
      const firstRow = this.#lines.length;
      const resourcePart = `{"ServiceName":${JSON.stringify(service)},"ResourceAttributes":${JSON.stringify(attributes)}`;
      const scopeSpansList = this.list(resourceSpans.scopeSpans, 'scopeSpans');
      this.path.push('scopeSpans');
      for (let j = 0; j < scopeSpansList.length; j++) {
        this.path.push(j);
        const scopeSpans = this.object(scopeSpansList[j], null);
        const scope = this.optionalObject(scopeSpans.scope, 'scope');
        this.alteredSpan = resourceAltered;
        this.path.push('scope');
        const prefix =
          `${resourcePart},"ScopeName":${JSON.stringify(this.str(scope?.name, 'name'))}` +
          `,"ScopeVersion":${JSON.stringify(this.str(scope?.version, 'version'))}`;
        this.path.pop();
        const scopeAltered = this.alteredSpan;
        const spans = this.list(scopeSpans.spans, 'spans');
        this.path.push('spans');
        for (let k = 0; k < spans.length; k++) {
          this.path.push(k);
          this.alteredSpan = scopeAltered;
          const refused = this.#span(prefix, this.object(spans[k], null));
          if (refused) this.#reject(refused);
          else if (this.alteredSpan) this.#altered += 1;
          this.path.pop();
        }
        this.path.length -= 2;
      }
      if (override === 'true' || override === 'false') {
        this.#overrides.push({ firstRow, endRow: this.#lines.length, enabled: override === 'true' });
      }
      this.path.length -= 2;
    }
    this.path.pop();
    return {
      lines: this.#lines.join('\n'),
      rows: this.#lines.length,
      rejected: this.#rejected,
      altered: this.#altered,
      errorMessage: partialSuccessMessage(this.#reasons, this.#rejected, this.#altered),
      reasons: this.#reasons,
      spanLines: this.#lines,
      runsFromSpansOverrides: this.#overrides,
    };
  }

  #reject(reason: string): void {
    this.#rejected += 1;
    this.#reasons.set(reason, (this.#reasons.get(reason) ?? 0) + 1);
  }

  /** Adds the span's row; returns why it was refused instead, or null. */
  #span(prefix: string, span: Obj): string | null {
    const traceId = this.id(span.traceId, 16, 'traceId') ?? '';
    if (!traceId) return 'traceId is not 16 bytes (32 hex digits), or is all zeros';
    const spanId = this.id(span.spanId, 8, 'spanId') ?? '';
    if (!spanId) return 'spanId is not 8 bytes (16 hex digits), or is all zeros';
    // an empty or all-zero parent means a root span (the exporter writes both as '')
    const parentSpanId = this.id(span.parentSpanId, 8, 'parentSpanId');
    if (parentSpanId === null) return 'parentSpanId is neither empty nor 8 bytes';
    const start = this.nanos(span.startTimeUnixNano, 'startTimeUnixNano');
    const end = this.nanos(span.endTimeUnixNano, 'endTimeUnixNano');
    if (start === null || end === null) return 'a timestamp is past 2262-04-11 (beyond DateTime64(9))';
    if (end < start) return 'endTimeUnixNano is before startTimeUnixNano';
    const status = this.optionalObject(span.status, 'status');
    const kind = SPAN_KINDS[this.enum(span.kind, SPAN_KIND_NAMES, 'kind')] ?? '';
    this.path.push('status');
    const statusCode = STATUS_CODES[this.enum(status?.code, STATUS_CODE_NAMES, 'code')] ?? '';
    const statusMessage = this.str(status?.message, 'message');
    this.path.pop();
    const line =
      `${prefix},"Timestamp":${start},"TraceId":"${traceId}","SpanId":"${spanId}","ParentSpanId":"${parentSpanId}"` +
      `,"TraceState":${JSON.stringify(this.str(span.traceState, 'traceState'))}` +
      `,"SpanName":${JSON.stringify(this.str(span.name, 'name'))},"SpanKind":"${kind}"` +
      `,"SpanAttributes":${this.attributes(span.attributes)}` +
      `,"Duration":${end - start},"StatusCode":"${statusCode}","StatusMessage":${JSON.stringify(statusMessage)}`;

    const nested = this.eventAndLinkColumns(span.events, span.links);
    if (nested.refused) return nested.refused;
    this.#lines.push(`${line}${nested.columns}}`);
    return null;
  }
}
