import { Counter, type Registry } from 'prom-client';

/**
 * The OTLP/gRPC receiver's counters on the registry `/metrics` serves, beside the spans of every transport
 * (`runtrace_otlp_spans_total`, core's span-metrics.ts, which counts these too):
 * - `runtrace_otlp_grpc_requests_total{code}`: Export calls by the gRPC status they ended with (`OK`,
 *   `INVALID_ARGUMENT`, `UNAUTHENTICATED`, `RESOURCE_EXHAUSTED`, `UNAVAILABLE`, …);
 * - `runtrace_otlp_grpc_spans_total{result}`: spans of those calls `written`, or `rejected` (partial success).
 */
export interface OtlpGrpcMetrics {
  requests: Counter<'code'>;
  spans: Counter<'result'>;
}

/** One registry's counters, shared by every receiver built on it (tests build several servers on one runtime). */
const perRegistry = new WeakMap<Registry, OtlpGrpcMetrics>();

export function otlpGrpcMetrics(registry: Registry): OtlpGrpcMetrics {
  const existing = perRegistry.get(registry);
  if (existing) return existing;
  const created: OtlpGrpcMetrics = {
    requests: new Counter({
      name: 'runtrace_otlp_grpc_requests_total',
      help: 'OTLP/gRPC TraceService/Export calls, by the gRPC status code they ended with.',
      labelNames: ['code'],
      registers: [registry],
    }),
    spans: new Counter({
      name: 'runtrace_otlp_grpc_spans_total',
      help: 'Spans received over OTLP/gRPC, by result (written, rejected).',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
  // The series exist from the start, at 0, so that rates and alerts see them before the first call.
  created.requests.inc({ code: 'OK' }, 0);
  for (const result of ['written', 'rejected']) created.spans.inc({ result }, 0);
  perRegistry.set(registry, created);
  return created;
}
