/**
 * For the OTLP receiver tests: the real api on an ephemeral port (HTTP and gRPC), the official OpenTelemetry
 * exporters pointed at it, and a direct read of what it stored.
 */
import type { AddressInfo } from 'node:net';
import { Metadata } from '@grpc/grpc-js';
import { OTLPTraceExporter as OTLPGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as OTLPJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-node';
import { type Actor, newId } from '@runtrace/core';
import { createTestRuntime, type DatabaseTarget, type TestRuntime } from '@runtrace/core/testing';
import { readTraceSpans, type TraceSpan } from '@runtrace/core/traces';
import type { FastifyInstance } from 'fastify';
import { otlpGrpcPort } from '../otlp-grpc.ts';
import { buildServer } from '../server.ts';

export interface Api {
  rt: TestRuntime;
  app: FastifyInstance;
  url: string;
  /** The OTLP/gRPC receiver's port (0 when it is off). */
  grpcPort: number;
}

/** The api in production mode on chdb in memory (unless `env` says otherwise), listening on ephemeral ports. */
export async function startApi(target: DatabaseTarget, env: Record<string, string>): Promise<Api> {
  const rt = await createTestRuntime(target, { NODE_ENV: 'production', CLICKHOUSE_URL: 'chdb:memory', ...env });
  const app = await buildServer(rt);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    rt,
    app,
    url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`,
    grpcPort: otlpGrpcPort(app) ?? 0,
  };
}

export async function stopApi(api: Api | undefined) {
  await api?.app.close();
  await api?.rt.dispose();
}

/** The official exporters, as an application configures them for this api; `key` is the organization's API key. */
export const officialExporters = {
  /** `@opentelemetry/exporter-trace-otlp-grpc`, gzip on, the key in `authorization` metadata. */
  grpc(api: Api, key?: string): SpanExporter {
    const metadata = new Metadata();
    if (key) metadata.set('authorization', `Bearer ${key}`);
    return new OTLPGrpcExporter({ url: `http://127.0.0.1:${api.grpcPort}`, compression: 'gzip' as never, metadata });
  },
  /** `@opentelemetry/exporter-trace-otlp-proto` (OTLP/HTTP protobuf), gzip on. */
  proto(api: Api, key?: string): SpanExporter {
    return new OTLPProtoExporter({
      url: `${api.url}/v1/traces`,
      compression: 'gzip' as never,
      headers: key ? { authorization: `Bearer ${key}` } : {},
    });
  },
  /** `@opentelemetry/exporter-trace-otlp-http` (OTLP/HTTP JSON), uncompressed. */
  json(api: Api, key?: string): SpanExporter {
    return new OTLPJsonExporter({
      url: `${api.url}/v1/traces`,
      headers: key ? { authorization: `Bearer ${key}` } : {},
    });
  },
};

/** Sends spans with a real OTLP exporter and resolves with its result (it must be a success). */
export function exportWith(exporter: SpanExporter, spans: ReadableSpan[]): Promise<void> {
  return new Promise((resolve, reject) =>
    exporter.export(spans, (result) =>
      result.code === 0 ? resolve() : reject(result.error ?? new Error('export failed')),
    ),
  );
}

/** Every span stored in one trace of one organization (not only a trace view's), in time order. */
export async function storedTraceSpans(
  api: Api,
  organizationId: string,
  traceId: string,
  limit = 100,
): Promise<TraceSpan[]> {
  await api.rt.traces.flush();
  return readTraceSpans(api.rt.clickhouse!, { organizationId, traceIds: [traceId], limit, viewFilter: false });
}

/**
 * A run whose step names `traceId`, and its trace through runs.trace (tRPC over HTTP, as a client reads it); `key`
 * authenticates as `actor`'s organization, `llmSpans` asks for the LLM calls too.
 */
export async function runTrace(
  api: Api,
  actor: Actor,
  traceId: string,
  key?: string,
  options: { llmSpans?: boolean } = {},
): Promise<TraceSpan[]> {
  const run = await api.rt.runs.create(actor, { agentId: newId('agent') });
  await api.rt.steps.create(actor, { runId: run.id, traceId });
  const input = encodeURIComponent(JSON.stringify({ runId: run.id, ...options }));
  const res = await fetch(`${api.url}/trpc/runs.trace?input=${input}`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });
  if (res.status !== 200) throw new Error(`runs.trace answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { result: { data: TraceSpan[] } }).result.data;
}
