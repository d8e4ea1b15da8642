/**
 * OTLP/protobuf export requests → `otel_traces` rows, read straight from the protobuf wire format into the rows'
 * bytes. Decoding into protobufjs objects and then building strings from them cost ingest as much as ClickHouse's own
 * insert (a dozen objects and strings per attribute, then their garbage); here a span's text that needs no escaping
 * (nearly all of it: valid UTF-8 without quotes, backslashes or control characters) is copied byte for byte.
 *
 * The rows are exactly those of the object walk (otlp-to-rows.ts) over the same request, which stays the reference:
 * everything uncommon — a non-string attribute value, text that needs escaping or is not valid UTF-8, a repeated or
 * numeric attribute key, events and links, the resource and scope — is decoded into the objects protobufjs would
 * make and goes through that walk's {@link OtlpValueReader}. The tests compare both on every kind of request.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import { InvalidArgument } from '../errors.ts';
import { partialSuccessMessage } from './encode-export-response.ts';
import {
  ORGANIZATION_ATTRIBUTE,
  type OtlpRows,
  RUNS_FROM_SPANS_ATTRIBUTE,
  SPAN_KINDS,
  STATUS_CODES,
  spanLinesOf,
} from './otlp-row-parts.ts';
import { MAX_NS, type Obj, OtlpValueReader } from './otlp-value-reader.ts';

/**
 * Where rows are written, reused by every request (the writing is synchronous): a fresh megabyte per request cost
 * more in page faults than the writing. Kept up to 16 MiB; a larger request writes into its own buffer.
 */
let scratch = Buffer.allocUnsafe(1 << 20);
const MAX_SCRATCH_BYTES = 16 << 20;

/** A protobuf wire format error: the body is not a request. */
class WireError extends Error {}

/**
 * Messages nested in an attribute value that the decoder follows: two per AnyValue level, beyond the 32 levels the
 * value reader refuses (naming the path, as for JSON).
 */
const MAX_DECODE_DEPTH = 72;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Where a length-delimited field's bytes are. */
interface Range {
  start: number;
  end: number;
}

/** A span's fields, as positions in the body (a field sent twice: the last one, as protobuf reads it). */
interface SpanFields {
  traceId: Range | null;
  spanId: Range | null;
  parentSpanId: Range | null;
  traceState: Range | null;
  name: Range | null;
  kind: number;
  start: bigint;
  end: bigint;
  attributes: Range[];
  events: Range[];
  links: Range[];
  status: Range | null;
}

/**
 * Decodes an OTLP/protobuf `ExportTraceServiceRequest` into `otel_traces` rows of `organizationId`.
 * @throws InvalidArgument when the body is not such a request.
 */
export function protobufToRows(body: Uint8Array, organizationId: string): OtlpRows {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  try {
    return new WireRowWriter(buf, organizationId).build();
  } catch (err) {
    if (err instanceof WireError || err instanceof RangeError) {
      throw new InvalidArgument(`the body is not an OTLP protobuf ExportTraceServiceRequest: ${err.message}`);
    }
    throw err;
  }
}

class WireRowWriter extends OtlpValueReader {
  readonly #in: Buffer;
  readonly #organizationId: string;
  #pos = 0;
  #out: Buffer;
  #len = 0;
  #rows = 0;
  #rejected = 0;
  #altered = 0;
  readonly #reasons = new Map<string, number>();
  readonly #overrides: { firstRow: number; endRow: number; enabled: boolean }[] = [];
  /** Key ranges of the attribute list being written (reused), to find a repeated key. */
  readonly #keyStarts: number[] = [];
  readonly #keyEnds: number[] = [];

  constructor(body: Buffer, organizationId: string) {
    super(true);
    this.#in = body;
    this.#organizationId = organizationId;
    this.#out = scratch;
  }

