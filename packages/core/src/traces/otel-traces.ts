import { and, eq, isNotNull } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import { type ClickHouse, clickhouseOff, qualified } from '../clickhouse/connect.ts';
import { InsertBatcher, type InsertBatcherOptions, insertBody, RowsRefused } from '../clickhouse/insert-batcher.ts';
import type { Db } from '../db/connect.ts';
import { steps } from '../db/schema.ts';
import { requireRun } from '../runs/require-run.ts';
import type { OtlpFormat } from './encode-export-response.ts';
import { otlpToRows } from './otlp-to-rows.ts';
import { type RunTraceInput, runTraceInput, type TraceSpan } from './schemas.ts';
import { readTraceSpans } from './span-reader.ts';

/**
 * How spans are batched into INSERTs. Every INSERT costs ClickHouse a part (a fixed cost per INSERT into otel_traces
 * and its view, thousands of times a span's), so batches are large, like the Collector's (8,192
 * spans, 200 ms): an INSERT goes once 8,192 spans wait and a slot is free, or after 200 ms, with up to 16,384 spans
 * (or 16 MiB) each and 2 in flight, so that the next batch forms while one is written.
 */
export const SPAN_BATCHING = {
  maxBatchRows: 16_384,
  minBatchRows: 8_192,
  flushIntervalMs: 200,
  maxConcurrentInserts: 2,
} as const satisfies Omit<InsertBatcherOptions, 'insert' | 'location' | 'rowsName'>;

/** One INSERT of `otel_traces` rows as JSONEachRow lines (what {@link otlpToRows} makes). */
export function insertSpanRows(ch: ClickHouse, body: string): Promise<void> {
  return insertBody(
    ch,
    `INSERT INTO ${qualified(ch, 'otel_traces')} SETTINGS input_format_skip_unknown_fields = 0 FORMAT JSONEachRow`,
    body,
  );
}

export interface OtelTracesOptions {
  /** The process's ClickHouse (migrations applied), or null when CLICKHOUSE_URL=off. */
  clickhouse: ClickHouse | null;
  db: Db;
  /** How spans are batched into INSERTs. @default {@link SPAN_BATCHING} */
  batching?: Omit<InsertBatcherOptions, 'insert' | 'location' | 'rowsName'>;
}

/** OTLP ingest as `GET /metrics` reports it (span-metrics.ts). */
export interface SpanIngestStats {
  /** Spans accepted and not yet written. */
  queueDepth: number;
  queueBytes: number;
  /** Spans written to ClickHouse. */
  written: number;
  /** Spans refused for invalid data (the OTLP partial success), by the decoder or by ClickHouse. */
  rejected: number;
  /** Spans whose INSERT failed (ClickHouse down or behind: the exporter got 503 and may retry). */
  failed: number;
}

/** What became of an export request's spans. */
export interface IngestResult {
  /** Spans written. */
  accepted: number;
  /** Spans refused for invalid data (OTLP partial success), with the reasons. */
  rejected: number;
  errorMessage: string;
}

/**
 * OpenTelemetry spans in ClickHouse (`otel_traces`): OTLP export requests in, a run's trace out. Writes are batched
 * across requests (many small exports make one INSERT); an ingest resolves once its spans are written, so an
 * exporter that gets a success may forget them. Every read is scoped to the actor's organization.
 */
export class OtelTraces {
  readonly #ch: ClickHouse | null;
  readonly #db: Db;
  readonly #batcher: InsertBatcher | null;
  readonly #counts = { written: 0, rejected: 0, failed: 0 };

  constructor(options: OtelTracesOptions) {
    this.#ch = options.clickhouse;
    this.#db = options.db;
    const ch = this.#ch;
    this.#batcher = ch
      ? new InsertBatcher({
          ...SPAN_BATCHING,
          ...options.batching,
          location: ch.location,
          rowsName: 'spans',
          insert: (body) => insertSpanRows(ch, body),
        })
      : null;
  }

  /** False when CLICKHOUSE_URL=off: ingest and forRun answer NotImplemented naming the variable. */
  get enabled(): boolean {
    return this.#ch !== null;
  }

  /**
   * Decodes an OTLP export request (`ExportTraceServiceRequest`, JSON or protobuf), stamps the actor's organization
   * on its spans and writes them. Spans with invalid ids or times are refused and counted, the rest written; so are
   * spans ClickHouse itself refuses (found alone by splitting the shared INSERT, so other requests are not failed).
   * @throws InvalidArgument for a body that is not such a request; Unavailable when ClickHouse is down or behind.
   */
  async ingest(actor: Actor, body: Uint8Array, format: OtlpFormat): Promise<IngestResult> {
    if (!this.#batcher) throw clickhouseOff('OpenTelemetry trace ingest (OTLP/HTTP and OTLP/gRPC)');
    const decoded = otlpToRows(body, format, actor.organizationId);
    this.#counts.rejected += decoded.rejected;
    try {
      await this.#batcher.add(decoded.lines, decoded.rows);
    } catch (err) {
      if (!(err instanceof RowsRefused)) {
        this.#counts.failed += decoded.rows;
        throw err;
      }
      this.#counts.written += err.written;
      this.#counts.rejected += err.refused;
      const rejected = decoded.rejected + err.refused;
      return {
        accepted: err.written,
        rejected,
        errorMessage: [decoded.errorMessage, err.message].filter(Boolean).join('; '),
      };
    }
    this.#counts.written += decoded.rows;
    return { accepted: decoded.rows, rejected: decoded.rejected, errorMessage: decoded.errorMessage };
  }

  /**
   * A run's trace for a trace view: the spans of every trace id its steps carry (merged), filtered to agent steps,
   * tool executions, root spans and time to first token, oldest first. A run whose steps carry no trace id has an
   * empty trace; another organization's run is NotFound.
   */
  async forRun(actor: Actor, raw: RunTraceInput): Promise<TraceSpan[]> {
    const input = runTraceInput.parse(raw);
    // As Letta: with ClickHouse off the answer is NotImplemented, whatever the run.
    if (!this.#ch) throw clickhouseOff('runs.trace');
    await requireRun(this.#db, actor, input.runId);
    const rows = await this.#db
      .selectDistinct({ traceId: steps.traceId })
      .from(steps)
      .where(
        and(eq(steps.runId, input.runId), eq(steps.organizationId, actor.organizationId), isNotNull(steps.traceId)),
      );
    const traceIds = [...new Set(rows.map((r) => (r.traceId ?? '').trim().toLowerCase()).filter(Boolean))];
    return readTraceSpans(this.#ch, { organizationId: actor.organizationId, traceIds, limit: input.limit });
  }

  /** Writes out the spans accepted so far. */
  async flush(): Promise<void> {
    await this.#batcher?.flush();
  }

  /** Spans accepted and not yet written, and what became of every span received so far. */
  stats(): SpanIngestStats {
    return { ...(this.#batcher?.stats() ?? { queueDepth: 0, queueBytes: 0 }), ...this.#counts };
  }

  /** Refuses new spans and writes out the accepted ones. The ClickHouse connection is its owner's to close. */
  async close(): Promise<void> {
    await this.#batcher?.close();
  }
}
