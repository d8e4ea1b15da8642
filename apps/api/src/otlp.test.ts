/**
 * OTLP/HTTP ingest and runs.trace over real HTTP: a real OpenTelemetry SDK (sdk-trace-node) exports an agent-like
 * trace with the official OTLP exporters (JSON, and protobuf with gzip), then runs.trace (raw tRPC over fetch) must
 * return exactly the trace view's spans in order. Also malformed and oversized bodies, partial success, auth,
 * organization isolation, CLICKHOUSE_URL=off and the api's own request spans.
 */
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { type HrTime, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as OTLPJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { type Actor, DEFAULT_ACTOR, DEFAULT_ORGANIZATION_ID, newId } from '@runtrace/core';
import { otlpProtoTypes, qualified } from '@runtrace/core/internal';
import { clickhouseTargets, createTestRuntime, databaseTargets, type TestRuntime } from '@runtrace/core/testing';
import { readTraceSpans, type TraceSpan } from '@runtrace/core/traces';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from './server.ts';
import { exportWith } from './testing/otlp-test-api.ts';

interface Api {
  rt: TestRuntime;
  app: FastifyInstance;
  url: string;
}

async function startApi(env: Record<string, string>): Promise<Api> {
  const [database] = databaseTargets();
  const rt = await createTestRuntime(database!, { NODE_ENV: 'production', ...env });
  const app = await buildServer(rt);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { rt, app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

type TrpcBody = { result?: { data: unknown }; error?: { message: string; data: Record<string, unknown> } };

async function trpcQuery(api: Api, procedure: string, input: unknown, key?: string) {
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  const res = await fetch(`${api.url}/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, {
    headers,
  });
  return { status: res.status, body: (await res.json()) as TrpcBody };
}

async function postTraces(api: Api, body: BodyInit, headers: Record<string, string>) {
  const res = await fetch(`${api.url}/v1/traces`, { method: 'POST', body, headers });
  return { status: res.status, type: res.headers.get('content-type'), bytes: new Uint8Array(await res.arrayBuffer()) };
}

const json = (bytes: Uint8Array) => JSON.parse(Buffer.from(bytes).toString('utf8'));

/** The OTLP ingest figures of GET /metrics (Prometheus text). */
async function spanMetrics(api: Api) {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
  return {
    written: value(/^runtrace_otlp_spans_total\{result="written"\} (\d+)$/m),
    rejected: value(/^runtrace_otlp_spans_total\{result="rejected"\} (\d+)$/m),
    failed: value(/^runtrace_otlp_spans_total\{result="failed"\} (\d+)$/m),
    queueDepth: value(/^runtrace_otlp_queue_depth (\d+)$/m),
  };
}
const protoStatus = (bytes: Uint8Array) => otlpProtoTypes().Status.toObject(otlpProtoTypes().Status.decode(bytes));

/** A fixed start, in whole seconds: span times are explicit so that order and nanoseconds are exact. */
const T0 = Math.floor(Date.now() / 1000) - 60;
const at = (ms: number, ns = 0): HrTime => [T0 + Math.floor(ms / 1000), (ms % 1000) * 1e6 + ns];
const nanos = (t: HrTime) => (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();

interface AgentTrace {
  traceId: string;
  /** The spans runs.trace must return, in order: [name, start]. */
  expected: { name: string; start: HrTime; end: HrTime }[];
  spans: ReadableSpan[];
}

/**
 * An agent run as Letta traces it: the request (root) → two agent_steps, each with time_to_first_token, an LLM call
 * and a tool execution (`LettaAgentV3._execute_tool`, whose own child is not drawn). `clientOrg` is what a client
 * might claim as its organization (the server must replace it).
 */
async function recordAgentTrace(
  options: { clientOrg?: string; offsetMs?: number; traceId?: string } = {},
): Promise<AgentTrace> {
  const memory = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      'service.name': 'letta-server',
      ...(options.clientOrg ? { 'runtrace.organization_id': options.clientOrg } : {}),
    }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('letta.agents', '0.16.0');
  const o = options.offsetMs ?? 0;
  const expected: AgentTrace['expected'] = [];
  const span = (
    name: string,
    parent: ReturnType<typeof tracer.startSpan> | null,
    start: HrTime,
    end: HrTime,
    extra = {},
  ) => {
    let ctx = parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
    if (!parent && options.traceId) {
      ctx = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: options.traceId,
        spanId: 'a'.repeat(16),
        traceFlags: 1,
        isRemote: true,
      });
    }
    const s = tracer.startSpan(name, { startTime: start, ...extra }, ctx);
    return { s, end: () => s.end(end) };
  };
  const root = span('POST /v1/agents/{agent_id}/messages', null, at(o, 7), at(o + 900), {
    kind: SpanKind.SERVER,
    attributes: { 'http.method': 'POST', 'agent.id': 'agent-1', 'request.bytes': 2048, sampled: true, ratio: 0.25 },
  });
  if (!options.traceId)
    expected.push({ name: 'POST /v1/agents/{agent_id}/messages', start: at(o, 7), end: at(o + 900) });
  for (const [i, base] of [100, 500].entries()) {
    const step = span('agent_step', root.s, at(o + base), at(o + base + 300), { attributes: { 'step.index': i } });
    expected.push({ name: 'agent_step', start: at(o + base), end: at(o + base + 300) });
    const ttft = span('time_to_first_token', step.s, at(o + base + 10), at(o + base + 60));
    ttft.s.addEvent('first_token', { 'ttft.ns': 50_000_000 }, at(o + base + 60));
    ttft.end();
    expected.push({ name: 'time_to_first_token', start: at(o + base + 10), end: at(o + base + 60) });
    span('llm_request', step.s, at(o + base + 5), at(o + base + 150)).end();
    const tool = span('LettaAgentV3._execute_tool', step.s, at(o + base + 160), at(o + base + 290), {
      attributes: { 'tool.name': 'web_search', 'tool.args': JSON.stringify({ q: 'otel' }) },
    });
    span('ToolExecutionManager.execute', tool.s, at(o + base + 161), at(o + base + 289)).end();
    tool.s.setStatus({ code: SpanStatusCode.ERROR, message: 'tool timed out' });
    tool.end();
    expected.push({ name: 'LettaAgentV3._execute_tool', start: at(o + base + 160), end: at(o + base + 290) });
    step.end();
  }
  root.end();
  await provider.forceFlush();
  expected.sort((a, b) => (BigInt(nanos(a.start)) < BigInt(nanos(b.start)) ? -1 : 1));
  return { traceId: root.s.spanContext().traceId, expected, spans: memory.getFinishedSpans() };
}

async function runWithSteps(rt: TestRuntime, actor: Actor, traceIds: (string | null)[]) {
  const run = await rt.runs.create(actor, { agentId: newId('agent') });
  for (const traceId of traceIds) await rt.steps.create(actor, { runId: run.id, traceId });
  return run;
}

describe.each(clickhouseTargets())('OTLP ingest and runs.trace on $name', (target) => {
  let api: Api;
  let orgB: { key: string; actor: Actor };
  const exporters = () => ({
    json: new OTLPJsonExporter({ url: `${api.url}/v1/traces` }),
    // exporters send gzip when asked to; the receiver must take it
    protoGzip: (key?: string) =>
      new OTLPProtoExporter({
        url: `${api.url}/v1/traces`,
        compression: 'gzip' as never,
        headers: key ? { authorization: `Bearer ${key}` } : {},
      }),
  });
  const runTrace = async (runId: string, key?: string, limit?: number) => {
    await api.rt.traces.flush();
    return trpcQuery(api, 'runs.trace', limit === undefined ? { runId } : { runId, limit }, key);
  };

  beforeAll(async () => {
    api = await startApi({ CLICKHOUSE_URL: target.url, RUNTRACE_OTEL_SELF_TRACE: 'direct' });
    const org = await api.rt.auth.createOrganization('b');
    orgB = {
      key: (await api.rt.auth.createApiKey(org.id, 'b')).key,
      actor: { organizationId: org.id, userId: org.userId },
    };
  });
  afterAll(async () => {
    await api?.app.close();
    await api?.rt.dispose();
  });

  it('a real SDK exports an agent run over OTLP/JSON; runs.trace returns exactly the trace view spans, in order', async () => {
    const agent = await recordAgentTrace({ clientOrg: 'org-forged' });
    await exportWith(exporters().json, agent.spans);
    const run = await runWithSteps(api.rt, DEFAULT_ACTOR, [agent.traceId, agent.traceId.toUpperCase(), null]);
    const res = await runTrace(run.id);
    expect(res.status).toBe(200);
    const spans = res.body.result?.data as TraceSpan[];
    expect(spans.map((s) => [s.spanName, s.timestamp, s.duration])).toEqual(
      agent.expected.map((e) => [e.name, nanos(e.start), (BigInt(nanos(e.end)) - BigInt(nanos(e.start))).toString()]),
    );
    const [root, step] = spans;
    expect(root).toMatchObject({
      traceId: agent.traceId,
      parentSpanId: '',
      spanKind: 'Server',
      serviceName: 'letta-server',
      scopeName: 'letta.agents',
      scopeVersion: '0.16.0',
      statusCode: 'Unset',
      // the caller's organization, whatever the client claimed
      resourceAttributes: { 'service.name': 'letta-server', 'runtrace.organization_id': DEFAULT_ORGANIZATION_ID },
      spanAttributes: {
        'http.method': 'POST',
        'agent.id': 'agent-1',
        'request.bytes': '2048',
        sampled: 'true',
        ratio: '0.25',
      },
      events: [],
      links: [],
    });
    expect(step?.parentSpanId).toBe(root?.spanId);
    const ttft = spans.find((s) => s.spanName === 'time_to_first_token');
    expect(ttft?.events).toEqual([
      { timestamp: nanos(at(160)), name: 'first_token', attributes: { 'ttft.ns': '50000000' } },
    ]);
    const tool = spans.find((s) => s.spanName === 'LettaAgentV3._execute_tool');
    expect(tool).toMatchObject({
      statusCode: 'Error',
      statusMessage: 'tool timed out',
      spanAttributes: { 'tool.name': 'web_search' },
    });
    // the limit keeps the oldest
    const limited = await runTrace(run.id, undefined, 3);
    expect((limited.body.result!.data as TraceSpan[]).map((s) => s.spanName)).toEqual(
      agent.expected.slice(0, 3).map((e) => e.name),
    );
  });

  it('takes protobuf with gzip from the official exporter too, and merges every trace id of the run, by time', async () => {
    const first = await recordAgentTrace({ offsetMs: 2_000 });
    const second = await recordAgentTrace({ offsetMs: 1_000 });
    await exportWith(exporters().protoGzip(), [...first.spans, ...second.spans]);
    const run = await runWithSteps(api.rt, DEFAULT_ACTOR, [first.traceId, second.traceId, first.traceId]);
    const res = await runTrace(run.id);
    const names = (res.body.result!.data as TraceSpan[]).map((s) => [s.traceId, s.spanName]);
    expect(names).toEqual([
      ...second.expected.map((e) => [second.traceId, e.name]),
      ...first.expected.map((e) => [first.traceId, e.name]),
    ]);
  });

  it('answers an empty list for a run without trace ids, NOT_FOUND for another organization, BAD_REQUEST for a bad limit', async () => {
    const none = await runWithSteps(api.rt, DEFAULT_ACTOR, [null, null]);
    expect((await runTrace(none.id)).body.result?.data).toEqual([]);
    const noSteps = await runWithSteps(api.rt, DEFAULT_ACTOR, []);
    expect((await runTrace(noSteps.id)).body.result?.data).toEqual([]);
    const foreign = await runTrace(none.id, orgB.key);
    expect(foreign.status).toBe(404);
    expect(foreign.body.error?.data.code).toBe('NOT_FOUND');
    expect((await runTrace(newId('run'))).status).toBe(404);
    for (const limit of [0, 5001, 1.5]) {
      const bad = await runTrace(none.id, undefined, limit);
      expect(bad.status).toBe(400);
      expect(bad.body.error?.data.field).toBe('limit');
    }
    expect((await runTrace(none.id, undefined, 5000)).status).toBe(200);
  });

  it("keeps organizations apart: another organization's spans with the same trace id never show in a run's trace", async () => {
    const mine = await recordAgentTrace({ offsetMs: 3_000 });
    await exportWith(exporters().json, mine.spans);
    // organization B sends spans into the very same trace id (and claims the default organization)
    const intruder = await recordAgentTrace({
      offsetMs: 3_000,
      traceId: mine.traceId,
      clientOrg: DEFAULT_ORGANIZATION_ID,
    });
    await exportWith(exporters().protoGzip(orgB.key), intruder.spans);
    const run = await runWithSteps(api.rt, DEFAULT_ACTOR, [mine.traceId]);
    const spans = (await runTrace(run.id)).body.result?.data as TraceSpan[];
    expect(spans.map((s) => s.spanName)).toEqual(mine.expected.map((e) => e.name));
    expect(new Set(spans.map((s) => s.resourceAttributes['runtrace.organization_id']))).toEqual(
      new Set([DEFAULT_ORGANIZATION_ID]),
    );
    // B sees its own spans of that trace id in its own run, stamped with its organization
    const runB = await runWithSteps(api.rt, orgB.actor, [mine.traceId]);
    const spansB = (await runTrace(runB.id, orgB.key)).body.result?.data as TraceSpan[];
    expect(spansB.map((s) => s.spanName)).toEqual(intruder.expected.map((e) => e.name));
    expect(spansB.every((s) => s.resourceAttributes['runtrace.organization_id'] === orgB.actor.organizationId)).toBe(
      true,
    );
  });

  it('reports partial success as the spec says: the valid spans are written, the invalid ones counted with the reason', async () => {
    const before = await spanMetrics(api);
    const traceId = 'ab'.repeat(16);
    const span = (spanId: string, extra = {}) => ({
      traceId,
      spanId,
      name: 'agent_step',
      startTimeUnixNano: `${T0}000000000`,
      endTimeUnixNano: `${T0}000000100`,
      ...extra,
    });
    const request = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
          scopeSpans: [
            {
              spans: [
                span('0000000000000001'),
                span('00000000000000zz'),
                span('0000000000000002', { endTimeUnixNano: `${T0 - 1}000000000` }),
                span('0000000000000003', { traceId: '00'.repeat(16) }),
              ],
            },
          ],
        },
      ],
    };
    const res = await postTraces(api, JSON.stringify(request), { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    expect(res.type).toBe('application/json');
    expect(json(res.bytes)).toEqual({
      partialSuccess: {
        rejectedSpans: '3',
        errorMessage: expect.stringMatching(/^3 spans rejected: .*spanId.*endTimeUnixNano.*traceId/),
      },
    });
    const protoRes = await postTraces(
      api,
      Buffer.from(
        otlpProtoTypes()
          .ExportTraceServiceRequest.encode(
            otlpProtoTypes().ExportTraceServiceRequest.fromObject({
              resourceSpans: [
                { scopeSpans: [{ spans: [{ traceId: Buffer.alloc(16, 1), spanId: Buffer.alloc(3, 1), name: 'x' }] }] },
              ],
            }),
          )
          .finish(),
      ),
      { 'content-type': 'application/x-protobuf' },
    );
    expect(protoRes.status).toBe(200);
    expect(protoRes.type).toBe('application/x-protobuf');
    const decoded = otlpProtoTypes().ExportTraceServiceResponse.decode(protoRes.bytes).toJSON();
    expect(decoded).toEqual({
      partialSuccess: { rejectedSpans: '1', errorMessage: expect.stringContaining('spanId') },
    });
    // a full success is an empty response
    const ok = await postTraces(api, JSON.stringify({ resourceSpans: [] }), { 'content-type': 'application/json' });
    expect([ok.status, json(ok.bytes)]).toEqual([200, {}]);
    await api.rt.traces.flush();
    const written = await readTraceSpans(api.rt.clickhouse!, {
      organizationId: DEFAULT_ORGANIZATION_ID,
      traceIds: [traceId],
      limit: 10,
      viewFilter: false,
    });
    expect(written.map((s) => s.spanId)).toEqual(['0000000000000001']);
    // GET /metrics counts them too (the api's own request spans, when traced, are written, never refused).
    const after = await spanMetrics(api);
    expect(after.rejected - before.rejected).toBe(4);
    expect(after.written - before.written).toBeGreaterThanOrEqual(1);
    expect(after.failed).toBe(before.failed);
    expect(after.queueDepth).toBe(0);
  });

  it("one export's lone surrogate fails no other export of its batch: 15 good exports of two organizations are written", async () => {
    const before = await spanMetrics(api);
    // the repro, byte for byte: `\ud800` is a JSON escape in the body text
    const bad =
      '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"\\ud800","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000001000000000"}]}]}]}';
    const good = Array.from({ length: 15 }, (_, i) => {
      const traceId = `${(i + 1).toString(16).padStart(2, '0')}`.repeat(16);
      const spans = [0, 1].map((s) => ({
        traceId,
        spanId: `${s + 1}`.repeat(16),
        parentSpanId: s ? '1'.repeat(16) : '',
        name: s ? 'agent_step' : 'POST /v1/agents/{agent_id}/messages',
        startTimeUnixNano: `${T0 + s}000000000`,
        endTimeUnixNano: `${T0 + s}000000100`,
      }));
      return {
        traceId,
        org: i % 2 ? orgB : null,
        body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }),
      };
    });
    // the same span inside the TTL (the repro's 2023 span expires at once), to read back what was stored
    const recent = bad
      .replace('b7ad6b7169203331', 'b7ad6b7169203332')
      .replace('1700000000000000000', `${T0}000000000`)
      .replace('1700000001000000000', `${T0 + 1}000000000`);
    // all at once, so that they share the receiver's batches with the bad ones
    const [badRes, recentRes, ...goodRes] = await Promise.all([
      postTraces(api, bad, { 'content-type': 'application/json' }),
      postTraces(api, recent, { 'content-type': 'application/json', authorization: `Bearer ${orgB.key}` }),
      ...good.map((g) =>
        postTraces(api, g.body, {
          'content-type': 'application/json',
          ...(g.org ? { authorization: `Bearer ${g.org.key}` } : {}),
        }),
      ),
    ]);
    expect(goodRes.map((r) => [r.status, json(r.bytes)])).toEqual(good.map(() => [200, {}]));
    // kept, as protobuf keeps invalid UTF-8: the unpaired surrogate became U+FFFD (the exporter is told so)
    for (const res of [badRes, recentRes]) {
      expect(res.status).toBe(200);
      expect(json(res.bytes)).toEqual({
        partialSuccess: { errorMessage: expect.stringMatching(/^1 span .*unpaired surrogate.*U\+FFFD/) },
      });
    }
    await api.rt.traces.flush();
    for (const g of good) {
      const organizationId = g.org ? g.org.actor.organizationId : DEFAULT_ORGANIZATION_ID;
      const spans = await readTraceSpans(api.rt.clickhouse!, { organizationId, traceIds: [g.traceId], limit: 10 });
      expect(spans.map((s) => s.spanName)).toEqual(['POST /v1/agents/{agent_id}/messages', 'agent_step']);
    }
    // and through runs.trace, for each organization
    const [mine, theirs] = [good[0]!, good[1]!];
    const run = await runWithSteps(api.rt, DEFAULT_ACTOR, [mine.traceId]);
    expect((await runTrace(run.id)).body.result?.data).toHaveLength(2);
    const runB = await runWithSteps(api.rt, orgB.actor, [theirs.traceId]);
    expect((await runTrace(runB.id, orgB.key)).body.result?.data).toHaveLength(2);
    const stored = await readTraceSpans(api.rt.clickhouse!, {
      organizationId: orgB.actor.organizationId,
      traceIds: ['0af7651916cd43dd8448eb211c80319c'],
      limit: 10,
      viewFilter: false,
      // through the trace id's time window, which also holds the repro's 2023 span (past its TTL): the window's row
      // lives as long as the trace's newest span
    });
    expect(stored.map((s) => s.spanName)).toEqual(['\ufffd']);
    const after = await spanMetrics(api);
    expect(after.written - before.written).toBeGreaterThanOrEqual(32);
    expect([after.failed - before.failed, after.rejected - before.rejected]).toEqual([0, 0]);
  });

  it('refuses malformed bodies with 400 and a google.rpc.Status in the request encoding, other types with 415', async () => {
    const notJson = await postTraces(api, '{"resourceSpans": [', { 'content-type': 'application/json' });
    expect(notJson.status).toBe(400);
    expect(json(notJson.bytes)).toEqual({ code: 3, message: expect.stringContaining('not JSON') });
    const wrongShape = await postTraces(
      api,
      JSON.stringify({
        resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), name: 7 }] }] }],
      }),
      {
        'content-type': 'application/json; charset=utf-8',
      },
    );
    expect(wrongShape.status).toBe(400);
    expect(json(wrongShape.bytes).message).toContain('resourceSpans[0].scopeSpans[0].spans[0].name must be a string');
    const garbage = await postTraces(api, Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), {
      'content-type': 'application/x-protobuf',
    });
    expect(garbage.status).toBe(400);
    expect(garbage.type).toBe('application/x-protobuf');
    expect(protoStatus(garbage.bytes)).toMatchObject({
      code: 3,
      message: expect.stringContaining('not an OTLP protobuf'),
    });
    const badGzip = await postTraces(api, 'not gzip', {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect([badGzip.status, json(badGzip.bytes).code]).toEqual([400, 3]);
    const text = await postTraces(api, 'hello', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(json(text.bytes).message).toMatch(/application\/x-protobuf or application\/json/);
    const brotli = await postTraces(api, '{}', { 'content-type': 'application/json', 'content-encoding': 'br' });
    expect(brotli.status).toBe(415);
  });

  it('answers 413 for bodies over 32 MiB, compressed or once decompressed', async () => {
    const huge = await postTraces(api, Buffer.alloc(33 * 1024 * 1024, 0x20), { 'content-type': 'application/json' });
    expect(huge.status).toBe(413);
    expect(json(huge.bytes).code).toBe(8);
    // ~33 KB on the wire, 33 MiB inflated
    const bomb = gzipSync(Buffer.alloc(33 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(100_000);
    const inflated = await postTraces(api, bomb, {
      'content-type': 'application/x-protobuf',
      'content-encoding': 'gzip',
    });
    expect(inflated.status).toBe(413);
    expect(protoStatus(inflated.bytes)).toMatchObject({ code: 8, message: expect.stringContaining('decompressed') });
    // a large valid export below the limit goes through
    const big = {
      resourceSpans: [
        {
          scopeSpans: [
            { spans: [{ traceId: 'cd'.repeat(16), spanId: '1'.repeat(16), name: 'x'.repeat(20 * 1024 * 1024) }] },
          ],
        },
      ],
    };
    const ok = await postTraces(api, gzipSync(JSON.stringify(big)), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(ok.status).toBe(200);
  });

  it('authenticates like every call: an invalid key is 401 with a Status', async () => {
    const bad = await postTraces(api, '{}', { 'content-type': 'application/json', authorization: 'Bearer rt_nope' });
    expect(bad.status).toBe(401);
    expect(json(bad.bytes)).toMatchObject({ code: 16, message: expect.stringMatching(/invalid or revoked/i) });
    const malformed = await postTraces(api, Buffer.alloc(0), {
      'content-type': 'application/x-protobuf',
      authorization: 'Basic x',
    });
    expect(malformed.status).toBe(401);
    expect(protoStatus(malformed.bytes)).toMatchObject({ code: 16 });
  });

  it("traces the api's own requests (a child of the caller's traceparent), never its OTLP requests", async () => {
    const traceId = '5e1f'.repeat(8);
    const parent = '00f067aa0ba902b7';
    const res = await fetch(`${api.url}/trpc/runs.create`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${parent}-01` },
      body: JSON.stringify({ agentId: newId('agent') }),
    });
    expect(res.status).toBe(200);
    await postTraces(api, JSON.stringify({ resourceSpans: [] }), { 'content-type': 'application/json' });
    // the server span ends in onResponse, after the client may already hold the answer: wait for it
    let spans: TraceSpan[] = [];
    for (let attempt = 0; attempt < 50 && spans.length === 0; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, 100));
      await api.rt.selfTracer!.forceFlush();
      await api.rt.traces.flush();
      spans = await readTraceSpans(api.rt.clickhouse!, {
        organizationId: DEFAULT_ORGANIZATION_ID,
        traceIds: [traceId],
        limit: 10,
        viewFilter: false,
      });
    }
    expect(spans).toEqual([
      expect.objectContaining({
        spanName: 'POST /trpc/runs.create',
        parentSpanId: parent,
        spanKind: 'Server',
        serviceName: 'runtrace-api',
        spanAttributes: expect.objectContaining({ 'rpc.method': 'runs.create', 'http.response.status_code': '200' }),
      }),
    ]);
    const ch = api.rt.clickhouse!;
    const result = await ch.client.query({
      query: `SELECT count() AS n FROM ${qualified(ch, 'otel_traces')} WHERE ServiceName = 'runtrace-api' AND SpanName LIKE '%/v1/traces%'`,
      format: 'JSONEachRow',
    });
    expect(Number((await result.json<{ n: string }>())[0]?.n)).toBe(0);
  });
});

