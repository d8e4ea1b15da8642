import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { unstorableTextReason } from '../storable-text.ts';
import { encodeExportResponse, encodeStatus } from './encode-export-response.ts';
import { otlpProtoTypes } from './otlp-proto.ts';
import { ORGANIZATION_ATTRIBUTE, otlpToRows } from './otlp-to-rows.ts';

const ORG = 'org-00000000-0000-4000-8000-0000000000aa';
const rows = (lines: string) => (lines ? lines.split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) : []);
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const proto = (value: unknown) => {
  const { ExportTraceServiceRequest: T } = otlpProtoTypes();
  return T.encode(T.fromObject(value as Record<string, unknown>)).finish();
};
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const SPAN = 'b7ad6b7169203331';
/** A request with one span (JSON shapes: hex ids; `bytes` gives them as protobuf bytes); `span` is merged in. */
const request = (span: Record<string, unknown> = {}, ids: 'hex' | 'bytes' = 'hex') => ({
  resourceSpans: [
    {
      resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
      scopeSpans: [
        {
          scope: { name: 'scope', version: '1' },
          spans: [
            {
              traceId: ids === 'hex' ? TRACE : Buffer.from(TRACE, 'hex'),
              spanId: ids === 'hex' ? SPAN : Buffer.from(SPAN, 'hex'),
              name: 's',
              startTimeUnixNano: '1700000000000000001',
              endTimeUnixNano: '1700000000000000101',
              ...span,
            } as Record<string, unknown>,
          ],
        },
      ],
    },
  ],
});

async function sdkSpans() {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'agent', [ORGANIZATION_ATTRIBUTE]: 'org-forged' }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  const tracer = provider.getTracer('letta', '1.2.3');
  const root = tracer.startSpan('request', {
    kind: SpanKind.SERVER,
    startTime: [1_700_000_000, 5],
    attributes: { s: 'x', i: 42, d: 0.5, b: false, list: ['a', 'b'], nums: [1, 2.5] },
  });
  const ctx = trace.setSpan(ROOT_CONTEXT, root);
  const step = tracer.startSpan(
    'agent_step',
    { startTime: [1_700_000_000, 1_000], links: [{ context: root.spanContext() }] },
    ctx,
  );
  step.addEvent('first_token', { n: 1 }, [1_700_000_000, 2_000]);
  step.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  step.end([1_700_000_001, 0]);
  root.end([1_700_000_002, 0]);
  await provider.forceFlush();
  return memory.getFinishedSpans();
}

