/**
 * The OTLP/gRPC receiver over real gRPC, on the real pipeline (chdb): the official OpenTelemetry gRPC exporter sends
 * an agent's spans (gzip on) that runs.trace then returns as it does for OTLP/HTTP; a raw client sends what no
 * exporter would (malformed, oversized, compressed bombs, bad keys) and gets the documented status codes; partial
 * success is the very answer OTLP/HTTP gives; the counters on /metrics; RUNTRACE_OTLP_GRPC_PORT=off, a taken port,
 * CLICKHOUSE_URL=off; and shutdown draining an export in flight. On PGlite and, with DATABASE_URL, on Postgres.
 */
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { gzipSync } from 'node:zlib';
import { type HrTime, ROOT_CONTEXT, SpanKind, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemorySpanExporter,
  NodeTracerProvider,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import { type Actor, DEFAULT_ACTOR, DEFAULT_ORGANIZATION_ID } from '@runtrace/core';
import { otlpProtoTypes, qualified } from '@runtrace/core/internal';
import { createTestRuntime, databaseTargets } from '@runtrace/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otlpGrpcPort } from './otlp-grpc.ts';
import { buildServer } from './server.ts';
import { grpcExportClient } from './test-grpc-export.ts';
import {
  type Api,
  exportWith,
  officialExporters,
  runTrace,
  startApi,
  stopApi,
  storedTraceSpans,
} from './testing/otlp-test-api.ts';

/** Every span row of the api's ClickHouse (any organization, any trace). */
async function storedSpans(api: Api): Promise<number> {
  await api.rt.traces.flush();
  const ch = api.rt.clickhouse!;
  const result = await ch.client.query({
    query: `SELECT count() AS n FROM ${qualified(ch, 'otel_traces')}`,
    format: 'JSONEachRow',
  });
  return Number((await result.json<{ n: string }>())[0]?.n);
}

/** The ids of the spans stored in one trace of one organization (all of them, not only a trace view's). */
async function storedSpanIds(api: Api, organizationId: string, traceId: string): Promise<string[]> {
  return (await storedTraceSpans(api, organizationId, traceId, 10)).map((s) => s.spanId);
}

/** The OTLP counters of GET /metrics. */
async function grpcMetrics(api: Api) {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
  const requests = (code: string) =>
    value(new RegExp(`^runtrace_otlp_grpc_requests_total\\{code="${code}"\\} (\\d+)$`, 'm'));
  return {
    ok: requests('OK'),
    invalid: requests('INVALID_ARGUMENT'),
    unauthenticated: requests('UNAUTHENTICATED'),
    exhausted: requests('RESOURCE_EXHAUSTED'),
    written: value(/^runtrace_otlp_grpc_spans_total\{result="written"\} (\d+)$/m),
    rejected: value(/^runtrace_otlp_grpc_spans_total\{result="rejected"\} (\d+)$/m),
    allWritten: value(/^runtrace_otlp_spans_total\{result="written"\} (\d+)$/m),
  };
}

const T0 = Math.floor(Date.now() / 1000) - 60;
const at = (ms: number): HrTime => [T0 + Math.floor(ms / 1000), (ms % 1000) * 1e6];

/**
 * An agent request as Letta traces it, recorded by the real SDK: the request → an agent_step → its time to first
 * token and an LLM call (which a trace view does not draw). `traceId` puts the root in a given trace.
 */
async function recordAgentSpans(traceId?: string): Promise<{ traceId: string; spans: ReadableSpan[] }> {
  const memory = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'letta-server' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('letta.agents', '0.16.0');
  const parent = traceId
    ? trace.setSpanContext(ROOT_CONTEXT, { traceId, spanId: 'b'.repeat(16), traceFlags: 1, isRemote: true })
    : ROOT_CONTEXT;
  const root = tracer.startSpan(
    'POST /v1/agents/{agent_id}/messages',
    { kind: SpanKind.SERVER, startTime: at(0), attributes: { 'agent.id': 'agent-1' } },
    parent,
  );
  const step = tracer.startSpan('agent_step', { startTime: at(100) }, trace.setSpan(ROOT_CONTEXT, root));
  const inStep = trace.setSpan(ROOT_CONTEXT, step);
  tracer.startSpan('time_to_first_token', { startTime: at(110) }, inStep).end(at(160));
  tracer
    .startSpan('llm_request', { startTime: at(105), attributes: { 'gen_ai.system': 'openai' } }, inStep)
    .end(at(300));
  step.end(at(400));
  root.end(at(500));
  await provider.forceFlush();
  return { traceId: root.spanContext().traceId, spans: memory.getFinishedSpans() };
}

/** The official gRPC exporter (gzip on), resolving once it reports success. */
async function exportWithSdk(api: Api, spans: ReadableSpan[], key?: string): Promise<void> {
  const exporter = officialExporters.grpc(api, key);
  try {
    await exportWith(exporter, spans);
  } finally {
    await exporter.shutdown();
  }
}

/** An ExportTraceServiceRequest in protobuf (ids as bytes). */
function protobufRequest(spans: Record<string, unknown>[]): Buffer {
  const { ExportTraceServiceRequest: T } = otlpProtoTypes();
  return Buffer.from(
    T.encode(
      T.fromObject({
        resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ spans }] }],
      }),
    ).finish(),
  );
}

