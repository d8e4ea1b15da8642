import { Readable } from 'node:stream';
import { drainStream } from '@clickhouse/client';
import { Unavailable } from '../errors.ts';
import { clickhouseFailure } from './clickhouse-failure.ts';
import type { ClickHouse } from './connect.ts';

/**
 * Some of an item's rows were refused by ClickHouse for their data (found by splitting the failed INSERT); its other
 * rows are written. Not a domain error: a caller that does not look at it (and so would drop those rows unknowingly)
 * fails as for a bug; OTLP ingest turns it into the spec's partial success.
 */
export class RowsRefused extends Error {
  override name = 'RowsRefused';
  /** The item's rows that went in. */
  readonly written: number;
  /** The item's rows ClickHouse refused. */
  readonly refused: number;

  constructor(written: number, refused: number, rowsName: string, cause: unknown) {
    const type = (cause as { type?: unknown } | null)?.type;
    super(
      `ClickHouse refused ${refused} of ${written + refused} ${rowsName} for their data${typeof type === 'string' ? ` (${type})` : ''}`,
      {
        cause,
      },
    );
    this.written = written;
    this.refused = refused;
  }
}

/**
 * Inserts `body` (JSONEachRow lines) into `table` (qualified) with `settings`, and waits until it is done, on chdb and
 * servers alike. The settings go in the statement (`INSERT INTO t SETTINGS … FORMAT …`), not in clickhouse_settings:
 * chdb turns those into a `SET …;` prefix, which sends the whole body through its multi-statement splitter (slower,
 * with the body's size) and sticks to the session.
 *
 * On chdb the body is parsed by one thread: the embedded engine shares the api process's cores, and parallel parsing
 * spent a quarter more CPU per row to split and hand out the work (32.8 → 24.5 µs per span, 8,192-span inserts,
 * same wall time), while the batchers already keep two inserts in flight. A server keeps its own default.
 */
export async function insertBody(
  ch: ClickHouse,
  table: string,
  settings: Readonly<Record<string, 0 | 1>>,
  body: string,
): Promise<void> {
  const all = ch.kind === 'chdb' ? { ...settings, input_format_parallel_parsing: 0 } : settings;
  const list = Object.entries(all)
    .map(([name, value]) => `${name} = ${value}`)
    .join(', ');
  const query = `INSERT INTO ${table}${list ? ` SETTINGS ${list}` : ''} FORMAT JSONEachRow`;
  const result = await ch.client.exec({ query, values: Readable.from([body]) });
  await drainStream(result.stream);
}

export interface InsertBatcherOptions {
  /** Writes one batch: the items' rows as newline-terminated lines (e.g. JSONEachRow). */
  insert: (body: string) => Promise<void>;
  /** Where the rows go, for error messages (ClickHouse's location). */
  location: string;
  /** What a row is, in plural, for the "not keeping up" error, e.g. `spans`. */
  rowsName: string;
  /** Most rows in one INSERT: a full batch is written at once (an item is never split). @default 1000 */
  maxBatchRows?: number;
  /** Most bytes in one INSERT: a batch this large is written at once. @default 16 MiB */
  maxBatchBytes?: number;
  /**
   * With an INSERT slot free, a batch goes as soon as this many rows wait, without waiting for the interval: under
   * load, inserts follow each other back to back (and grow up to maxBatchRows while the slots are busy); a trickle
   * still waits for the interval. @default maxBatchRows
   */
  minBatchRows?: number;
  /**
   * Longest an item waits for its batch to fill before the INSERT goes anyway. ClickHouse wants few large inserts
   * (every INSERT makes a part); 0 writes as soon as an INSERT slot is free (group commit). @default 50
   */
  flushIntervalMs?: number;
  /** INSERTs in flight at once. @default 2 */
  maxConcurrentInserts?: number;
  /** Most rows accepted but not yet written; beyond, add() fails with Unavailable. @default 100000 */
  maxQueueRows?: number;
  /** Most bytes accepted but not yet written (same rule). @default 256 MiB */
  maxQueueBytes?: number;
}

/** {@link InsertBatcherOptions.maxQueueRows}'s default. */
export const DEFAULT_MAX_QUEUE_ROWS = 100_000;