  build(): OtlpRows {
    const resourceSpans: Range[] = [];
    const end = this.#in.length;
    while (this.#pos < end) {
      const tag = this.#varint();
      if (tag >>> 3 === 1 && (tag & 7) === 2) resourceSpans.push(this.#range());
      else this.#skip(tag);
    }
    this.path.push('resourceSpans');
    for (let i = 0; i < resourceSpans.length; i++) {
      this.path.push(i);
      this.#resourceSpans(resourceSpans[i] as Range);
      this.path.pop();
    }
    this.path.pop();
    const lines = this.#out.toString('utf8', 0, this.#len);
    let spanLines: readonly string[] | null = null;
    return {
      lines,
      rows: this.#rows,
      rejected: this.#rejected,
      altered: this.#altered,
      errorMessage: partialSuccessMessage(this.#reasons, this.#rejected, this.#altered),
      reasons: this.#reasons,
      // split on demand: only the GenAI mapping reads the rows one by one
      get spanLines() {
        spanLines ??= spanLinesOf(lines);
        return spanLines;
      },
      runsFromSpansOverrides: this.#overrides,
    };
  }

  #resourceSpans(message: Range): void {
    const { one: resource, many: scopeSpans } = this.#oneAndMany(message);
    // resource and scope text is in every row under them: their changes count for each of those spans
    this.alteredSpan = false;
    this.path.push('resource');
    const attributes = this.attributeMap(resource ? this.#messageFields(resource, RESOURCE).attributes : undefined);
    this.path.pop();
    const resourceAltered = this.alteredSpan;
    const service = attributes['service.name'] ?? '';
    attributes[ORGANIZATION_ATTRIBUTE] = this.#organizationId;
    const override = attributes[RUNS_FROM_SPANS_ATTRIBUTE]?.toLowerCase();
    const firstRow = this.#rows;
    const resourcePart = `{"ServiceName":${JSON.stringify(service)},"ResourceAttributes":${JSON.stringify(attributes)}`;
    this.path.push('scopeSpans');
    for (let j = 0; j < scopeSpans.length; j++) {
      this.path.push(j);
      this.#scopeSpans(scopeSpans[j] as Range, resourcePart, resourceAltered);
      this.path.pop();
    }
    this.path.pop();
    if (override === 'true' || override === 'false') {
      this.#overrides.push({ firstRow, endRow: this.#rows, enabled: override === 'true' });
    }
  }

  #scopeSpans(message: Range, resourcePart: string, resourceAltered: boolean): void {
    const { one: scope, many: spans } = this.#oneAndMany(message);
    this.alteredSpan = resourceAltered;
    const { name, version } = scope ? this.#messageFields(scope, SCOPE) : ({} as Obj);
    this.path.push('scope');
    const prefix = Buffer.from(
      `${resourcePart},"ScopeName":${JSON.stringify(this.str(name, 'name'))}` +
        `,"ScopeVersion":${JSON.stringify(this.str(version, 'version'))},"Timestamp":`,
    );
    this.path.pop();
    const scopeAltered = this.alteredSpan;
    const fields: SpanFields = {
      traceId: null,
      spanId: null,
      parentSpanId: null,
      traceState: null,
      name: null,
      kind: 0,
      start: 0n,
      end: 0n,
      attributes: [],
      events: [],
      links: [],
      status: null,
    };
    this.path.push('spans');
    for (let k = 0; k < spans.length; k++) {
      this.path.push(k);
      this.alteredSpan = scopeAltered;
      this.#readSpan(spans[k] as Range, fields);
      const rowStart = this.#len;
      const refused = this.#writeSpan(prefix, fields);
      if (refused) {
        this.#len = rowStart;
        this.#rejected += 1;
        this.#reasons.set(refused, (this.#reasons.get(refused) ?? 0) + 1);
      } else {
        this.#rows += 1;
        if (this.alteredSpan) this.#altered += 1;
      }
      this.path.pop();
    }
    this.path.pop();
  }

  /**
   * ResourceSpans and ScopeSpans alike: field 1, one message (the resource, the scope; the last if sent twice), and
   * field 2, repeated messages (their scope spans, their spans).
   */
  #oneAndMany(message: Range): { one: Range | null; many: Range[] } {
    let one: Range | null = null;
    const many: Range[] = [];
    this.#pos = message.start;
    while (this.#pos < message.end) {
      const tag = this.#varint();
      if (tag === 0x0a) one = this.#range();
      else if (tag === 0x12) many.push(this.#range());
      else this.#skip(tag);
    }
    this.#atEnd(message);
    return { one, many };
  }

  #readSpan(message: Range, f: SpanFields): void {
    f.traceId = f.spanId = f.parentSpanId = f.traceState = f.name = f.status = null;
    f.kind = 0;
    f.start = f.end = 0n;
    f.attributes.length = f.events.length = f.links.length = 0;
    this.#pos = message.start;
    while (this.#pos < message.end) {
      const tag = this.#varint();
      const wire = tag & 7;
      switch (tag >>> 3) {
        case 1:
          if (wire === 2) f.traceId = this.#range();
          else this.#skip(tag);
          break;
        case 2:
          if (wire === 2) f.spanId = this.#range();
          else this.#skip(tag);
          break;
        case 3:
          if (wire === 2) f.traceState = this.#range();
          else this.#skip(tag);
          break;
        case 4:
          if (wire === 2) f.parentSpanId = this.#range();
          else this.#skip(tag);
          break;
        case 5:
          if (wire === 2) f.name = this.#range();
          else this.#skip(tag);
          break;
        case 6:
          if (wire === 0) f.kind = this.#varint() | 0;
          else this.#skip(tag);
          break;
        case 7:
          if (wire === 1) f.start = this.#fixed64();
          else this.#skip(tag);
          break;
        case 8:
          if (wire === 1) f.end = this.#fixed64();
          else this.#skip(tag);
          break;
        case 9:
          if (wire === 2) f.attributes.push(this.#range());
          else this.#skip(tag);
          break;
        case 11:
          if (wire === 2) f.events.push(this.#range());
          else this.#skip(tag);
          break;
        case 13:
          if (wire === 2) f.links.push(this.#range());
          else this.#skip(tag);
          break;
        case 15:
          if (wire === 2) f.status = this.#range();
          else this.#skip(tag);
          break;
        default:
          this.#skip(tag);
      }
    }
    this.#atEnd(message);
  }

  /** Writes the span's row after the ones before; returns why it was refused instead (the caller drops what was written). */
  #writeSpan(prefix: Buffer, f: SpanFields): string | null {
    const traceId = this.#id(f.traceId, 16);
    if (!traceId) return 'traceId is not 16 bytes (32 hex digits), or is all zeros';
    const spanId = this.#id(f.spanId, 8);
    if (!spanId) return 'spanId is not 8 bytes (16 hex digits), or is all zeros';
    // an empty or all-zero parent means a root span (the exporter writes both as '')
    const parentSpanId = this.#id(f.parentSpanId, 8);
    if (parentSpanId === null) return 'parentSpanId is neither empty nor 8 bytes';
    const { start, end } = f;
    if (start > MAX_NS || end > MAX_NS) return 'a timestamp is past 2262-04-11 (beyond DateTime64(9))';
    if (end < start) return 'endTimeUnixNano is before startTimeUnixNano';
    const status = f.status ? this.#messageFields(f.status, STATUS) : undefined;
    this.path.push('status');
    const statusCode = STATUS_CODES[status?.code === undefined ? 0 : (status.code as number)] ?? '';
    const statusMessage = this.str(status?.message, 'message');
    this.path.pop();
    const kind = SPAN_KINDS[f.kind] ?? '';

    if (this.#len > 0) this.#byte(0x0a);
    this.#bytes(prefix);
    this.#ascii(`${start},"TraceId":"${traceId}","SpanId":"${spanId}","ParentSpanId":"${parentSpanId}","TraceState":`);
    this.#string(f.traceState, 'traceState');
    this.#ascii(',"SpanName":');
    this.#string(f.name, 'name');
    this.#ascii(`,"SpanKind":"${kind}","SpanAttributes":`);
    this.#attributes(f.attributes);
    this.#ascii(`,"Duration":${end - start},"StatusCode":"${statusCode}","StatusMessage":`);
    this.#utf8(JSON.stringify(statusMessage));
    if (f.events.length || f.links.length) {
      const nested = this.eventAndLinkColumns(
        f.events.map((r) => this.#messageFields(r, EVENT)),
        f.links.map((r) => this.#messageFields(r, LINK)),
      );
      if (nested.refused) return nested.refused;
      this.#utf8(nested.columns);
    }
    this.#byte(0x7d);
    return null;
  }

  /** An id as lowercase hex: '' when absent, empty or all zeros, null when not `bytes` long. */
  #id(range: Range | null, bytes: 8 | 16): string | null {
    if (range === null || range.end === range.start) return '';
    if (range.end - range.start !== bytes) return null;
    const buf = this.#in;
    let zero = true;
    for (let i = range.start; i < range.end; i++) {
      if (buf[i] !== 0) {
        zero = false;
        break;
      }
    }
    return zero ? '' : buf.toString('hex', range.start, range.end);
  }

  /**
   * A string field as a JSON string: its bytes as they are when they need no escaping and are valid UTF-8, else
   * decoded (invalid UTF-8 → U+FFFD, as protobufjs decodes), made storable and stringified.
   */
  #string(range: Range | null, field: string): void {
    if (range === null) {
      this.#ascii('""');
      return;
    }
    if (!this.#copyPlain(range.start, range.end)) {
      this.#utf8(JSON.stringify(this.str(this.#in.toString('utf8', range.start, range.end), field)));
    }
  }

  /**
   * Writes the bytes quoted when they are valid UTF-8 without a quote, a backslash or a control character (NUL
   * included), checking and copying in one pass; else writes nothing and returns false.
   */
  #copyPlain(start: number, end: number): boolean {
    this.#ensure(end - start + 2);
    const buf = this.#in;
    const out = this.#out;
    let at = this.#len;
    out[at++] = QUOTE;
    let ascii = true;
    for (let i = start; i < end; i++) {
      const c = buf[i] as number;
      if (c < 0x20 || c === QUOTE || c === BACKSLASH) return false;
      if (c >= 0x80) ascii = false;
      out[at++] = c;
    }
    if (!ascii && !isUtf8(buf.subarray(start, end))) return false;
    out[at++] = QUOTE;
    this.#len = at;
    return true;
  }

  /**
   * The span's attributes as the JSON text of their map, pair by pair. A list with a repeated key, a key that starts
   * with a digit (JavaScript orders such keys first) or one that is not plain text goes through the value reader's
   * map instead, as decoded objects.
   */
  #attributes(list: Range[]): void {
    if (list.length === 0) {
      this.#ascii('{}');
      return;
    }
    const rollback = this.#len;
    const keyStarts = this.#keyStarts;
    const keyEnds = this.#keyEnds;
    keyStarts.length = keyEnds.length = 0;
    const buf = this.#in;
    this.#byte(0x7b);
    for (let i = 0; i < list.length; i++) {
      const kv = list[i] as Range;
      let key: Range | null = null;
      let value: Range | null = null;
      this.#pos = kv.start;
      while (this.#pos < kv.end) {
        const tag = this.#varint();
        if (tag === 0x0a) key = this.#range();
        else if (tag === 0x12) value = this.#range();
        else this.#skip(tag);
      }
      this.#atEnd(kv);
      const first = key === null ? 0x30 : (buf[key.start] as number);
      if (i > 0) this.#byte(0x2c);
      if (
        key === null ||
        (first >= 0x30 && first <= 0x39) ||
        this.#seenKey(key.start, key.end) ||
        !this.#copyPlain(key.start, key.end)
      ) {
        this.#len = rollback;
        this.#utf8(this.attributes(list.map((r) => this.#messageFields(r, KEY_VALUE))));
        return;
      }
      keyStarts.push(key.start);
      keyEnds.push(key.end);
      this.#byte(0x3a);
      const text = value === null ? null : this.#onlyString(value);
      if (text !== null) this.#string(text, 'stringValue');
      else {
        const decoded = value === null ? undefined : this.#messageFields(value, SHAPES.AnyValue);
        this.#utf8(JSON.stringify(this.attributeText(decoded)));
      }
    }
    this.#byte(0x7d);
  }

  /** The text of an AnyValue that holds only a string (its one field, `string_value`); null for any other value. */
  #onlyString(value: Range): Range | null {
    this.#pos = value.start;
    if (this.#pos === value.end || this.#in[this.#pos] !== 0x0a) return null;
    this.#pos += 1;
    const text = this.#range();
    return this.#pos === value.end ? text : null;
  }

  /** Whether a key with these bytes was already written in the current list. */
  #seenKey(start: number, end: number): boolean {
    const buf = this.#in;
    const length = end - start;
    const starts = this.#keyStarts;
    const ends = this.#keyEnds;
    for (let k = 0; k < starts.length; k++) {
      const s = starts[k] as number;
      if ((ends[k] as number) - s !== length) continue;
      let same = true;
      for (let i = 0; i < length; i++) {
        if (buf[s + i] !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return true;
    }
    return false;
  }

  /** A message decoded into the object protobufjs would make of it (only the fields the value reader reads). */
  #messageFields(range: Range, shape: Shape, depth = 0): Obj {
    if (depth > MAX_DECODE_DEPTH) throw new WireError(`values nest deeper than ${MAX_DECODE_DEPTH} levels`);
    const saved = this.#pos;
    const message: Obj = {};
    this.#pos = range.start;
    while (this.#pos < range.end) {
      const tag = this.#varint();
      const fieldNumber = tag >>> 3;
      const field = shape[fieldNumber];
      if (field === undefined || (tag & 7) !== field.wire) {
        this.#skip(tag);
        continue;
      }
      let value: unknown;
      switch (field.type) {
        case 'string': {
          const r = this.#range();
          value = this.#in.toString('utf8', r.start, r.end);
          break;
        }
        case 'bytes': {
          const r = this.#range();
          value = this.#in.subarray(r.start, r.end);
          break;
        }
        case 'int32':
          value = this.#varint() | 0;
          break;
        case 'bool':
          value = this.#varint() !== 0;
          break;
        case 'int64':
          value = this.#varint64();
          break;
        case 'fixed64': {
          const n = this.#fixed64();
          value = { low: Number(n & 0xffffffffn), high: Number(n >> 32n) };
          break;
        }
        case 'double':
          value = this.#in.readDoubleLE(this.#advance(8));
          break;
        default: {
          value = this.#messageFields(this.#range(), SHAPES[field.type as MessageName], depth + 1);
        }
      }
      const name = field.name;
      if (!field.repeated) message[name] = value;
      else if (Array.isArray(message[name])) message[name].push(value);
      else message[name] = [value];
    }
    this.#atEnd(range);
    this.#pos = saved;
    return message;
  }

  // --- the wire format

  #varint(): number {
    const buf = this.#in;
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.#pos >= buf.length) throw new WireError(`it ends inside a field (byte ${this.#pos})`);
      const b = buf[this.#pos++] as number;
      if (shift < 28) result |= (b & 0x7f) << shift;
      else result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return shift < 28 ? result >>> 0 : result;
      shift += 7;
      if (shift > 63) throw new WireError(`a varint is longer than 10 bytes (byte ${this.#pos})`);
    }
  }

