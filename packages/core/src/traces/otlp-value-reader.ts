/**
 * The checked reading of an OTLP export request's values, shared by JSON (parsed objects) and protobuf (the objects
 * protobufjs would decode, made by otlp-wire-rows.ts for what it does not copy itself): ids,
 * timestamps, attributes (pdata's AsString/AsRaw), enums and strings, each refused as an {@link InvalidArgument}
 * naming its path when malformed, and the limits of what is stored (DateTime64(9), nesting depth). Every string passes
 * through {@link toStorableText}; a change marks the span being read as altered.
 */
import { Buffer } from 'node:buffer';
import { InvalidArgument } from '../errors.ts';
import { toStorableText } from '../storable-text.ts';

/** The largest nanosecond timestamp DateTime64(9) holds (2262-04-11). */
export const MAX_NS = 9_223_372_036_854_775_807n;
/** Attribute values nest (arrays, maps); deeper than this is refused rather than recursed into. */
const MAX_DEPTH = 32;
const HEX_32 = /^[0-9a-fA-F]{32}$/;
const HEX_16 = /^[0-9a-fA-F]{16}$/;
const DECIMAL = /^-?\d{1,20}$/;
/** The all-zero (invalid) ids, by byte length. */
const ZERO_IDS: Record<number, string> = { 8: '0'.repeat(16), 16: '0'.repeat(32) };

export type Obj = Record<string, unknown>;

/** protobufjs's 64-bit integers (Long from the `long` package). */
interface LongLike {
  low: number;
  high: number;
}

/** AnyValue's fields, the most frequent first. */
const ANY_VALUE_FIELDS = [
  'stringValue',
  'intValue',
  'boolValue',
  'doubleValue',
  'arrayValue',
  'kvlistValue',
  'bytesValue',
];

function hasValue(value: Obj, field: string): boolean {
  return value[field] !== undefined;
}

/**
 * The values of one request's walk. Where it is in the request is kept as a stack of path segments (pushed and
 * popped, nothing allocated per field), rendered only when something is malformed:
 * `resourceSpans[0].scopeSpans[1].spans[7].name`.
 */
export abstract class OtlpValueReader {
  readonly #proto: boolean;
  protected readonly path: (string | number)[] = [];
  /** Whether the span being read had text made storable. */
  protected alteredSpan = false;

  constructor(proto: boolean) {
    this.#proto = proto;
  }