describe('OTLP and runs.trace with CLICKHOUSE_URL=off and RUNTRACE_AUTH=required', () => {
  let api: Api;
  let key: string;
  beforeAll(async () => {
    api = await startApi({ CLICKHOUSE_URL: 'off', RUNTRACE_AUTH: 'required' });
    key = (await api.rt.auth.createApiKey(DEFAULT_ORGANIZATION_ID, 'k')).key;
  });
  afterAll(async () => {
    await api?.app.close();
    await api?.rt.dispose();
  });

  it('needs a key, then answers 501 / NOT_IMPLEMENTED naming CLICKHOUSE_URL (before looking at the run)', async () => {
    const anonymous = await postTraces(api, '{}', { 'content-type': 'application/json' });
    expect(anonymous.status).toBe(401);
    expect(json(anonymous.bytes).message).toMatch(/API key is required/);
    const off = await postTraces(api, '{}', { 'content-type': 'application/json', authorization: `Bearer ${key}` });
    expect(off.status).toBe(501);
    expect(json(off.bytes)).toMatchObject({ code: 12, message: expect.stringContaining('CLICKHOUSE_URL') });
    const run = await runWithSteps(api.rt, DEFAULT_ACTOR, ['ab'.repeat(16)]);
    for (const runId of [run.id, newId('run')]) {
      const res = await trpcQuery(api, 'runs.trace', { runId }, key);
      expect(res.status).toBe(501);
      expect(res.body.error?.data.code).toBe('NOT_IMPLEMENTED');
      expect(res.body.error?.message).toContain('CLICKHOUSE_URL');
    }
    // input is checked first, as in Letta
    expect((await trpcQuery(api, 'runs.trace', { runId: run.id, limit: 0 }, key)).status).toBe(400);
    expect((await trpcQuery(api, 'runs.trace', { runId: run.id })).status).toBe(401);
  });
});