interface Pending {
  /** The item's rows, joined by newlines, without a trailing one. */
  lines: string;
  rows: number;
  bytes: number;
  seq: number;
  acceptedAt: number;
  /** Resolved or rejected already (a split batch settles its items one part at a time). */
  settled: boolean;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** How {@link InsertBatcher} settles the parts of a split batch: items, or the rows of one item. */
interface Split<T> {
  lines(unit: T): string;
  written(units: T[]): void;
  /** A unit that failed alone, with that failure; resolves with an outage met while looking closer, or null. */
  alone(unit: T, failure: unknown): Promise<Unavailable | null>;
}

/**
 * Coalesces items (each one or more rows) into large INSERTs: a batch goes when it is full (rows or bytes) or when its
 * oldest item has waited `flushIntervalMs`, with at most `maxConcurrentInserts` in flight. Each add() settles when the
 * INSERT holding its rows has completed. One item's bad row must not fail the others': an INSERT that ClickHouse
 * refuses (anything but an outage) is retried by halves until every refused row stands alone, so the other items are
 * written and only the bad rows' item fails ({@link RowsRefused}, its good rows written). An outage is not split: the
 * batch's items (those not yet settled) fail with {@link Unavailable}, the retryable error. The queue is bounded in
 * rows and bytes: beyond, add() fails at once with Unavailable too.
 */
export class InsertBatcher {
  readonly #insertBody: (body: string) => Promise<void>;
  readonly #location: string;
  readonly #rowsName: string;
  readonly #maxRows: number;
  readonly #maxBytes: number;
  readonly #minRows: number;
  readonly #intervalMs: number;
  readonly #maxInserts: number;
  readonly #maxQueueRows: number;
  readonly #maxQueueBytes: number;
  #queue: Pending[] = [];
  #queuedRows = 0;
  #queuedBytes = 0;
  /** INSERTs in flight → the sequence number of their first item. Their promises never reject. */
  #inFlight = new Map<Promise<void>, number>();
  #inFlightRows = 0;
  #inFlightBytes = 0;
  #seq = 0;
  /** Items up to this sequence number are written without waiting for a full batch (flush, close). */
  #forceThrough = 0;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(options: InsertBatcherOptions) {
    this.#insertBody = options.insert;
    this.#location = options.location;
    this.#rowsName = options.rowsName;
    this.#maxRows = options.maxBatchRows ?? 1000;
    this.#maxBytes = options.maxBatchBytes ?? 16 * 1024 * 1024;
    this.#minRows = Math.min(options.minBatchRows ?? this.#maxRows, this.#maxRows);
    this.#intervalMs = options.flushIntervalMs ?? 50;
    this.#maxInserts = options.maxConcurrentInserts ?? 2;
    this.#maxQueueRows = options.maxQueueRows ?? DEFAULT_MAX_QUEUE_ROWS;
    this.#maxQueueBytes = options.maxQueueBytes ?? 256 * 1024 * 1024;
    for (const [key, value] of Object.entries({
      maxBatchRows: this.#maxRows,
      maxBatchBytes: this.#maxBytes,
      minBatchRows: this.#minRows,
      maxConcurrentInserts: this.#maxInserts,
      maxQueueRows: this.#maxQueueRows,
      maxQueueBytes: this.#maxQueueBytes,
    })) {
      if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${key} must be a positive integer, got ${value}`);
    }
    if (!(this.#intervalMs >= 0)) throw new Error(`flushIntervalMs must be >= 0, got ${this.#intervalMs}`);
  }

  /** True once close() was called: add() is refused from then on. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Queues `rows` rows (`lines`: joined by newlines, no trailing one); resolves when they are written. */
  add(lines: string, rows: number): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`the ${this.#rowsName} writer is closed`));
    if (rows < 1) return Promise.resolve();
    const bytes = Buffer.byteLength(lines) + 1;
    const depth = this.#queuedRows + this.#inFlightRows;
    const waitingBytes = this.#queuedBytes + this.#inFlightBytes;
    if ((depth > 0 && depth + rows > this.#maxQueueRows) || waitingBytes + bytes > this.#maxQueueBytes) {
      return Promise.reject(
        new Unavailable(
          `ClickHouse at ${this.#location} is not keeping up: ${depth} ${this.#rowsName} are waiting to be written`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      this.#seq += 1;
      const pending: Pending = {
        lines,
        rows,
        bytes,
        seq: this.#seq,
        acceptedAt: performance.now(),
        settled: false,
        resolve: () => {
          pending.settled = true;
          resolve();
        },
        reject: (err) => {
          pending.settled = true;
          reject(err);
        },
      };
      this.#queue.push(pending);
      this.#queuedRows += rows;
      this.#queuedBytes += bytes;
      this.#pump();
    });
  }

  /** Writes out everything accepted so far (without waiting for full batches) and resolves when it is written. */
  async flush(): Promise<void> {
    const through = this.#seq;
    this.#forceThrough = Math.max(this.#forceThrough, through);
    for (;;) {
      this.#pump();
      const head = this.#queue[0];
      const earlier = [...this.#inFlight].filter(([, first]) => first <= through).map(([p]) => p);
      if (earlier.length === 0 && (!head || head.seq > through)) return;
      await Promise.race(earlier.length ? earlier : [...this.#inFlight.keys()]);
    }
  }

  /** Refuses new items, writes out the queued ones and resolves when all are written. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Rows (and bytes) accepted and not yet written, in flight included. */
  stats(): { queueDepth: number; queueBytes: number } {
    return { queueDepth: this.#queuedRows + this.#inFlightRows, queueBytes: this.#queuedBytes + this.#inFlightBytes };
  }

  /** Starts every INSERT that is due and has a free slot; arms the timer for the next one. */
  #pump(): void {
    while (this.#queue.length > 0 && this.#inFlight.size < this.#maxInserts) {
      const head = this.#queue[0] as Pending;
      const due =
        this.#closed ||
        head.seq <= this.#forceThrough ||
        this.#queuedRows >= this.#minRows ||
        this.#queuedBytes >= this.#maxBytes ||
        performance.now() - head.acceptedAt >= this.#intervalMs;
      if (!due) break;
      this.#send(this.#cut());
    }
    // With every slot busy, the next completion pumps again; a timer would only spin.
    if (this.#timer || this.#queue.length === 0 || this.#inFlight.size >= this.#maxInserts) return;
    const head = this.#queue[0] as Pending;
    const wait = Math.max(0, head.acceptedAt + this.#intervalMs - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#pump();
    }, wait);
  }

  #cut(): Pending[] {
    const batch: Pending[] = [];
    let rows = 0;
    let bytes = 0;
    while (this.#queue.length) {
      const next = this.#queue[0] as Pending;
      if (batch.length && (rows + next.rows > this.#maxRows || bytes + next.bytes > this.#maxBytes)) break;
      batch.push(next);
      rows += next.rows;
      bytes += next.bytes;
      this.#queue.shift();
    }
    this.#queuedRows -= rows;
    this.#queuedBytes -= bytes;
    return batch;
  }

  #send(batch: Pending[]): void {
    let rows = 0;
    let bytes = 0;
    for (const p of batch) {
      rows += p.rows;
      bytes += p.bytes;
    }
    this.#inFlightRows += rows;
    this.#inFlightBytes += bytes;
    const insert = this.#write(batch);
    const done = insert.finally(() => {
      this.#inFlight.delete(done);
      this.#inFlightRows -= rows;
      this.#inFlightBytes -= bytes;
      this.#pump();
    });
    this.#inFlight.set(done, (batch[0] as Pending).seq);
  }

  /** Writes a batch and settles its items; never rejects. */
  async #write(batch: Pending[]): Promise<void> {
    const failure = await this.#attempt(batch.map((p) => p.lines).join('\n'));
    if (failure === null) {
      for (const p of batch) p.resolve();
      return;
    }
    const outage =
      failure instanceof Unavailable
        ? failure
        : await this.#split(batch, failure, {
            lines: (p) => p.lines,
            written: (items) => {
              for (const p of items) p.resolve();
            },
            alone: (p, itemFailure) => this.#splitItem(p, itemFailure),
          });
    if (outage) for (const p of batch) if (!p.settled) p.reject(outage);
  }

  /** One INSERT of `lines`: null when written, else the failure (an outage as {@link Unavailable}). */
  async #attempt(lines: string): Promise<unknown> {
    try {
      await this.#insertBody(`${lines}\n`);
      return null;
    } catch (err) {
      return clickhouseFailure(err);
    }
  }

