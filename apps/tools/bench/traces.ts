/**
 * OpenTelemetry traces: OTLP ingest (HTTP and gRPC) into ClickHouse (trace-ingest.ts) and `runs.trace` among many spans
 * (trace-reads.ts), each beside a baseline from the same run.
 */
import { qualified } from '@runtrace/core/internal';
import type { BenchSection } from './section.ts';
import { measureTraceIngest } from './trace-ingest.ts';
import { measureTraceReads } from './trace-reads.ts';

/** (`needsSeed`: it reads no seeded runs, so `--only traces` skips the million-run seed.) */
export const tracesSection: BenchSection & { needsSeed: boolean } = {
  name: 'traces',
  needsSeed: false,
  async run(ctx) {
    const ch = ctx.env.runtime.clickhouse;
    if (!ch) throw new Error('the traces section needs ClickHouse (CLICKHOUSE_URL is off)');
    const table = qualified(ch, 'otel_traces');
    const ingest = await measureTraceIngest(ctx, ch, table);
    const reads = await measureTraceReads(ctx, ch, table);
    return {
      title: 'OpenTelemetry traces: OTLP ingest and runs.trace',
      table: `${ingest.table}\n\n${reads.table}`,
      notes: [...ingest.notes, ...reads.notes],
      checks: [...ingest.checks, ...reads.checks],
    };
  },
};