  /**
   * A trace id (16 bytes) or span id (8 bytes) as lowercase hex: hex text in JSON, bytes in protobuf. Absent, empty or
   * all zeros (the invalid id) → ''; the wrong length or not hex → null.
   */
  protected id(value: unknown, bytes: 8 | 16, field: string): string | null {
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
  protected nanos(value: unknown, field: string): bigint | null {
    const ns = this.#proto ? longToBigInt(value as LongLike, true) : this.#jsonInteger(value, field);
    if (ns < 0n) throw this.#malformed(field, 'must not be negative');
    return ns > MAX_NS ? null : ns;
  }

  /** A KeyValue list → a map of strings (pdata's AsString), in a null-prototype object (`__proto__` is a plain key). */
  protected attributeMap(value: unknown): Record<string, string> {
    const map: Record<string, string> = Object.create(null);
    if (value === undefined || value === null) return map;
    const kvs = this.list(value, 'attributes');
    this.path.push('attributes');
    for (let i = 0; i < kvs.length; i++) {
      this.path.push(i);
      const kv = this.object(kvs[i], null);
      map[this.str(kv.key, 'key')] = this.#asString(kv.value);
      this.path.pop();
    }
    this.path.pop();
    return map;
  }

  /**
   * A KeyValue list → the JSON text of its map of strings (the hot path). A plain object is the fastest to serialize;
   * a repeated key keeps its last value, as in a map; `__proto__` is defined as an own key (assigning it would set the
   * prototype and lose it).
   */
  protected attributes(value: unknown): string {
    if (value === undefined || value === null) return '{}';
    const kvs = this.list(value, 'attributes');
    if (kvs.length === 0) return '{}';
    const map: Record<string, string> = {};
    this.path.push('attributes');
    for (let i = 0; i < kvs.length; i++) {
      this.path.push(i);
      const kv = this.object(kvs[i], null);
      const key = this.str(kv.key, 'key');
      const text = this.#asString(kv.value);
      if (key === '__proto__')
        Object.defineProperty(map, key, { value: text, enumerable: true, writable: true, configurable: true });
      else map[key] = text;
      this.path.pop();
    }
    this.path.pop();
    return JSON.stringify(map);
  }

  /**
   * A span's `events` and `links` (decoded lists) as the Nested columns' JSONEachRow text (`,"Events.Timestamp":[…]…`,
   * '' when both are empty), or why the span is refused.
   */
  protected eventAndLinkColumns(eventList: unknown, linkList: unknown): { columns: string; refused: string | null } {
    let columns = '';
    const events = this.list(eventList, 'events');
    if (events.length) {
      const times: bigint[] = [];
      const names: string[] = [];
      const attributes: string[] = [];
      this.path.push('events');
      for (let e = 0; e < events.length; e++) {
        this.path.push(e);
        const event = this.object(events[e], null);
        const time = this.nanos(event.timeUnixNano, 'timeUnixNano');
        names.push(JSON.stringify(this.str(event.name, 'name')));
        attributes.push(this.attributes(event.attributes));
        this.path.pop();
        if (time === null) {
          this.path.pop();
          return { columns: '', refused: 'an event timestamp is past 2262-04-11 (beyond DateTime64(9))' };
        }
        times.push(time);
      }
      this.path.pop();
      columns += `,"Events.Timestamp":[${times.join(',')}],"Events.Name":[${names.join(',')}],"Events.Attributes":[${attributes.join(',')}]`;
    }
    const links = this.list(linkList, 'links');
    if (links.length) {
      const traceIds: string[] = [];
      const spanIds: string[] = [];
      const states: string[] = [];
      const attributes: string[] = [];
      this.path.push('links');
      for (let l = 0; l < links.length; l++) {
        this.path.push(l);
        const link = this.object(links[l], null);
        const linkTrace = this.id(link.traceId, 16, 'traceId') ?? '';
        const linkSpan = this.id(link.spanId, 8, 'spanId') ?? '';
        states.push(JSON.stringify(this.str(link.traceState, 'traceState')));
        attributes.push(this.attributes(link.attributes));
        this.path.pop();
        if (!linkTrace || !linkSpan) {
          this.path.pop();
          return { columns: '', refused: 'a link has an invalid traceId or spanId' };
        }
        traceIds.push(`"${linkTrace}"`);
        spanIds.push(`"${linkSpan}"`);
      }
      this.path.pop();
      columns +=
        `,"Links.TraceId":[${traceIds.join(',')}],"Links.SpanId":[${spanIds.join(',')}]` +
        `,"Links.TraceState":[${states.join(',')}],"Links.Attributes":[${attributes.join(',')}]`;
    }
    return { columns, refused: null };
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
  protected attributeText(value: unknown): string {
    return this.#asString(value);
  }

  #asString(value: unknown): string {
    if (value === undefined || value === null) return '';
    // the common case first: a string value
    const text = (value as Obj).stringValue;
    if (typeof text === 'string' && (!this.#proto || Object.hasOwn(value as Obj, 'stringValue')))
      return this.#storable(text);
    return this.#asStringSlow(value);
  }

  #asStringSlow(value: unknown): string {
    this.path.push('value');
    const v = this.object(value, null);
    let text: string;
    switch (this.#which(v)) {
      case 'stringValue':
        text = this.str(v.stringValue, 'stringValue');
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
    this.path.pop();
    return text;
  }

  /** pdata's AsRaw() as JSON text: nested arrays and maps keep their value types (ints stay exact). */
  #raw(v: Obj, depth: number): string {
    if (depth > MAX_DEPTH) throw this.#malformed(null, `nests deeper than ${MAX_DEPTH} levels`);
    switch (this.#which(v)) {
      case 'stringValue':
        return JSON.stringify(this.str(v.stringValue, 'stringValue'));
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
        const container = this.optionalObject(v[field], field);
        this.path.push(field);
        const values = this.list(container?.values, 'values');
        this.path.push('values');
        const parts: string[] = [];
        for (let i = 0; i < values.length; i++) {
          this.path.push(i);
          const item = this.object(values[i], null);
          if (isArray) {
            parts.push(this.#raw(item, depth + 1));
          } else {
            const key = JSON.stringify(this.str(item.key, 'key'));
            this.path.push('value');
            const value =
              item.value === undefined || item.value === null
                ? 'null'
                : this.#raw(this.object(item.value, null), depth + 1);
            this.path.pop();
            parts.push(`${key}:${value}`);
          }
          this.path.pop();
        }
        this.path.length -= 2;
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
    return this.str(value, field);
  }

  /** An int64 in OTLP/JSON: a decimal string (the protobuf JSON mapping) or a number. */
  #jsonInteger(value: unknown, field: string): bigint {
    if (value === undefined || value === null) return 0n;
    if (typeof value === 'string' && DECIMAL.test(value)) return BigInt(value);
    if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
    throw this.#malformed(field, 'must be an integer (a decimal string or a number)');
  }

  protected enum(value: unknown, names: Record<string, number>, field: string): number {
    if (value === undefined || value === null) return 0;
    if (typeof value === 'number' && Number.isInteger(value)) return value;
    if (typeof value === 'string' && value in names) return names[value] as number;
    throw this.#malformed(field, 'must be an enum number');
  }

  protected object(value: unknown, field: string | null): Obj {
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw this.#malformed(field, 'must be an object');
    return value as Obj;
  }

  protected optionalObject(value: unknown, field: string): Obj | undefined {
    return value === undefined || value === null ? undefined : this.object(value, field);
  }

  protected list(value: unknown, field: string): unknown[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw this.#malformed(field, 'must be an array');
    return value;
  }

  protected str(value: unknown, field: string): string {
    if (value === undefined || value === null) return '';
    if (typeof value !== 'string') throw this.#malformed(field, 'must be a string');
    return this.#storable(value);
  }

  /** Every string of the request passes here ({@link toStorableText}); a change marks the span as altered. */
  #storable(text: string): string {
    // Text decoded from protobuf's UTF-8 holds no unpaired surrogate (the decoder makes each invalid sequence U+FFFD):
    // only NUL needs looking for, a memchr rather than the surrogate pattern over every string.
    if (this.#proto && !text.includes('\u0000')) return text;
    const storable = toStorableText(text);
    if (storable !== text) this.alteredSpan = true;
    return storable;
  }

  #bool(value: unknown, field: string): boolean {
    if (typeof value !== 'boolean') throw this.#malformed(field, 'must be a boolean');
    return value;
  }

  /** The malformed part, named by its path, e.g. `resourceSpans[0].scopeSpans[2].spans[5].name`. */
  #malformed(field: string | null, what: string): InvalidArgument {
    let path = '';
    for (const segment of field === null ? this.path : [...this.path, field]) {
      path += typeof segment === 'number' ? `[${segment}]` : path ? `.${segment}` : segment;
    }
    return new InvalidArgument(`malformed OTLP export request: ${path || 'the request'} ${what}`, {
      field: path || undefined,
    });
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
