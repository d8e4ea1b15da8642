import { Readable } from 'node:stream';
import { drainStream } from '@clickhouse/client';
import { Unavailable } from '../errors.ts';
import { type ClickHouse, clickhouseFailure } from './connect.ts';

/**
 * Runs an `INSERT … FORMAT …` statement with `body` as its data and waits until it is done, on chdb and servers
 * alike. Put settings in the statement (`INSERT INTO t SETTINGS … FORMAT …`), not in clickhouse_settings: chdb turns
 * those into a `SET …;` prefix, which sends the whole body through its multi-statement splitter (measured ~1.5x
 * slower) and sticks to the session.
 */
export async function insertBody(ch: ClickHouse, statement: string, body: string): Promise<void> {
  const result = await ch.client.exec({ query: statement, values: Readable.from([body]) });
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

interface Pending {
  /** The item's rows, joined by newlines, without a trailing one. */
  lines: string;
  rows: number;
  bytes: number;
  seq: number;
  acceptedAt: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Coalesces items (each one or more rows) into large INSERTs: a batch goes when it is full (rows or bytes) or when its
 * oldest item has waited `flushIntervalMs`, with at most `maxConcurrentInserts` in flight. Each add() settles when the
 * INSERT holding its rows has completed; a failed INSERT fails only its own items (outages as {@link Unavailable}).
 * The queue is bounded in rows and bytes: beyond, add() fails at once with Unavailable, the retryable error.
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
    this.#maxQueueRows = options.maxQueueRows ?? 100_000;
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
        new Unavailable(`ClickHouse at ${this.#location} is not keeping up: ${depth} ${this.#rowsName} are waiting to be written`),
      );
    }
    return new Promise((resolve, reject) => {
      this.#seq += 1;
      this.#queue.push({ lines, rows, bytes, seq: this.#seq, acceptedAt: performance.now(), resolve, reject });
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
    const body = batch.length === 1 ? `${(batch[0] as Pending).lines}\n` : `${batch.map((p) => p.lines).join('\n')}\n`;
    const insert = this.#insertBody(body).then(
      () => {
        for (const p of batch) p.resolve();
      },
      (err: unknown) => {
        const failure = clickhouseFailure(err, this.#location);
        for (const p of batch) p.reject(failure);
      },
    );
    const done = insert.finally(() => {
      this.#inFlight.delete(done);
      this.#inFlightRows -= rows;
      this.#inFlightBytes -= bytes;
      this.#pump();
    });
    this.#inFlight.set(done, (batch[0] as Pending).seq);
  }
}
