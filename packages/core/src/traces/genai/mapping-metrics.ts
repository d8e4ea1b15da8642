import { Counter, type Registry } from 'prom-client';
import { GEN_AI_SPAN_KINDS, MAPPING_FAILURE_REASONS } from './gen-ai-span.ts';
import type { MappingStats } from './runs-from-spans.ts';

/**
 * Runs from spans on `GET /metrics`, read from the stage when scraped: GenAI spans mapped by kind, and spans whose
 * mapping failed by reason (fixed strings, no span data; the spans themselves are still stored).
 */
export function registerMappingMetrics(registry: Registry, source: { stats(): MappingStats }): void {
  const seenMapped = new Map<string, number>();
  new Counter({
    name: 'runtrace_otlp_mapped_spans_total',
    help: 'GenAI spans received over OTLP and recorded as runs, steps and messages, by kind (agent, llm, tool).',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const { mapped } = source.stats();
      for (const kind of GEN_AI_SPAN_KINDS) {
        this.inc({ kind }, Math.max(0, mapped[kind] - (seenMapped.get(kind) ?? 0)));
        seenMapped.set(kind, mapped[kind]);
      }
    },
  });
  const seenFailures = new Map<string, number>();
  new Counter({
    name: 'runtrace_otlp_mapping_failures_total',
    help: `GenAI spans stored but not recorded as runs for their data, by reason (${MAPPING_FAILURE_REASONS.join(', ')}).`,
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      const { failures } = source.stats();
      for (const reason of MAPPING_FAILURE_REASONS) {
        this.inc({ reason }, Math.max(0, failures[reason] - (seenFailures.get(reason) ?? 0)));
        seenFailures.set(reason, failures[reason]);
      }
    },
  });
}
