/**
 * Self-tracing as the standard OpenTelemetry variables say: a real OTLP/HTTP receiver (a local server decoding the
 * protobuf with the api's own OTLP types) checks the endpoint, headers, service name and sampler, and the precedence
 * between RUNTRACE_OTEL_SELF_TRACE, OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT and OTEL_SDK_DISABLED.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { otlpProtoTypes } from '@runtrace/core/internal';
import { createTestRuntime, type DatabaseTarget, databaseTargets, type TestRuntime } from '@runtrace/core/testing';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildServer } from './server.ts';

const target = databaseTargets()[0] as DatabaseTarget; // PGlite: the exporter is the same on either driver

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  serviceName: string | undefined;
  spans: { name: string; traceId: string }[];
}

interface DecodedExport {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
    scopeSpans?: { spans?: { name: string; traceId: string }[] }[];
  }[];
}

let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

/** An OTLP/HTTP traces receiver: answers 200 and keeps each export, decoded. */
async function receiver(): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const { ExportTraceServiceRequest } = otlpProtoTypes();
      const decoded = ExportTraceServiceRequest.toObject(ExportTraceServiceRequest.decode(Buffer.concat(chunks)), {
        bytes: String,
      }) as DecodedExport;
      for (const rs of decoded.resourceSpans ?? []) {
        received.push({
          path: req.url ?? '',
          headers: req.headers,
          serviceName: rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue,
          spans: (rs.scopeSpans ?? []).flatMap((ss) =>
            (ss.spans ?? []).map((s) => ({ name: s.name, traceId: Buffer.from(s.traceId, 'base64').toString('hex') })),
          ),
        });
      }
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

async function api(env: Record<string, string>): Promise<{ rt: TestRuntime; app: FastifyInstance }> {
  const rt = await createTestRuntime(target, env);
  const app = await buildServer(rt);
  cleanup.push(async () => {
    await app.close();
    await rt.dispose();
  });
  return { rt, app };
}

const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const traceparent = (flags: '00' | '01') => `00-${CALLER_TRACE}-00f067aa0ba902b7-${flags}`;

describe('self-tracing by the OTEL_* variables', { timeout: 120_000 }, () => {
  it('OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces, OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_HEADERS (winning over the API key)', async () => {
    const collector = await receiver();
    const { rt, app } = await api({
      OTEL_EXPORTER_OTLP_ENDPOINT: `${collector.url}/base/`,
      OTEL_SERVICE_NAME: 'runtrace-eu-1',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-team=ops%20a, Authorization=Bearer%20collector-key',
      RUNTRACE_API_KEY: 'rt_not_sent',
    });
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    await rt.selfTracer?.forceFlush();
    expect(collector.received).toHaveLength(1);
    const [got] = collector.received as [Received];
    expect(got.path).toBe('/base/v1/traces');
    expect(got.headers['x-team']).toBe('ops a');
    expect(got.headers.authorization).toBe('Bearer collector-key');
    expect(got.serviceName).toBe('runtrace-eu-1');
    expect(got.spans.map((s) => s.name)).toEqual(['GET /healthz']);
  });

  it('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, over OTEL_EXPORTER_OTLP_ENDPOINT; parentbased_always_off follows the caller', async () => {
    const [traces, base] = [await receiver(), await receiver()];
    const { rt, app } = await api({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${traces.url}/custom/traces`,
      OTEL_EXPORTER_OTLP_ENDPOINT: base.url,
      OTEL_TRACES_SAMPLER: 'parentbased_always_off',
    });
    await app.inject({ url: '/healthz' }); // a root span: off
    await app.inject({ url: '/healthz', headers: { traceparent: traceparent('00') } }); // caller not sampled
    await app.inject({ url: '/readyz', headers: { traceparent: traceparent('01') } }); // caller sampled
    await rt.selfTracer?.forceFlush();
    expect(base.received).toEqual([]);
    expect(traces.received.map((r) => r.path)).toEqual(['/custom/traces']);
    expect(traces.received.flatMap((r) => r.spans)).toEqual([{ name: 'GET /readyz', traceId: CALLER_TRACE }]);
    expect(traces.received[0]?.serviceName).toBe('runtrace-api');
  });

  it('traceidratio with OTEL_TRACES_SAMPLER_ARG: 0 keeps nothing, 1 keeps every request; RUNTRACE_OTEL_SELF_TRACE wins', async () => {
    const [own, standard] = [await receiver(), await receiver()];
    for (const [ratio, expected] of [
      ['0', 0],
      ['1', 3],
    ] as const) {
      const { rt, app } = await api({
        RUNTRACE_OTEL_SELF_TRACE: `otlp:${own.url}/v1/traces`,
        OTEL_EXPORTER_OTLP_ENDPOINT: standard.url,
        OTEL_TRACES_SAMPLER: 'traceidratio',
        OTEL_TRACES_SAMPLER_ARG: ratio,
      });
      // traceidratio ignores the caller's flag: a sampled parent is dropped at 0.
      for (const headers of [{}, {}, { traceparent: traceparent('01') }])
        await app.inject({ url: '/healthz', headers });
      await rt.selfTracer?.forceFlush();
      expect(
        own.received.flatMap((r) => r.spans),
        `ratio ${ratio}`,
      ).toHaveLength(expected);
      own.received.length = 0;
    }
    expect(standard.received).toEqual([]);
  });

  it('OTEL_SDK_DISABLED=true turns self-tracing off whatever else is set', async () => {
    const collector = await receiver();
    const { rt, app } = await api({
      OTEL_SDK_DISABLED: 'true',
      RUNTRACE_OTEL_SELF_TRACE: `otlp:${collector.url}/v1/traces`,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
    });
    expect(rt.selfTracer).toBeNull();
    await app.inject({ url: '/healthz' });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // past the batch processor's 1 s delay, were it there
    expect(collector.received).toEqual([]);
  });
});