  /**
   * `units` failed together with `failure`, which is not an outage: writes them by halves until each unit that still
   * fails stands alone (at most 2n − 1 INSERTs). Stops at the first outage and returns it; the caller fails
   * whatever is not settled yet.
   */
  async #split<T>(units: T[], failure: unknown, how: Split<T>): Promise<Unavailable | null> {
    if (units.length === 1) return how.alone(units[0] as T, failure);
    const middle = Math.ceil(units.length / 2);
    for (const half of [units.slice(0, middle), units.slice(middle)]) {
      const halfFailure = await this.#attempt(half.map(how.lines).join('\n'));
      if (halfFailure === null) how.written(half);
      else if (halfFailure instanceof Unavailable) return halfFailure;
      else {
        const outage = await this.#split(half, halfFailure, how);
        if (outage) return outage;
      }
    }
    return null;
  }

  /** An item that fails alone: its rows by halves, so that only the refused ones are lost ({@link RowsRefused}). */
  async #splitItem(p: Pending, failure: unknown): Promise<Unavailable | null> {
    if (p.rows === 1) {
      p.reject(new RowsRefused(0, 1, this.#rowsName, failure));
      return null;
    }
    let written = 0;
    let refused = 0;
    let first: unknown = null;
    const outage = await this.#split(p.lines.split('\n'), failure, {
      lines: (line) => line,
      written: (lines) => {
        written += lines.length;
      },
      alone: async (_line, lineFailure) => {
        refused += 1;
        first ??= lineFailure;
        return null;
      },
    });
    if (outage) p.reject(outage);
    else if (refused) p.reject(new RowsRefused(written, refused, this.#rowsName, first));
    // refused as a whole, written in parts: whatever it was has passed
    else p.resolve();
    return outage;
  }
}
