import { Counter, Gauge, type Registry } from 'prom-client';
import { OTLP_REQUEST_OUTCOMES, type SpanIngestStats } from './otel-traces.ts';

/**
 * OTLP ingest on `GET /metrics`, read from the receiver when scraped: spans written, refused (partial success) and
 * failed (the INSERT failed; the exporter retries), requests by outcome, and the spans waiting for their INSERT.
 */
export function registerSpanMetrics(registry: Registry, source: { stats(): SpanIngestStats }): void {
  const seen = { written: 0, rejected: 0, failed: 0 };
  new Counter({
    name: 'runtrace_otlp_spans_total',
    help: 'OpenTelemetry spans received on POST /v1/traces, by result (written, rejected, failed).',
    labelNames: ['result'],
    registers: [registry],
    collect() {
      const stats = source.stats();
      for (const result of ['written', 'rejected', 'failed'] as const) {
        this.inc({ result }, Math.max(0, stats[result] - seen[result]));
        seen[result] = stats[result];
      }
    },
  });
  const seenRequests = new Map<string, number>();
  new Counter({
    name: 'runtrace_otlp_requests_total',
    help: 'Requests answered on POST /v1/traces, by outcome (accepted, partial, or the refusal: malformed, unauthorized, too_large, unsupported, not_implemented, unavailable, internal).',
    labelNames: ['outcome'],
    registers: [registry],
    collect() {
      const { requests } = source.stats();
      for (const outcome of OTLP_REQUEST_OUTCOMES) {
        this.inc({ outcome }, Math.max(0, requests[outcome] - (seenRequests.get(outcome) ?? 0)));
        seenRequests.set(outcome, requests[outcome]);
      }
    },
  });
  new Gauge({
    name: 'runtrace_otlp_queue_depth',
    help: 'OpenTelemetry spans accepted and waiting for their INSERT into ClickHouse.',
    registers: [registry],
    collect() {
      this.set(source.stats().queueDepth);
    },
  });
}
