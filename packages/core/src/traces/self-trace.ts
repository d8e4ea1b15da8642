/**
 * Runtrace tracing itself: the api's request spans (made with `@opentelemetry/api` in apps/api) through an
 * OpenTelemetry SDK set up here, as the config's self-trace setting says (RUNTRACE_OTEL_SELF_TRACE and the standard
 * OTEL_* variables, read in config.ts; precedence in config-slices.ts `SelfTraceSetting`):
 * - `direct`: into this process's own span table, through the same OTLP decoding as `POST /v1/traces` (the SDK's
 *   OTLP/JSON serializer → {@link OtelTraces.ingest}), without HTTP, under the default organization (the operator's);
 * - `otlp:<url>`: exported as OTLP/HTTP protobuf to a collector or another Runtrace (with RUNTRACE_API_KEY as its
 *   bearer key when set).
 */
import { type Context, defaultTextMapGetter, ROOT_CONTEXT, type Tracer } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { DEFAULT_ACTOR } from '../actor.ts';
import { ConfigError, type SelfTraceSetting } from '../config.ts';
import type { SelfTraceSampler } from '../config-slices.ts';
import { DEFAULT_SELF_TRACE_SERVICE_NAME } from '../config-variables.ts';
import type { Logger } from '../logger.ts';
import type { OtelTraces } from './otel-traces.ts';

/** The service name Runtrace's own spans carry unless OTEL_SERVICE_NAME says another. */
export const SELF_TRACE_SERVICE_NAME = DEFAULT_SELF_TRACE_SERVICE_NAME;

/** OTEL_TRACES_SAMPLER (+ _ARG) as the SDK's sampler; `parentbased_*` decide roots only and follow a caller's flag. */
export function samplerOf({ name, ratio }: SelfTraceSampler): Sampler {
  const root = name.endsWith('always_on')
    ? new AlwaysOnSampler()
    : name.endsWith('always_off')
      ? new AlwaysOffSampler()
      : new TraceIdRatioBasedSampler(ratio);
  return name.startsWith('parentbased_') ? new ParentBasedSampler({ root }) : root;
}

/** Exports spans into this process's OtelTraces as if they had arrived over OTLP/JSON. */
export class DirectSpanExporter implements SpanExporter {
  readonly #traces: OtelTraces;

  constructor(traces: OtelTraces) {
    this.#traces = traces;
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    const body = JsonTraceSerializer.serializeRequest(spans);
    if (!body) {
      done({ code: ExportResultCode.FAILED, error: new Error('the OTLP/JSON serializer returned nothing') });
      return;
    }
    this.#traces.ingest(DEFAULT_ACTOR, body, 'json').then(
      () => done({ code: ExportResultCode.SUCCESS }),
      (error: Error) => done({ code: ExportResultCode.FAILED, error }),
    );
  }

  async shutdown(): Promise<void> {}
}

export interface SelfTracer {
  /** Where the api starts its request spans. */
  readonly tracer: Tracer;
  /** The caller's span context from W3C `traceparent`/`tracestate` headers (the root context without them). */
  parentFrom(headers: Record<string, string | string[] | undefined>): Context;
  /** Exports the spans ended so far. */
  forceFlush(): Promise<void>;
  /** Exports what is left and stops. */
  close(): Promise<void>;
}

/** The SDK for RUNTRACE_OTEL_SELF_TRACE; null when it is `off`. `direct` without ClickHouse is a ConfigError. */
export function createSelfTracer(
  setting: SelfTraceSetting,
  deps: { traces: OtelTraces; logger: Logger; apiKey?: string },
): SelfTracer | null {
  if (setting.mode === 'off') return null;
  if (setting.mode === 'direct' && !deps.traces.enabled) {
    throw new ConfigError(
      'RUNTRACE_OTEL_SELF_TRACE=direct writes into ClickHouse, which is off (CLICKHOUSE_URL=off): use otlp:<url> or off',
    );
  }
  const exporter =
    setting.mode === 'direct'
      ? new DirectSpanExporter(deps.traces)
      : new OTLPTraceExporter({
          url: setting.url,
          // OTEL_EXPORTER_OTLP_HEADERS win: an operator's collector may want its own authorization.
          headers: { ...(deps.apiKey ? { authorization: `Bearer ${deps.apiKey}` } : {}), ...setting.headers },
        });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': setting.serviceName }),
    sampler: samplerOf(setting.sampler),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 1000 })],
  });
  deps.logger.info(
    {
      selfTrace: setting.mode === 'otlp' ? setting.url : 'direct',
      serviceName: setting.serviceName,
      sampler: setting.sampler,
    },
    setting.mode === 'otlp'
      ? `tracing the api's requests to ${setting.url}`
      : "tracing the api's requests into its own span table",
  );
  const propagator = new W3CTraceContextPropagator();
  return {
    tracer: provider.getTracer('@runtrace/api'),
    parentFrom: (headers) => propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter),
    forceFlush: () => provider.forceFlush(),
    close: () => provider.shutdown(),
  };
}
