/**
 * The protobuf reader (otlp-wire-rows.ts) against the JSON walk (otlp-to-rows.ts): the same request in both encodings
 * must give the same rows, counts and messages, whatever it holds — generated requests with every attribute value
 * type, keys that take the map route (repeated, numeric, escaped), text that needs escaping, refused spans, events and
 * links — and what only the wire format can carry: fields in any order, repeated, unknown, grouped or cut short.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgument } from '../errors.ts';
import { otlpProtoTypes } from './otlp-proto.ts';
import { otlpToRows } from './otlp-to-rows.ts';

const ORG = 'org-00000000-0000-4000-8000-0000000000aa';

const { ExportTraceServiceRequest: Request } = otlpProtoTypes();
const encode = (request: Record<string, unknown>) => Request.encode(Request.fromObject(request)).finish();

/** Text of every kind the rows must carry: quotes, backslashes, control characters, NUL, non-ASCII, U+2028. */
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom('', 'say "hi"', 'a\\b', 'tab\there', 'nl\n', 'nul\u0000x', 'é✓😀', '\u2028', '{"json":[1,2]}'),
);
/** Keys, some repeated within a list, some numeric (JavaScript orders those first), some escaped. */
const key = fc.oneof(
  fc.constantFrom('service.name', 'gen_ai.system', 'a', 'b', '1', '10', '2x', '__proto__', 'k"q', 'k\\', 'ключ', ''),
  fc.string({ maxLength: 6 }),
);
interface Value {
  json: Record<string, unknown>;
  proto: Record<string, unknown>;
}
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const { value: anyValue } = fc.letrec<{ value: Value }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    text.map((s) => ({ json: { stringValue: s }, proto: { stringValue: s } })),
    fc.boolean().map((b) => ({ json: { boolValue: b }, proto: { boolValue: b } })),
    int64.map((n) => ({ json: { intValue: String(n) }, proto: { intValue: String(n) } })),
    fc.double().map((d) => ({
      json: { doubleValue: Number.isFinite(d) ? d : String(d) },
      proto: { doubleValue: d },
    })),
    fc.uint8Array({ maxLength: 6 }).map((b) => ({
      json: { bytesValue: Buffer.from(b).toString('base64') },
      proto: { bytesValue: Buffer.from(b) },
    })),
    fc.array(tie('value'), { maxLength: 3 }).map((vs) => ({
      json: { arrayValue: { values: vs.map((v) => v.json) } },
      proto: { arrayValue: { values: vs.map((v) => v.proto) } },
    })),
    fc.array(fc.tuple(key, tie('value')), { maxLength: 3 }).map((kvs) => ({
      json: { kvlistValue: { values: kvs.map(([k, v]) => ({ key: k, value: v.json })) } },
      proto: { kvlistValue: { values: kvs.map(([k, v]) => ({ key: k, value: v.proto })) } },
    })),
  ),
}));
/** Attribute lists: mostly plain strings (the copied path), with any value and key mixed in. */
const attributes = fc.array(
  fc.tuple(
    fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom('gen_ai.system', 'llm.model', 'tool.name', 'x', 'y') },
      { weight: 1, arbitrary: key },
    ),
    fc.oneof(
      { weight: 3, arbitrary: text.map((s) => ({ json: { stringValue: s }, proto: { stringValue: s } })) },
      { weight: 1, arbitrary: anyValue },
    ),
  ),
  { maxLength: 6 },
);
const both = (list: [string, Value][]) => ({
  json: list.map(([k, v]) => ({ key: k, value: v.json })),
  proto: list.map(([k, v]) => ({ key: k, value: v.proto })),
});
/** Ids: valid mostly; all zeros, empty and the wrong length sometimes (refused or a root span). */
const id = (bytes: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.uint8Array({ minLength: bytes, maxLength: bytes }) },
    { weight: 1, arbitrary: fc.constantFrom(new Uint8Array(bytes), new Uint8Array(0), new Uint8Array(bytes - 1)) },
  );