  /** A 64-bit varint as protobufjs's Long-like `{ low, high }` (two's complement). */
  #varint64(): { low: number; high: number } {
    const buf = this.#in;
    let value = 0n;
    let shift = 0n;
    for (;;) {
      if (this.#pos >= buf.length) throw new WireError(`it ends inside a field (byte ${this.#pos})`);
      const b = buf[this.#pos++] as number;
      value |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7n;
      if (shift > 63n) throw new WireError(`a varint is longer than 10 bytes (byte ${this.#pos})`);
    }
    value = BigInt.asUintN(64, value);
    return { low: Number(value & 0xffffffffn), high: Number(value >> 32n) };
  }

  #fixed64(): bigint {
    return this.#in.readBigUInt64LE(this.#advance(8));
  }

  /** Moves past `n` bytes; returns where they start. */
  #advance(n: number): number {
    const at = this.#pos;
    if (at + n > this.#in.length) throw new WireError(`it ends inside a field (byte ${at})`);
    this.#pos = at + n;
    return at;
  }

  /** A length-delimited field's bytes (the tag read), moving past them. */
  #range(): Range {
    const length = this.#varint();
    const start = this.#advance(length);
    return { start, end: start + length };
  }

  #atEnd(message: Range): void {
    if (this.#pos !== message.end) throw new WireError(`a field overruns its message (byte ${message.start})`);
  }

  /** Skips a field the rows do not use. */
  #skip(tag: number): void {
    switch (tag & 7) {
      case 0:
        this.#varint();
        return;
      case 1:
        this.#advance(8);
        return;
      case 2:
        this.#range();
        return;
      case 5:
        this.#advance(4);
        return;
      case 3: {
        // a group: skipped up to its end tag
        for (;;) {
          const inner = this.#varint();
          if ((inner & 7) === 4) {
            if (inner >>> 3 !== tag >>> 3) throw new WireError(`a group ends with the wrong field (byte ${this.#pos})`);
            return;
          }
          this.#skip(inner);
        }
      }
      default:
        throw new WireError(`invalid wire type ${tag & 7} (byte ${this.#pos})`);
    }
  }

  // --- the rows' bytes

  #ensure(n: number): void {
    if (this.#len + n <= this.#out.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#out.length * 2, this.#len + n));
    this.#out.copy(grown, 0, 0, this.#len);
    this.#out = grown;
    if (grown.length <= MAX_SCRATCH_BYTES) scratch = grown;
  }

  #byte(b: number): void {
    this.#ensure(1);
    this.#out[this.#len++] = b;
  }

  #bytes(chunk: Buffer): void {
    this.#ensure(chunk.length);
    this.#len += chunk.copy(this.#out, this.#len);
  }

  /** Text known to be ASCII (hex ids, numbers, fixed names). */
  #ascii(text: string): void {
    this.#ensure(text.length);
    this.#len += this.#out.write(text, this.#len, 'latin1');
  }

  #utf8(text: string): void {
    this.#ensure(text.length * 3);
    this.#len += this.#out.write(text, this.#len, 'utf8');
  }
}

