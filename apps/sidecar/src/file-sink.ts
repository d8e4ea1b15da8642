import { Worker } from 'node:worker_threads';
import type { FileWriterOptions, FromWriter, ToWriter } from './file-writer.ts';

export interface FileSinkOptions {
  /** The directory of the files (created if missing). */
  dir: string;
  /** Gzip each batch (level {@link gzipLevel}) in the writer thread. @default true */
  gzip?: boolean;
  /** zlib level; 1 is ~137 MB/s per core on provider-trace JSON, 6 about a quarter of that. @default 1 */
  gzipLevel?: number;
  /** A file is completed past this many uncompressed bytes. @default 64 MiB */
  rotateBytes?: number;
  /** …or past this age. @default 60000 */
  rotateMs?: number;
  /** Lines are gathered into batches of up to this many bytes, one write (and one gzip member) each. @default 1 MiB */
  batchBytes?: number;
  /** A batch that is not full is written after this long. @default 100 */
  flushMs?: number;
  /** Past this many bytes handed to the writer and not yet written, `write` returns false (pause the sockets). @default 64 MiB */
  highWaterBytes?: number;
  /** File names start with this. @default 'runtrace' */
  prefix?: string;
  /** Told when the pending bytes fell below half the high-water mark after `write` returned false. */
  onDrain?: () => void;
  /** Told of each write failure (the batch's records are lost and counted). */
  onError?: (message: string) => void;
}

export interface FileSinkStats {
  /** Records and bytes (uncompressed) written to files. */
  records: number;
  bytes: number;
  /** Batches written. */
  writes: number;
  /** Batches whose write failed, and the records they held. */
  failures: number;
  lostRecords: number;
  /** Files completed. */
  rotations: number;
  /** Bytes handed to the writer and not yet written. */
  pendingBytes: number;
}

/**
 * Rolling NDJSON files. The socket-reading thread only copies accepted lines into a batch buffer and hands full
 * batches (by transfer, no copy) to a writer thread that gzips and writes them (file-writer.ts).
 */
export class FileSink {
  readonly stats: FileSinkStats = {
    records: 0,
    bytes: 0,
    writes: 0,
    failures: 0,
    lostRecords: 0,
    rotations: 0,
    pendingBytes: 0,
  };
  /** Files completed at start from `.part` files a crashed process left. */
  recovered: string[] = [];
  readonly #worker: Worker;
  readonly #batchBytes: number;
  readonly #highWater: number;
  readonly #onDrain: () => void;
  readonly #onError: (message: string) => void;
  #batch: Buffer;
  #used = 0;
  /** Batches' memory the writer handed back, for the next batches (see FromWriter). */
  readonly #spare: ArrayBuffer[] = [];
  #records = 0;
  #timer: NodeJS.Timeout | null = null;
  #flushMs: number;
  #full = false;
  /** Batches handed to the writer, and answered by it (written or failed), for {@link settled}. */
  #sent = 0;
  #answered = 0;
  #settledWaiters: { batch: number; resolve: () => void }[] = [];
  #closed: Promise<void> | null = null;
  #onClosed: (() => void) | null = null;

  private constructor(worker: Worker, options: FileSinkOptions) {
    this.#worker = worker;
    this.#batchBytes = options.batchBytes ?? 1024 * 1024;
    this.#highWater = options.highWaterBytes ?? 64 * 1024 * 1024;
    this.#flushMs = options.flushMs ?? 100;
    this.#onDrain = options.onDrain ?? (() => {});
    this.#onError = options.onError ?? (() => {});
    this.#batch = Buffer.allocUnsafeSlow(this.#batchBytes);
  }

