/**
 * The file sink's writer, run in a worker thread (see file-sink.ts): it owns the files, and the gzip when it is on,
 * so neither compression nor file I/O ever runs on the thread that reads the sockets.
 *
 * Files: `<dir>/<prefix>-<UTC yyyymmddThhmmss.mmmZ>-<pid>-<seq>.ndjson[.gz]`, sortable by time. A file is written
 * as `<name>.part` and renamed when it is complete (past the size or age limit, or at shutdown), so a reader takes
 * only names without `.part`. Gzip files are a series of gzip members, one per batch (every gunzip reads them as
 * one stream). `.part` files left by a process that no longer runs (a crash) are completed at start: cut after
 * their last whole line and renamed.
 */
import {
  closeSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { constants, gunzipSync, gzipSync } from 'node:zlib';

export interface FileWriterOptions {
  dir: string;
  gzip: boolean;
  gzipLevel: number;
  rotateBytes: number;
  rotateMs: number;
  prefix: string;
}

export type ToWriter = { type: 'batch'; buf: Uint8Array; records: number } | { type: 'close' };

export type FromWriter =
  | { type: 'ready'; recovered: string[] }
  /** `memory`: the batch's own, handed back (transferred) for the next batch: fresh memory costs a page fault per 4 KiB. */
  | { type: 'written'; bytes: number; records: number; memory?: ArrayBuffer }
  | { type: 'failed'; bytes: number; records: number; error: string; memory?: ArrayBuffer }
  | { type: 'rotated'; file: string; bytes: number; records: number }
  | { type: 'closed' };

export function fileStamp(ms: number): string {
  return new Date(ms).toISOString().replaceAll('-', '').replaceAll(':', '');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Completes the `.part` files of processes that no longer run; returns the names it completed. */
export function recoverParts(dir: string, prefix: string): string[] {
  const pattern = new RegExp(`^${prefix}-\\d{8}T\\d{6}\\.\\d{3}Z-(\\d+)-\\d+\\.ndjson(\\.gz)?\\.part$`);
  const recovered: string[] = [];
  for (const name of readdirSync(dir)) {
    const m = pattern.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    const part = path.join(dir, name);
    const final = part.slice(0, -'.part'.length);
    const raw = readFileSync(part);
    let text: Buffer = raw;
    if (m[2]) {
      try {
        text = gunzipSync(raw);
      } catch {
        // the last member was cut short: take what decompresses
        text = gunzipSync(raw, { finishFlush: constants.Z_SYNC_FLUSH });
      }
    }
    const whole = text.subarray(0, text.lastIndexOf(0x0a) + 1);
    if (whole.length > 0) {
      writeFileSync(part, m[2] ? gzipSync(whole, { level: 1 }) : whole);
      renameSync(part, final);
      recovered.push(path.basename(final));
    } else {
      unlinkSync(part);
    }
  }
  return recovered;
}

export function runWriter(options: FileWriterOptions, post: (message: FromWriter, transfer?: ArrayBuffer[]) => void) {
  let fd: number | null = null;
  let partPath = '';
  let openedAt = 0;
  let fileBytes = 0;
  let fileRecords = 0;
  let seq = 0;

  const open = (): number => {
    openedAt = Date.now();
    const name = `${options.prefix}-${fileStamp(openedAt)}-${process.pid}-${String(seq++).padStart(6, '0')}.ndjson${options.gzip ? '.gz' : ''}`;
    partPath = path.join(options.dir, `${name}.part`);
    const opened = openSync(partPath, 'wx', 0o640);
    fd = opened;
    fileBytes = 0;
    fileRecords = 0;
    return opened;
  };

  const finish = () => {
    if (fd === null) return;
    const current = fd;
    fd = null;
    closeSync(current);
    const final = partPath.slice(0, -'.part'.length);
    renameSync(partPath, final);
    post({ type: 'rotated', file: path.basename(final), bytes: fileBytes, records: fileRecords });
  };

  const write = (buf: Uint8Array, records: number) => {
    try {
      if (fd !== null && Date.now() - openedAt >= options.rotateMs) finish();
      const target = fd ?? open();
      const out = options.gzip ? gzipSync(buf, { level: options.gzipLevel }) : buf;
      let off = 0;
      while (off < out.length) off += writeSync(target, out, off, out.length - off);
      fileBytes += buf.length;
      fileRecords += records;
      const memory = buf.buffer as ArrayBuffer;
      post({ type: 'written', bytes: buf.length, records, memory }, [memory]);
      if (fileBytes >= options.rotateBytes) finish();
    } catch (err) {
      const memory = buf.buffer.byteLength > 0 ? (buf.buffer as ArrayBuffer) : undefined;
      post(
        { type: 'failed', bytes: buf.length, records, error: (err as Error).message, ...(memory ? { memory } : {}) },
        memory ? [memory] : [],
      );
      if (fd !== null) {
        try {
          closeSync(fd);
        } catch {
          // already unusable
        }
        fd = null;
      }
    }
  };

  const timer = setInterval(
    () => {
      if (fd !== null && Date.now() - openedAt >= options.rotateMs) {
        try {
          finish();
        } catch (err) {
          post({ type: 'failed', bytes: 0, records: 0, error: (err as Error).message });
        }
      }
    },
    Math.max(10, Math.min(options.rotateMs, 1000)),
  );

  return {
    handle(message: ToWriter) {
      if (message.type === 'batch') write(message.buf, message.records);
      else {
        clearInterval(timer);
        try {
          finish();
        } catch (err) {
          post({ type: 'failed', bytes: 0, records: 0, error: (err as Error).message });
        }
        post({ type: 'closed' });
      }
    },
  };
}

if (parentPort && (workerData as { fileWriter?: FileWriterOptions } | undefined)?.fileWriter) {
  const port = parentPort;
  const options = (workerData as { fileWriter: FileWriterOptions }).fileWriter;
  const post = (message: FromWriter, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
  let recovered: string[] = [];
  try {
    recovered = recoverParts(options.dir, options.prefix);
  } catch (err) {
    post({ type: 'failed', bytes: 0, records: 0, error: `recovering .part files: ${(err as Error).message}` });
  }
  const writer = runWriter(options, post);
  port.on('message', (message: ToWriter) => writer.handle(message));
  post({ type: 'ready', recovered });
}