const span = (traceId: string, spanId: string, extra: Record<string, unknown> = {}) => ({
  traceId: Buffer.from(traceId, 'hex'),
  spanId: Buffer.from(spanId, 'hex'),
  name: 'agent_step',
  startTimeUnixNano: `${T0}000000000`,
  endTimeUnixNano: `${T0}000000100`,
  ...extra,
});

describe.each(databaseTargets())('OTLP/gRPC receiver on $name', (target) => {
  let api: Api;
  let orgB: { key: string; actor: Actor };

  beforeAll(async () => {
    api = await startApi(target, { RUNTRACE_OTLP_MAX_BODY_BYTES: String(256 * 1024) });
    const org = await api.rt.auth.createOrganization('b');
    orgB = {
      key: (await api.rt.auth.createApiKey(org.id, 'b')).key,
      actor: { organizationId: org.id, userId: org.userId },
    };
  });
  afterAll(() => stopApi(api));

  it("the official gRPC exporter's spans (gzip) are stored and runs.trace returns them, as over OTLP/HTTP", async () => {
    expect(api.grpcPort).toBeGreaterThan(0);
    const before = await grpcMetrics(api);
    const agent = await recordAgentSpans();
    await exportWithSdk(api, agent.spans);
    const spans = await runTrace(api, DEFAULT_ACTOR, agent.traceId);
    expect(spans.map((s) => [s.spanName, s.parentSpanId === '' ? 'root' : 'child'])).toEqual([
      ['POST /v1/agents/{agent_id}/messages', 'root'],
      ['agent_step', 'child'],
      ['time_to_first_token', 'child'],
    ]);
    expect(spans[0]).toMatchObject({
      traceId: agent.traceId,
      spanKind: 'Server',
      serviceName: 'letta-server',
      scopeName: 'letta.agents',
      resourceAttributes: { 'runtrace.organization_id': DEFAULT_ORGANIZATION_ID },
      spanAttributes: { 'agent.id': 'agent-1' },
    });
    const after = await grpcMetrics(api);
    expect([after.ok - before.ok, after.written - before.written, after.rejected - before.rejected]).toEqual([1, 4, 0]);
    // the spans of every transport count these too
    expect(after.allWritten - before.allWritten).toBe(4);
  });

  it("keeps organizations apart: B's spans in the same trace id are B's, never in the default organization's run", async () => {
    const mine = await recordAgentSpans();
    await exportWithSdk(api, mine.spans);
    const intruder = await recordAgentSpans(mine.traceId);
    await exportWithSdk(api, intruder.spans, orgB.key);
    const spans = await runTrace(api, DEFAULT_ACTOR, mine.traceId);
    expect(spans).toHaveLength(3);
    expect(new Set(spans.map((s) => s.resourceAttributes['runtrace.organization_id']))).toEqual(
      new Set([DEFAULT_ORGANIZATION_ID]),
    );
    const theirs = await runTrace(api, orgB.actor, mine.traceId, orgB.key);
    // (B's request span has a parent, the remote one of the trace: not a root, so not drawn)
    const drawn = (name: string) => intruder.spans.find((s) => s.name === name)?.spanContext().spanId;
    expect(theirs.map((s) => s.spanId)).toEqual([drawn('agent_step'), drawn('time_to_first_token')]);
    expect(theirs.every((s) => s.resourceAttributes['runtrace.organization_id'] === orgB.actor.organizationId)).toBe(
      true,
    );
  });

  it('answers UNAUTHENTICATED for a bad or malformed key, before looking at the message, and stores nothing', async () => {
    const client = grpcExportClient(api.grpcPort);
    try {
      const before = await grpcMetrics(api);
      const unauthorizedBefore = api.rt.traces.stats().requests.unauthorized;
      const bBefore = api.rt.traces.statsFor(orgB.actor.organizationId).requests;
      const stored = await storedSpans(api);
      const body = protobufRequest([span('c1'.repeat(16), '01'.repeat(8))]);
      const wrong = await client.export(body, 'Bearer rt_nope');
      expect(wrong).toMatchObject({ code: 'UNAUTHENTICATED', details: expect.stringMatching(/invalid or revoked/i) });
      expect((await client.export(body, 'Basic x')).code).toBe('UNAUTHENTICATED');
      // even a malformed message: the key is checked first, as on /v1/traces
      expect((await client.export(Buffer.from([0x0a, 0xff]), 'Bearer rt_nope')).code).toBe('UNAUTHENTICATED');
      expect(await storedSpans(api)).toBe(stored);
      // the right key of B stores B's spans
      expect((await client.export(body, `Bearer ${orgB.key}`)).code).toBe('OK');
      expect(await storedSpanIds(api, orgB.actor.organizationId, 'c1'.repeat(16))).toEqual(['01'.repeat(8)]);
      const after = await grpcMetrics(api);
      expect(after.unauthenticated - before.unauthenticated).toBe(3);
      // Refused before the caller was known: counted in the server-wide total only, and B's call as B's.
      expect(api.rt.traces.stats().requests.unauthorized).toBe(unauthorizedBefore + 3);
      const bAfter = api.rt.traces.statsFor(orgB.actor.organizationId).requests;
      expect([bAfter.accepted - bBefore.accepted, bAfter.unauthorized - bBefore.unauthorized]).toEqual([1, 0]);
    } finally {
      client.close();
    }
  });

  it('answers INVALID_ARGUMENT for malformed protobuf, with nothing stored and no internals in the message', async () => {
    const client = grpcExportClient(api.grpcPort);
    try {
      const before = await grpcMetrics(api);
      const stored = await storedSpans(api);
      const garbage = await client.export(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]));
      expect(garbage).toMatchObject({
        code: 'INVALID_ARGUMENT',
        details: expect.stringContaining('not an OTLP protobuf'),
      });
      expect(garbage.details).not.toMatch(/ at |\.ts:|node_modules/);
      expect(await storedSpans(api)).toBe(stored);
      expect((await grpcMetrics(api)).invalid - before.invalid).toBe(1);
    } finally {
      client.close();
    }
  });

  it('answers partial success exactly as OTLP/HTTP does for the same bytes: the valid spans written', async () => {
    const traceId = 'd2'.repeat(16);
    const body = protobufRequest([
      span(traceId, '0000000000000001'),
      span(traceId, '000001'),
      span(traceId, '0000000000000002', { endTimeUnixNano: `${T0 - 1}000000000` }),
      span('00'.repeat(16), '0000000000000003'),
    ]);
    const before = await grpcMetrics(api);
    const partialBefore = api.rt.traces.statsFor(DEFAULT_ORGANIZATION_ID).requests.partial;
    const client = grpcExportClient(api.grpcPort);
    const answer = await client.export(body);
    client.close();
    expect(answer.code).toBe('OK');
    // The health view counts the call as HTTP counts a request: partial, under the caller's organization.
    expect(api.rt.traces.statsFor(DEFAULT_ORGANIZATION_ID).requests.partial).toBe(partialBefore + 1);
    const http = await fetch(`${api.url}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-protobuf' },
      body: new Uint8Array(body),
    });
    expect(http.status).toBe(200);
    expect(answer.response).toEqual(Buffer.from(await http.arrayBuffer()));
    const decoded = otlpProtoTypes().ExportTraceServiceResponse.decode(answer.response!).toJSON();
    expect(decoded).toEqual({
      partialSuccess: {
        rejectedSpans: '3',
        errorMessage: expect.stringMatching(/^3 spans rejected: .*spanId.*endTimeUnixNano.*traceId/),
      },
    });
    // once from gRPC, once from HTTP
    expect(await storedSpanIds(api, DEFAULT_ORGANIZATION_ID, traceId)).toEqual([
      '0000000000000001',
      '0000000000000001',
    ]);
    const after = await grpcMetrics(api);
    expect([after.written - before.written, after.rejected - before.rejected]).toEqual([1, 3]);
  });

  it('refuses messages over RUNTRACE_OTLP_MAX_BODY_BYTES with RESOURCE_EXHAUSTED, as sent or once decompressed (gzip)', async () => {
    const plain = grpcExportClient(api.grpcPort);
    const gzip = grpcExportClient(api.grpcPort, { gzip: true });
    try {
      const before = await grpcMetrics(api);
      const stored = await storedSpans(api);
      const big = (bytes: number) =>
        protobufRequest([span('e3'.repeat(16), '0000000000000001', { name: 'x'.repeat(bytes) })]);
      const over = await plain.export(big(300 * 1024));
      expect(over.code).toBe('RESOURCE_EXHAUSTED');
      // ~1 KB on the wire, 300 KB inflated
      const bomb = big(300 * 1024);
      expect(gzipSync(bomb).length).toBeLessThan(2_000);
      expect((await gzip.export(bomb)).code).toBe('RESOURCE_EXHAUSTED');
      expect(await storedSpans(api)).toBe(stored);
      // below the limit, gzip-compressed by the client: written
      const under = await gzip.export(big(200 * 1024));
      expect(under.code).toBe('OK');
      expect(await storedSpans(api)).toBe(stored + 1);
      const after = await grpcMetrics(api);
      expect(after.exhausted - before.exhausted).toBe(2);
    } finally {
      plain.close();
      gzip.close();
    }
  });

  it("bad calls leave a concurrent good export whole: the official exporter's spans are stored, none of theirs, and the bad client's connection still serves", async () => {
    const plain = grpcExportClient(api.grpcPort);
    const gzip = grpcExportClient(api.grpcPort, { gzip: true });
    try {
      const before = await grpcMetrics(api);
      const stored = await storedSpans(api);
      const agent = await recordAgentSpans();
      const oversized = protobufRequest([span('e4'.repeat(16), '01'.repeat(8), { name: 'x'.repeat(300 * 1024) })]);
      // all at once: the exporter on its own connection, the bad calls on two others
      const [, ...answers] = await Promise.all([
        exportWithSdk(api, agent.spans, orgB.key),
        plain.export(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])),
        plain.export(oversized),
        gzip.export(oversized),
        plain.export(protobufRequest([span('e5'.repeat(16), '01'.repeat(8))]), 'Bearer rt_nope'),
      ]);
      expect(answers.map((a) => a.code)).toEqual([
        'INVALID_ARGUMENT',
        'RESOURCE_EXHAUSTED',
        'RESOURCE_EXHAUSTED',
        'UNAUTHENTICATED',
      ]);
      expect((await storedSpanIds(api, orgB.actor.organizationId, agent.traceId)).sort()).toEqual(
        agent.spans.map((s) => s.spanContext().spanId).sort(),
      );
      expect(await storedSpans(api)).toBe(stored + agent.spans.length);
      // the connection that carried the bad calls is not poisoned
      expect((await plain.export(protobufRequest([span('e6'.repeat(16), '01'.repeat(8))]))).code).toBe('OK');
      expect(await storedSpanIds(api, DEFAULT_ORGANIZATION_ID, 'e6'.repeat(16))).toEqual(['01'.repeat(8)]);
      const after = await grpcMetrics(api);
      expect({
        ok: after.ok - before.ok,
        invalid: after.invalid - before.invalid,
        exhausted: after.exhausted - before.exhausted,
        unauthenticated: after.unauthenticated - before.unauthenticated,
        written: after.written - before.written,
      }).toEqual({ ok: 2, invalid: 1, exhausted: 2, unauthenticated: 1, written: agent.spans.length + 1 });
    } finally {
      plain.close();
      gzip.close();
    }
  });
});

describe('OTLP/gRPC with RUNTRACE_AUTH=required and CLICKHOUSE_URL=off', () => {
  let api: Api;
  let key: string;
  beforeAll(async () => {
    const [database] = databaseTargets();
    api = await startApi(database!, { CLICKHOUSE_URL: 'off', RUNTRACE_AUTH: 'required' });
    key = (await api.rt.auth.createApiKey(DEFAULT_ORGANIZATION_ID, 'k')).key;
  });
  afterAll(() => stopApi(api));

  it('needs a key (UNAUTHENTICATED), then answers UNIMPLEMENTED naming CLICKHOUSE_URL', async () => {
    const client = grpcExportClient(api.grpcPort);
    try {
      const body = protobufRequest([span('f4'.repeat(16), '0000000000000001')]);
      const anonymous = await client.export(body);
      expect(anonymous).toMatchObject({
        code: 'UNAUTHENTICATED',
        details: expect.stringMatching(/API key is required/),
      });
      const off = await client.export(body, `Bearer ${key}`);
      expect(off).toMatchObject({ code: 'UNIMPLEMENTED', details: expect.stringContaining('CLICKHOUSE_URL') });
    } finally {
      client.close();
    }
  });
});

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('OTLP/gRPC port and shutdown', () => {
  const [database] = databaseTargets();

  it('listens on the port RUNTRACE_OTLP_GRPC_PORT names, on none with off, and fails the start on a taken port', async () => {
    const port = await freePort();
    const on = await startApi(database!, { CLICKHOUSE_URL: 'off', RUNTRACE_OTLP_GRPC_PORT: String(port) });
    try {
      expect(on.grpcPort).toBe(port);
      expect(await accepts(port)).toBe(true);
      // the port is taken now: another api cannot start on it, and says which setting to change
      const rt = await createTestRuntime(database!, { RUNTRACE_OTLP_GRPC_PORT: String(port) });
      const app = await buildServer(rt);
      await expect(app.listen({ host: '127.0.0.1', port: 0 })).rejects.toThrow(
        new RegExp(`RUNTRACE_OTLP_GRPC_PORT: the OTLP/gRPC receiver cannot listen on 127\\.0\\.0\\.1:${port}`),
      );
      await app.close();
      await rt.dispose();
    } finally {
      await stopApi(on);
    }
    expect(await accepts(port)).toBe(false);
    const off = await startApi(database!, { CLICKHOUSE_URL: 'off', RUNTRACE_OTLP_GRPC_PORT: 'off' });
    try {
      expect(otlpGrpcPort(off.app)).toBeNull();
      expect(await accepts(port)).toBe(false);
    } finally {
      await stopApi(off);
    }
  });

  /** An api whose ingest waits for `release()` once an export reached it (`reached`). */
  async function apiWithHeldIngest(shutdownTimeoutMs: number) {
    const api = await startApi(database!, { RUNTRACE_SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs) });
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reachedIngest = () => {};
    const reached = new Promise<void>((resolve) => {
      reachedIngest = resolve;
    });
    const ingest = api.rt.traces.ingest.bind(api.rt.traces);
    api.rt.traces.ingest = async (...args) => {
      reachedIngest();
      await held;
      return ingest(...args);
    };
    return { api, reached, release };
  }

  it('drains on close: an export in flight is answered and stored, new calls are refused', async () => {
    const { api, reached, release } = await apiWithHeldIngest(10_000);
    const client = grpcExportClient(api.grpcPort);
    try {
      const traceId = 'a5'.repeat(16);
      const inFlight = client.export(protobufRequest([span(traceId, '0000000000000001')]));
      await reached;
      let closed = false;
      const closing = api.app.close().then(() => {
        closed = true;
      });
      // closing: a new connection is refused (UNAVAILABLE, which exporters retry elsewhere or later)
      await new Promise((r) => setTimeout(r, 200));
      const late = grpcExportClient(api.grpcPort);
      expect((await late.export(protobufRequest([span(traceId, '0000000000000002')]))).code).toBe('UNAVAILABLE');
      late.close();
      expect(closed).toBe(false);
      release();
      expect((await inFlight).code).toBe('OK');
      await closing;
      expect(await storedSpanIds(api, DEFAULT_ORGANIZATION_ID, traceId)).toEqual(['0000000000000001']);
    } finally {
      release();
      client.close();
      await api.rt.dispose();
    }
  });

  it('ends an export still in flight after half of RUNTRACE_SHUTDOWN_TIMEOUT_MS (CANCELLED), and closes', async () => {
    const { api, reached, release } = await apiWithHeldIngest(2_000);
    const client = grpcExportClient(api.grpcPort);
    try {
      const inFlight = client.export(protobufRequest([span('b6'.repeat(16), '0000000000000001')]));
      await reached;
      const started = Date.now();
      await api.app.close();
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(5_000);
      expect((await inFlight).code).toBe('CANCELLED');
    } finally {
      release();
      client.close();
      await api.rt.dispose();
    }
  });
});