const nanos = fc.oneof(
  { weight: 8, arbitrary: fc.bigInt({ min: 1_700_000_000_000_000_000n, max: 1_700_000_100_000_000_000n }) },
  { weight: 1, arbitrary: fc.constantFrom(0n, 2n ** 63n, 2n ** 64n - 1n) },
);
const span = fc.record({
  traceId: id(16),
  spanId: id(8),
  parentSpanId: fc.oneof(id(8), fc.constant(undefined)),
  traceState: fc.option(text, { nil: undefined }),
  name: text,
  kind: fc.integer({ min: 0, max: 7 }),
  start: nanos,
  end: nanos,
  attributes,
  status: fc.option(fc.record({ code: fc.integer({ min: 0, max: 3 }), message: text }), { nil: undefined }),
  events: fc.array(fc.record({ time: nanos, name: text, attributes }), { maxLength: 2 }),
  links: fc.array(fc.record({ traceId: id(16), spanId: id(8), traceState: text, attributes }), { maxLength: 2 }),
});
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
type GeneratedSpan = typeof span extends fc.Arbitrary<infer S> ? S : never;
function encodings(resources: { resource: [string, Value][]; scope: string; spans: GeneratedSpan[] }[]) {
  const spansOf = (spans: GeneratedSpan[], as: 'json' | 'proto') =>
    spans.map((s) => {
      const a = both(s.attributes);
      return {
        traceId: as === 'json' ? hex(s.traceId) : Buffer.from(s.traceId),
        spanId: as === 'json' ? hex(s.spanId) : Buffer.from(s.spanId),
        ...(s.parentSpanId === undefined
          ? {}
          : { parentSpanId: as === 'json' ? hex(s.parentSpanId) : Buffer.from(s.parentSpanId) }),
        ...(s.traceState === undefined ? {} : { traceState: s.traceState }),
        name: s.name,
        kind: s.kind,
        startTimeUnixNano: String(s.start),
        endTimeUnixNano: String(s.end),
        attributes: a[as],
        ...(s.status === undefined ? {} : { status: s.status }),
        events: s.events.map((e) => ({
          timeUnixNano: String(e.time),
          name: e.name,
          attributes: both(e.attributes)[as],
        })),
        links: s.links.map((l) => ({
          traceId: as === 'json' ? hex(l.traceId) : Buffer.from(l.traceId),
          spanId: as === 'json' ? hex(l.spanId) : Buffer.from(l.spanId),
          traceState: l.traceState,
          attributes: both(l.attributes)[as],
        })),
      };
    });
  const request = (as: 'json' | 'proto') => ({
    resourceSpans: resources.map((r) => ({
      resource: { attributes: both(r.resource)[as] },
      scopeSpans: [{ scope: { name: r.scope, version: '1' }, spans: spansOf(r.spans, as) }],
    })),
  });
  return { json: Buffer.from(JSON.stringify(request('json'))), protobuf: encode(request('proto')) };
}
const comparable = (r: ReturnType<typeof otlpToRows>) => ({
  lines: r.lines,
  rows: r.rows,
  rejected: r.rejected,
  altered: r.altered,
  errorMessage: r.errorMessage,
  reasons: [...r.reasons],
  spanLines: [...r.spanLines],
  overrides: r.runsFromSpansOverrides,
});