/** What the decoder reads of a message: field number → name, wire type, type, repetition. */
type MessageName = 'KeyValue' | 'AnyValue' | 'ArrayValue' | 'KeyValueList';
type FieldType = 'string' | 'bytes' | 'int32' | 'bool' | 'int64' | 'fixed64' | 'double' | MessageName;
type Shape = Record<number, { name: string; wire: number; type: FieldType; repeated?: boolean }>;

const KEY_VALUE: Shape = {
  1: { name: 'key', wire: 2, type: 'string' },
  2: { name: 'value', wire: 2, type: 'AnyValue' },
};
const SHAPES: Record<MessageName, Shape> = {
  KeyValue: KEY_VALUE,
  // the names protobufjs gives AnyValue's fields
  AnyValue: {
    1: { name: 'stringValue', wire: 2, type: 'string' },
    2: { name: 'boolValue', wire: 0, type: 'bool' },
    3: { name: 'intValue', wire: 0, type: 'int64' },
    4: { name: 'doubleValue', wire: 1, type: 'double' },
    5: { name: 'arrayValue', wire: 2, type: 'ArrayValue' },
    6: { name: 'kvlistValue', wire: 2, type: 'KeyValueList' },
    7: { name: 'bytesValue', wire: 2, type: 'bytes' },
  } as Shape,
  ArrayValue: { 1: { name: 'values', wire: 2, type: 'AnyValue', repeated: true } },
  KeyValueList: { 1: { name: 'values', wire: 2, type: 'KeyValue', repeated: true } },
};
/** Resource: only its attributes (the reader takes the list). */
const RESOURCE: Shape = { 1: { name: 'attributes', wire: 2, type: 'KeyValue', repeated: true } };
const SCOPE: Shape = { 1: { name: 'name', wire: 2, type: 'string' }, 2: { name: 'version', wire: 2, type: 'string' } };
const STATUS: Shape = { 2: { name: 'message', wire: 2, type: 'string' }, 3: { name: 'code', wire: 0, type: 'int32' } };
const EVENT: Shape = {
  1: { name: 'timeUnixNano', wire: 1, type: 'fixed64' },
  2: { name: 'name', wire: 2, type: 'string' },
  3: { name: 'attributes', wire: 2, type: 'KeyValue', repeated: true },
};
const LINK: Shape = {
  1: { name: 'traceId', wire: 2, type: 'bytes' },
  2: { name: 'spanId', wire: 2, type: 'bytes' },
  3: { name: 'traceState', wire: 2, type: 'string' },
  4: { name: 'attributes', wire: 2, type: 'KeyValue', repeated: true },
};
