import { Counter, type Registry } from 'prom-client';
import { GEN_AI_SPAN_KINDS, MAPPING_FAILURE_REASONS } from './gen-ai-span.ts';
import type { MappingStats } from './runs-from-spans.ts';

/** A counter with one label, advanced when scraped by what `read` says grew since the last scrape. */
function scrapedCounter<L extends string>(
  registry: Registry,
  options: { name: string; help: string; label: string; values: readonly L[]; read: () => Record<L, number> },
): void {
  const seen = new Map<L, number>();
  new Counter({
    name: options.name,
    help: options.help,
    labelNames: [options.label],
    registers: [registry],
    collect() {
      const now = options.read();
      for (const value of options.values) {
        this.inc({ [options.label]: value }, Math.max(0, now[value] - (seen.get(value) ?? 0)));
        seen.set(value, now[value]);
      }
    },
  });
}

/**
 * Runs from spans on `GET /metrics`, read from the stage when scraped: GenAI spans mapped by kind, and spans whose
 * mapping failed by reason (fixed strings, no span data; the spans themselves are still stored).
 */
export function registerMappingMetrics(registry: Registry, source: { stats(): MappingStats }): void {
  scrapedCounter(registry, {
    name: 'runtrace_otlp_mapped_spans_total',
    help: 'GenAI spans received over OTLP and recorded as runs, steps and messages, by kind (agent, llm, tool).',
    label: 'kind',
    values: GEN_AI_SPAN_KINDS,
    read: () => source.stats().mapped,
  });
  scrapedCounter(registry, {
    name: 'runtrace_otlp_mapping_failures_total',
    help: `GenAI spans stored but not recorded as runs for their data, by reason (${MAPPING_FAILURE_REASONS.join(', ')}).`,
    label: 'reason',
    values: MAPPING_FAILURE_REASONS,
    read: () => source.stats().failures,
  });
}