describe('OTLP/protobuf read from the wire format', () => {
  it('gives the rows, counts and messages the JSON walk gives for the same request (generated requests)', () => {
    const resource = fc.array(
      fc.tuple(
        fc.constantFrom('service.name', 'runtrace.runs_from_spans', 'runtrace.organization_id', 'host', '1'),
        fc.oneof(
          text.map((s) => ({ json: { stringValue: s }, proto: { stringValue: s } })),
          fc.constantFrom('true', 'FALSE').map((s) => ({ json: { stringValue: s }, proto: { stringValue: s } })),
          anyValue,
        ),
      ),
      { maxLength: 4 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.record({ resource, scope: text, spans: fc.array(span, { maxLength: 4 }) }), { maxLength: 3 }),
        (resources) => {
          const { json, protobuf } = encodings(resources);
          expect(comparable(otlpToRows(protobuf, 'protobuf', ORG))).toEqual(comparable(otlpToRows(json, 'json', ORG)));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('copies plain text as it is and escapes the rest as JSON.stringify does, invalid UTF-8 made U+FFFD', () => {
    const attributes = [
      { key: 'plain', value: { stringValue: 'héllo ✓' } },
      { key: 'quoted', value: { stringValue: 'say "hi" \\ \n' } },
    ];
    const body = Buffer.from(
      encode({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: Buffer.alloc(16, 1),
                    spanId: Buffer.alloc(8, 2),
                    name: 'n\u00ff',
                    startTimeUnixNano: '1',
                    endTimeUnixNano: '2',
                    attributes,
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    // 'ÿ' is C3 BF in UTF-8: make it C3 C3, which is not UTF-8
    const at = body.indexOf(Buffer.from('n\u00ff'));
    body[at + 2] = 0xc3;
    const row = JSON.parse(otlpToRows(body, 'protobuf', ORG).lines);
    expect(row.SpanName).toBe('n\ufffd\ufffd');
    expect(row.SpanAttributes).toEqual({ plain: 'héllo ✓', quoted: 'say "hi" \\ \n' });
  });

  /** Hand-written wire format: a tag, then the field. */
  const varint = (n: number) => {
    const out: number[] = [];
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return Buffer.from(out);
  };
  const field = (number: number, bytes: Buffer) =>
    Buffer.concat([varint((number << 3) | 2), varint(bytes.length), bytes]);
  const fixed64 = (number: number, value: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(value);
    return Buffer.concat([varint((number << 3) | 1), b]);
  };
  const kv = (k: string, v: string) =>
    field(9, Buffer.concat([field(1, Buffer.from(k)), field(2, field(1, Buffer.from(v)))]));
  const wrap = (spanFields: Buffer) => field(1, field(2, field(2, spanFields)));

  it('reads fields in any order, the last of a repeated singular field, and skips unknown fields and groups', () => {
    const unknown = Buffer.concat([
      varint((20 << 3) | 0),
      varint(300),
      varint((21 << 3) | 5),
      Buffer.alloc(4),
      varint((22 << 3) | 3), // a group holding a varint, then its end
      varint((1 << 3) | 0),
      varint(1),
      varint((22 << 3) | 4),
    ]);
    const spanFields = Buffer.concat([
      kv('b', '2'),
      fixed64(8, 1_700_000_000_000_000_100n),
      field(5, Buffer.from('first name')),
      unknown,
      field(2, Buffer.alloc(8, 7)),
      kv('a', '1'),
      field(1, Buffer.alloc(16, 9)),
      fixed64(7, 1_700_000_000_000_000_000n),
      field(5, Buffer.from('last name')),
    ]);
    const [row] = otlpToRows(wrap(spanFields), 'protobuf', ORG).spanLines.map((l) => JSON.parse(l));
    expect(row).toMatchObject({
      TraceId: '09'.repeat(16),
      SpanId: '07'.repeat(8),
      SpanName: 'last name',
      SpanAttributes: { b: '2', a: '1' },
      Duration: 100,
    });
    expect(Object.keys(row.SpanAttributes)).toEqual(['b', 'a']);
  });

  it('answers a body cut short, overrunning or with an invalid wire type with InvalidArgument, nothing else', () => {
    const good = wrap(Buffer.concat([field(1, Buffer.alloc(16, 1)), field(2, Buffer.alloc(8, 1)), kv('a', 'b')]));
    for (const bad of [
      good.subarray(0, good.length - 3),
      Buffer.concat([good, Buffer.from([0x0a, 0x05, 0x01])]),
      Buffer.concat([good, Buffer.from([0x0f])]), // wire type 7
      Buffer.concat([good, Buffer.from([0x0c])]), // an end group without its start
      Buffer.concat([good, Buffer.from([0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])]),
    ]) {
      let error: unknown;
      try {
        otlpToRows(bad, 'protobuf', ORG);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(InvalidArgument);
      expect((error as Error).message).toMatch(/^the body is not an OTLP protobuf ExportTraceServiceRequest: /);
    }
    expect(otlpToRows(good, 'protobuf', ORG).rows).toBe(1);
  });
});