  /** Starts the writer thread; resolves once it has completed leftover `.part` files and is ready. */
  static async start(options: FileSinkOptions): Promise<FileSink> {
    const fileWriter: FileWriterOptions = {
      dir: options.dir,
      gzip: options.gzip ?? true,
      gzipLevel: options.gzipLevel ?? 1,
      rotateBytes: options.rotateBytes ?? 64 * 1024 * 1024,
      rotateMs: options.rotateMs ?? 60_000,
      prefix: options.prefix ?? 'runtrace',
    };
    const worker = new Worker(new URL('./file-writer.worker.mjs', import.meta.url), {
      workerData: { fileWriter },
      execArgv: [],
    });
    const sink = new FileSink(worker, options);
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.on('message', (message: FromWriter) => {
        if (message.type === 'ready') {
          sink.recovered = message.recovered;
          worker.off('error', reject);
          worker.on('error', (err) => sink.#onError(`file writer thread: ${err.message}`));
          resolve();
        } else {
          sink.#handle(message);
        }
      });
    });
    return sink;
  }

  /** Whether the writer keeps up; when false, stop reading until `onDrain`. */
  get writable(): boolean {
    return this.stats.pendingBytes < this.#highWater;
  }

  /** Appends one line (a newline is added). Returns {@link writable}. */
  write(line: Buffer): boolean {
    const need = line.length + 1;
    if (this.#used + need > this.#batch.length) this.flush();
    if (need > this.#batch.length) {
      const alone = Buffer.allocUnsafeSlow(need);
      line.copy(alone, 0);
      alone[line.length] = 0x0a;
      this.#send(alone, need, 1);
    } else {
      line.copy(this.#batch, this.#used);
      this.#batch[this.#used + line.length] = 0x0a;
      this.#used += need;
      this.#records += 1;
      if (this.#timer === null) {
        this.#timer = setTimeout(() => {
          this.#timer = null;
          this.flush();
        }, this.#flushMs);
      }
    }
    if (!this.writable) this.#full = true;
    return !this.#full;
  }

  /** Hands the current batch to the writer. */
  flush(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#used === 0) return;
    const batch = this.#batch;
    const used = this.#used;
    const records = this.#records;
    const spare = this.#spare.pop();
    this.#batch = spare ? Buffer.from(spare) : Buffer.allocUnsafeSlow(this.#batchBytes);
    this.#used = 0;
    this.#records = 0;
    this.#send(batch, used, records);
  }

  /**
   * Hands the current batch to the writer and resolves once the writer has answered every batch handed so far: what
   * was written before this call is then in the files (the OS holds it; a crash of this process cannot lose it).
   */
  settled(): Promise<void> {
    this.flush();
    if (this.#answered >= this.#sent) return Promise.resolve();
    return new Promise<void>((resolve) => this.#settledWaiters.push({ batch: this.#sent, resolve }));
  }

  /** Writes what is batched, completes the current file, stops the writer thread. */
  close(): Promise<void> {
    if (this.#closed) return this.#closed;
    this.flush();
    this.#closed = new Promise<void>((resolve) => {
      this.#onClosed = resolve;
      this.#post({ type: 'close' });
    }).then(() => this.#worker.terminate().then(() => {}));
    return this.#closed;
  }

  #send(buf: Buffer, used: number, records: number): void {
    this.stats.pendingBytes += used;
    this.#sent += 1;
    // the batch owns its ArrayBuffer (allocUnsafeSlow): transfer it instead of copying
    this.#post({ type: 'batch', buf: new Uint8Array(buf.buffer, buf.byteOffset, used), records }, [
      buf.buffer as ArrayBuffer,
    ]);
  }

  #answer(): void {
    this.#answered += 1;
    while (this.#settledWaiters.length > 0 && (this.#settledWaiters[0]?.batch ?? 0) <= this.#answered) {
      this.#settledWaiters.shift()?.resolve();
    }
  }

  #post(message: ToWriter, transfer: ArrayBuffer[] = []): void {
    this.#worker.postMessage(message, transfer);
  }

  #handle(message: FromWriter): void {
    if ('memory' in message && message.memory?.byteLength === this.#batchBytes && this.#spare.length < 4) {
      this.#spare.push(message.memory);
    }
    switch (message.type) {
      case 'written':
        this.#answer();
        this.stats.pendingBytes -= message.bytes;
        this.stats.records += message.records;
        this.stats.bytes += message.bytes;
        this.stats.writes += 1;
        break;
      case 'failed':
        // a failed rotation answers no batch (its bytes are 0); a failed batch does
        if (message.bytes > 0) this.#answer();
        this.stats.pendingBytes -= message.bytes;
        this.stats.failures += 1;
        this.stats.lostRecords += message.records;
        this.#onError(message.error);
        break;
      case 'rotated':
        this.stats.rotations += 1;
        break;
      case 'closed':
        for (const w of this.#settledWaiters.splice(0)) w.resolve();
        this.#onClosed?.();
        return;
      default:
        return;
    }
    if (this.#full && this.stats.pendingBytes < this.#highWater / 2) {
      this.#full = false;
      this.#onDrain();
    }
  }
}