describe('OTLP export requests → otel_traces rows', () => {
  it('turns what the official serializers send (JSON and protobuf) into the same rows, as the exporter fills them', async () => {
    const spans = await sdkSpans();
    const fromJson = otlpToRows(JsonTraceSerializer.serializeRequest(spans)!, 'json', ORG);
    const fromProto = otlpToRows(ProtobufTraceSerializer.serializeRequest(spans)!, 'protobuf', ORG);
    expect(fromProto).toEqual(fromJson);
    expect(fromJson).toMatchObject({ rows: 2, rejected: 0, errorMessage: '' });
    const [step, root] = rows(fromJson.lines) as [Record<string, unknown>, Record<string, unknown>];
    // (JSON.parse rounds the 19-digit Timestamp: its exact digits are checked in the text below)
    expect(root).toMatchObject({
      SpanName: 'request',
      SpanKind: 'Server',
      ParentSpanId: '',
      ServiceName: 'agent',
      ScopeName: 'letta',
      ScopeVersion: '1.2.3',
      StatusCode: 'Unset',
      Duration: 1999999995,
      SpanAttributes: { s: 'x', i: '42', d: '0.5', b: 'false', list: '["a","b"]', nums: '[1,2.5]' },
    });
    // the caller's organization replaces what the client claimed
    expect((root.ResourceAttributes as Record<string, string>)[ORGANIZATION_ATTRIBUTE]).toBe(ORG);
    expect(step).toMatchObject({
      SpanName: 'agent_step',
      SpanKind: 'Internal',
      ParentSpanId: root.SpanId,
      StatusCode: 'Error',
      StatusMessage: 'boom',
      'Events.Name': ['first_token'],
      'Events.Attributes': [{ n: '1' }],
      'Links.TraceId': [root.TraceId],
      'Links.SpanId': [root.SpanId],
    });
    // nanoseconds survive exactly (the row is JSON text: compare the digits, not a float)
    expect(fromJson.lines).toContain('"Timestamp":1700000000000000005,');
    expect(fromJson.lines).toContain('"Timestamp":1700000000000001000,');
    expect(fromJson.lines).toContain('"Events.Timestamp":[1700000000000002000]');
  });

  it('writes every attribute value as pdata AsString does, the same from JSON and protobuf', () => {
    const attributes = [
      { key: 'big', value: { intValue: '9007199254740993' } },
      { key: 'neg', value: { intValue: '-12' } },
      { key: 'nan', value: { doubleValue: 'NaN' } },
      { key: 'inf', value: { doubleValue: '-Infinity' } },
      { key: 'bytes', value: { bytesValue: Buffer.from('hi').toString('base64') } },
      { key: 'empty', value: {} },
      { key: '__proto__', value: { stringValue: 'plain key' } },
      {
        key: 'nested',
        value: {
          kvlistValue: {
            values: [
              { key: 'n', value: { intValue: '9007199254740993' } },
              { key: 'l', value: { arrayValue: { values: [{ boolValue: true }, { stringValue: 'q"' }, {}] } } },
            ],
          },
        },
      },
    ];
    const fromJson = otlpToRows(json(request({ attributes })), 'json', ORG);
    const protoAttributes = attributes.map((a) => {
      if (a.key === 'bytes') return { key: 'bytes', value: { bytesValue: Buffer.from('hi') } };
      if (a.key === 'nan') return { key: 'nan', value: { doubleValue: Number.NaN } };
      if (a.key === 'inf') return { key: 'inf', value: { doubleValue: Number.NEGATIVE_INFINITY } };
      return a;
    });
    const fromProto = otlpToRows(proto(request({ attributes: protoAttributes }, 'bytes')), 'protobuf', ORG);
    const expected = {
      big: '9007199254740993',
      neg: '-12',
      nan: 'NaN',
      inf: '-Inf',
      bytes: 'aGk=',
      empty: '',
      ['__proto__']: 'plain key',
      nested: '{"n":9007199254740993,"l":[true,"q\\"",null]}',
    };
    const spanAttributes = (r: { lines: string }) => JSON.parse(r.lines).SpanAttributes;
    expect(spanAttributes(fromJson)).toEqual(expected);
    expect(spanAttributes(fromProto)).toEqual(expected);
    expect(fromJson.lines).toContain('"__proto__":"plain key"');
  });

  it('takes enum names as the protobuf JSON mapping allows, and leaves unknown kinds empty', () => {
    const row = (span: Record<string, unknown>) => rows(otlpToRows(json(request(span)), 'json', ORG).lines)[0];
    expect(row({ kind: 'SPAN_KIND_CLIENT', status: { code: 'STATUS_CODE_OK' } })).toMatchObject({
      SpanKind: 'Client',
      StatusCode: 'Ok',
    });
    expect(row({ kind: 3, status: { code: 2 } })).toMatchObject({ SpanKind: 'Client', StatusCode: 'Error' });
    expect(row({ kind: 9 })).toMatchObject({ SpanKind: '', StatusCode: 'Unset' });
    expect(row({ startTimeUnixNano: 1700000000000, endTimeUnixNano: 1700000000500 })).toMatchObject({ Duration: 500 });
  });

  it('refuses spans it cannot store (partial success) and keeps the rest', () => {
    const body = request();
    const good = body.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
    body.resourceSpans[0]!.scopeSpans[0]!.spans.push(
      { ...good, traceId: 'abc' },
      { ...good, traceId: '0'.repeat(32) },
      { ...good, spanId: '' },
      { ...good, parentSpanId: '0102' },
      { ...good, spanId: 'c'.repeat(16), parentSpanId: '0'.repeat(16) },
      { ...good, endTimeUnixNano: '1' },
      { ...good, startTimeUnixNano: '9223372036854775808', endTimeUnixNano: '9223372036854775809' },
      { ...good, links: [{ traceId: TRACE, spanId: 'nope' }] },
    );
    const result = otlpToRows(json(body), 'json', ORG);
    // an all-zero parent is no parent: a root span, as the exporter writes it
    expect(rows(result.lines).map((r) => [r.SpanId, r.ParentSpanId])).toEqual([
      [SPAN, ''],
      ['c'.repeat(16), ''],
    ]);
    expect(result).toMatchObject({ rows: 2, rejected: 7 });
    expect(result.errorMessage).toMatch(
      /^7 spans rejected: traceId .* \(2\); spanId .* \(1\); parentSpanId .* \(1\); endTimeUnixNano is before startTimeUnixNano \(1\); .*2262.* \(1\); a link .* \(1\)$/,
    );
  });

  it('keeps every string storable: unpaired surrogates become U+FFFD and NUL goes, wherever they are, with a warning', () => {
    const bad = 'a\ud800b\u0000c\udc00';
    const fixed = 'a\ufffdbc\ufffd';
    const kv = (key: string, value: string) => ({ key, value: { stringValue: value } });
    const body = request({
      name: bad,
      traceState: bad,
      status: { code: 2, message: bad },
      attributes: [
        kv(bad, bad),
        { key: 'list', value: { arrayValue: { values: [{ stringValue: bad }] } } },
        { key: 'map', value: { kvlistValue: { values: [{ key: bad, value: { stringValue: bad } }] } } },
      ],
      events: [{ timeUnixNano: '1700000000000000050', name: bad, attributes: [kv(bad, bad)] }],
      links: [{ traceId: TRACE, spanId: SPAN, traceState: bad, attributes: [kv(bad, bad)] }],
    });
    body.resourceSpans[0]!.resource.attributes.push(kv(bad, bad), kv('service.name', bad));
    (body.resourceSpans[0]!.scopeSpans[0]! as { scope: unknown }).scope = { name: bad, version: bad };
    // a second span, clean itself, shares the altered resource and scope
    body.resourceSpans[0]!.scopeSpans[0]!.spans.push({
      ...body.resourceSpans[0]!.scopeSpans[0]!.spans[0]!,
      name: 'clean',
      spanId: 'c'.repeat(16),
    });
    const result = otlpToRows(json(body), 'json', ORG);
    expect(result).toMatchObject({ rows: 2, rejected: 0, altered: 2 });
    expect(result.errorMessage).toBe(
      '2 spans kept with text changed: unpaired surrogates replaced by U+FFFD, NUL characters removed',
    );
    // nothing in the rows is an escape ClickHouse refuses (`\ud800`) or a NUL
    expect(result.lines).not.toMatch(/\\u(d[89a-f]|0000)/i);
    const [row] = rows(result.lines);
    expect(row).toMatchObject({
      ServiceName: fixed,
      ResourceAttributes: { [fixed]: fixed, 'service.name': fixed },
      ScopeName: fixed,
      ScopeVersion: fixed,
      SpanName: fixed,
      TraceState: fixed,
      StatusMessage: fixed,
      SpanAttributes: { [fixed]: fixed, list: JSON.stringify([fixed]), map: JSON.stringify({ [fixed]: fixed }) },
      'Events.Name': [fixed],
      'Events.Attributes': [{ [fixed]: fixed }],
      'Links.TraceState': [fixed],
      'Links.Attributes': [{ [fixed]: fixed }],
    });
    // a clean request is untouched and unwarned; protobuf (which cannot carry a lone surrogate) loses NUL the same way
    expect(otlpToRows(json(request({ name: 'ok \ud83d\ude00' })), 'json', ORG)).toMatchObject({
      altered: 0,
      errorMessage: '',
    });
    const fromProto = otlpToRows(proto(request({ name: 'x\u0000y' }, 'bytes')), 'protobuf', ORG);
    expect([rows(fromProto.lines)[0]?.SpanName, fromProto.altered]).toEqual(['xy', 1]);
    // protobuf text is only NUL-checked: a surrogate encoded in UTF-8 bytes (ED A0 80, what a lenient encoder makes of
    // "\ud800") and invalid bytes decode to U+FFFD, never to an unpaired surrogate
    const bytes = Buffer.from(proto(request({ name: 'a@@@b#c' }, 'bytes')));
    const at = bytes.indexOf('a@@@b#c');
    bytes.set([0xed, 0xa0, 0x80], at + 1);
    bytes[at + 5] = 0xff;
    const decoded = rows(otlpToRows(bytes, 'protobuf', ORG).lines)[0]?.SpanName as string;
    expect(decoded).toMatch(/^a\ufffd+b\ufffdc$/);
    expect(unstorableTextReason(decoded)).toBeNull();
  });

  it('answers a body that is not an export request with InvalidArgument naming the place', () => {
    const fails = (body: Uint8Array, format: 'json' | 'protobuf' = 'json') => {
      try {
        otlpToRows(body, format, ORG);
      } catch (err) {
        return err as { code: string; message: string };
      }
      throw new Error('expected a failure');
    };
    expect(fails(Buffer.from('{"resourceSpans":'))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('not JSON'),
    });
    expect(fails(json([]))).toMatchObject({ message: expect.stringContaining('request must be an object') });
    expect(fails(json({ resourceSpans: {} })).message).toContain('resourceSpans must be an array');
    expect(fails(json(request({ attributes: [{ key: 1 }] }))).message).toContain(
      'resourceSpans[0].scopeSpans[0].spans[0].attributes[0].key must be a string',
    );
    expect(fails(json(request({ startTimeUnixNano: '-5' }))).message).toContain(
      'startTimeUnixNano must not be negative',
    );
    expect(fails(json(request({ startTimeUnixNano: '1e9' }))).message).toContain(
      'startTimeUnixNano must be an integer',
    );
    expect(fails(json(request({ traceId: 5 }))).message).toContain('traceId must be a hex string');
    let deep: Record<string, unknown> = { stringValue: 'x' };
    for (let i = 0; i < 40; i++) deep = { arrayValue: { values: [deep] } };
    expect(fails(json(request({ attributes: [{ key: 'd', value: deep }] }))).message).toContain(
      'nests deeper than 32 levels',
    );
    expect(fails(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]), 'protobuf')).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('not an OTLP protobuf ExportTraceServiceRequest'),
    });
  });

  it('encodes the answers as the spec says: empty on success, partial_success otherwise, google.rpc.Status for errors', () => {
    const types = otlpProtoTypes();
    expect(JSON.parse(Buffer.from(encodeExportResponse('json', 0, '')).toString())).toEqual({});
    expect(JSON.parse(Buffer.from(encodeExportResponse('json', 2, 'why')).toString())).toEqual({
      partialSuccess: { rejectedSpans: '2', errorMessage: 'why' },
    });
    expect(encodeExportResponse('protobuf', 0, '')).toHaveLength(0);
    expect(types.ExportTraceServiceResponse.decode(encodeExportResponse('protobuf', 2, 'why')).toJSON()).toEqual({
      partialSuccess: { rejectedSpans: '2', errorMessage: 'why' },
    });
    // nothing rejected but a warning: the message alone (rejected_spans 0 is left out, as the JSON mapping does)
    expect(JSON.parse(Buffer.from(encodeExportResponse('json', 0, 'note')).toString())).toEqual({
      partialSuccess: { errorMessage: 'note' },
    });
    expect(types.ExportTraceServiceResponse.decode(encodeExportResponse('protobuf', 0, 'note')).toJSON()).toEqual({
      partialSuccess: { errorMessage: 'note' },
    });
    expect(JSON.parse(Buffer.from(encodeStatus('json', 3, 'bad')).toString())).toEqual({ code: 3, message: 'bad' });
    expect(types.Status.decode(encodeStatus('protobuf', 3, 'bad')).toJSON()).toEqual({ code: 3, message: 'bad' });
  });
});
