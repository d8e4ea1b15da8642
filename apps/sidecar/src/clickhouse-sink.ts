import type { ClickHouseClient } from '@clickhouse/client';
import { toStorableText } from '@runtrace/core';
import type { SocketRecordV1 } from '@runtrace/core/telemetry';

/** The part of core's ClickHouse handle (packages/core/src/clickhouse/connect.ts) this sink uses. */
export interface ClickHouseHandle {
  readonly client: Pick<ClickHouseClient, 'command' | 'insert'>;
  /** A plain identifier, checked by the connector. */
  readonly database: string;
  /** Where, without credentials (for logs). */
  readonly location: string;
  close(): Promise<void>;
}

export interface ClickHouseSinkOptions {
  /** @default 'sidecar_provider_traces' */
  table?: string;
  /** Rows per INSERT. @default 5000 */
  batchRows?: number;
  /** A batch that is not full is inserted after this long. @default 1000 */
  flushMs?: number;
  /** Rows waiting while ClickHouse is slow or down; beyond it the oldest are dropped and counted. @default 100000 */
  maxPendingRows?: number;
  /** Told of each failed INSERT (its rows are lost and counted; the file sink keeps them). */
  onError?: (message: string) => void;
}

export interface ClickHouseSinkStats {
  records: number;
  writes: number;
  failures: number;
  lostRecords: number;
  pendingRows: number;
}

/** A {@link SocketRecordV1} as this sink's table stores it: its JSON values as text. */
type Row = Omit<SocketRecordV1, 'request' | 'response' | 'error'> & {
  request: string;
  response: string | null;
  error: string | null;
};

/**
 * The sidecar's ClickHouse sink (SIDECAR_CLICKHOUSE_URL): v1 records, batched, into a table of its own. An archive
 * for analytics, never read by the api (the v1 record has no organization, CONTRACTS §7). A failed INSERT loses its
 * rows here (counted); the file sink still has them.
 */
export class ClickHouseSink {
  readonly stats: ClickHouseSinkStats = { records: 0, writes: 0, failures: 0, lostRecords: 0, pendingRows: 0 };
  readonly location: string;
  readonly #ch: ClickHouseHandle;
  readonly #table: string;
  readonly #batchRows: number;
  readonly #flushMs: number;
  readonly #maxPending: number;
  readonly #onError: (message: string) => void;
  #rows: Row[] = [];
  #timer: NodeJS.Timeout | null = null;
  #inserting: Promise<void> | null = null;

  private constructor(ch: ClickHouseHandle, options: ClickHouseSinkOptions) {
    this.#ch = ch;
    this.location = ch.location;
    this.#table = `\`${ch.database}\`.\`${options.table ?? 'sidecar_provider_traces'}\``;
    this.#batchRows = options.batchRows ?? 5000;
    this.#flushMs = options.flushMs ?? 1000;
    this.#maxPending = options.maxPendingRows ?? 100_000;
    this.#onError = options.onError ?? (() => {});
  }

  /** Creates the table when missing. */
  static async start(ch: ClickHouseHandle, options: ClickHouseSinkOptions = {}): Promise<ClickHouseSink> {
    const sink = new ClickHouseSink(ch, options);
    await ch.client.command({
      query: `CREATE TABLE IF NOT EXISTS ${sink.#table} (
        protocol_version UInt8,
        provider_trace_id String,
        agent_id Nullable(String),
        run_id Nullable(String),
        step_id Nullable(String),
        tags Array(String),
        type LowCardinality(String),
        request String,
        response Nullable(String),
        error Nullable(String),
        timestamp DateTime64(6, 'UTC'),
        received_at DateTime64(3, 'UTC') DEFAULT now64(3)
      ) ENGINE = MergeTree ORDER BY (timestamp, provider_trace_id)`,
    });
    return sink;
  }

  /**
   * Queues a record. Its text fields are made storable ({@link toStorableText}: an unpaired surrogate becomes U+FFFD,
   * NUL goes), as OTLP spans are: ClickHouse refuses a whole INSERT over one `\ud800`, which would lose the batch's
   * other records. The JSON of request, response and error needs nothing: JSON.stringify writes such characters as
   * `\u` escapes, stored as plain text.
   */
  add(record: SocketRecordV1): void {
    const text = (value: string | null) => (value === null ? null : toStorableText(value));
    this.#rows.push({
      protocol_version: record.protocol_version,
      provider_trace_id: toStorableText(record.provider_trace_id),
      agent_id: text(record.agent_id),
      run_id: text(record.run_id),
      step_id: text(record.step_id),
      tags: record.tags.map(toStorableText),
      type: toStorableText(record.type),
      request: JSON.stringify(record.request),
      response: record.response === null ? null : JSON.stringify(record.response),
      error:
        record.error === null || record.error === undefined
          ? null
          : typeof record.error === 'string'
            ? toStorableText(record.error)
            : JSON.stringify(record.error),
      timestamp: record.timestamp,
    });
    if (this.#rows.length > this.#maxPending) {
      const over = this.#rows.length - this.#maxPending;
      this.#rows.splice(0, over);
      this.stats.lostRecords += over;
    }
    this.stats.pendingRows = this.#rows.length;
    if (this.#rows.length >= this.#batchRows) this.#flush();
    else if (this.#timer === null) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#flush();
      }, this.#flushMs);
    }
  }

  /** Inserts everything pending, then releases the connection. */
  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    while (this.#inserting || this.#rows.length > 0) {
      if (this.#inserting) await this.#inserting;
      else this.#flush();
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#ch.close();
  }

  #flush(): void {
    if (this.#inserting || this.#rows.length === 0) return;
    const rows = this.#rows.splice(0, this.#batchRows);
    this.stats.pendingRows = this.#rows.length;
    this.#inserting = this.#ch.client
      .insert({
        table: this.#table,
        values: rows,
        format: 'JSONEachRow',
        clickhouse_settings: { date_time_input_format: 'best_effort' },
      })
      .then(
        () => {
          this.stats.records += rows.length;
          this.stats.writes += 1;
        },
        (err: Error) => {
          this.stats.failures += 1;
          this.stats.lostRecords += rows.length;
          this.#onError(err.message);
        },
      )
      .finally(() => {
        this.#inserting = null;
        if (this.#rows.length >= this.#batchRows) this.#flush();
        else if (this.#rows.length > 0 && this.#timer === null) {
          this.#timer = setTimeout(() => {
            this.#timer = null;
            this.#flush();
          }, this.#flushMs);
        }
      });
  }
}
