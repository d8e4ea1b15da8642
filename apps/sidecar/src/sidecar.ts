import { accessSync, chmodSync, constants, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import type http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '@runtrace/core';
import { checkLine, decodeLine, type SocketRecordV1, SocketDrain } from '@runtrace/core/telemetry';
import type { Registry } from 'prom-client';
import { type ClickHouseHandle, ClickHouseSink } from './clickhouse-sink.ts';
import { FileSink } from './file-sink.ts';
import { type LineHandler, LineSplitter } from './line-splitter.ts';
import { serveMetrics, sidecarRegistry } from './metrics.ts';
import { SidecarStartError } from './sidecar-start-error.ts';
import type { RejectReason, SidecarStats } from './sidecar-stats.ts';

export interface SidecarOptions {
  /** The Unix socket to listen on (TELEMETRY_SOCKET). A stale socket file is replaced; a live one is an error. */
  socketPath: string;
  /** File mode of the socket. @default 0o600 (only its owner may connect) */
  socketMode?: number;
  /** Directory of the rolling NDJSON files (created if missing). */
  dir: string;
  /** @default true */
  gzip?: boolean;
  /** @default 1 */
  gzipLevel?: number;
  /** @default 64 MiB */
  rotateBytes?: number;
  /** @default 60000 */
  rotateMs?: number;
  /** How long a file batch may wait before it is written. @default 100 */
  flushMs?: number;
  /** Longest line accepted; a longer one is skipped up to its newline and counted. @default 128 MiB */
  maxLineBytes?: number;
  /** At shutdown, how long connected clients get to end their side before they are cut. @default 10000 */
  drainTimeoutMs?: number;
  /** Port of `GET /metrics` on {@link metricsHost}; 0 picks a free one, null serves none. @default 9464 */
  metricsPort?: number | null;
  /** @default '127.0.0.1' */
  metricsHost?: string;
  /** A connected ClickHouse (SIDECAR_CLICKHOUSE_URL): records also go there, batched. */
  clickhouse?: ClickHouseHandle;
  logger?: Logger;
}

export interface Sidecar {
  readonly socketPath: string;
  /** The port `GET /metrics` listens on, or null. */
  readonly metricsPort: number | null;
  readonly registry: Registry;
  /** Files completed at start from `.part` files left by a crashed sidecar. */
  readonly recovered: readonly string[];
  stats(): SidecarStats;
  /**
   * Graceful stop: stops accepting, says goodbye to every client (ends this side), reads each connection until the
   * client ends its side (or the drain timeout cuts it), flushes the sinks. Idempotent.
   */
  close(): Promise<void>;
}

function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createConnection({ path: socketPath });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

function ensureWritableDir(dir: string, what: string, logger: Logger | undefined): void {
  if (!existsSync(dir)) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o755 });
      logger?.info({ dir }, `created ${what}`);
    } catch (err) {
      throw new SidecarStartError(
        `${what} ${dir} does not exist and cannot be created (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    throw new SidecarStartError(`${what} ${dir} is not writable by this user`);
  }
}

async function prepareSocketPath(socketPath: string, logger: Logger | undefined): Promise<void> {
  const dir = path.dirname(socketPath);
  try {
    ensureWritableDir(dir, 'the socket directory', logger);
  } catch (err) {
    throw new SidecarStartError(
      `${(err as Error).message}: create it, or set TELEMETRY_SOCKET to a path in a writable directory`,
    );
  }
  const existing = lstatSync(socketPath, { throwIfNoEntry: false });
  if (!existing) return;
  if (!existing.isSocket()) {
    throw new SidecarStartError(`${socketPath} exists and is not a socket; refusing to replace it (TELEMETRY_SOCKET)`);
  }
  if (await canConnect(socketPath)) {
    throw new SidecarStartError(`another process is listening on ${socketPath} (TELEMETRY_SOCKET)`);
  }
  unlinkSync(socketPath);
  logger?.info({ socket: socketPath }, 'removed a stale socket file');
}

/** Starts a sidecar: sinks first, then the socket, then `/metrics`. Throws {@link SidecarStartError} on a bad setup. */
export async function startSidecar(options: SidecarOptions): Promise<Sidecar> {
  const logger = options.logger;
  const socketMode = options.socketMode ?? 0o600;
  const maxLineBytes = options.maxLineBytes ?? 128 * 1024 * 1024;
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;

  await prepareSocketPath(options.socketPath, logger);
  ensureWritableDir(options.dir, 'the sidecar file directory', logger);

  let paused = false;
  // the connections, and the graceful stop's choreography: the goodbye waits for the files to settle
  const drain = new SocketDrain({ settled: () => file.settled() });
  const file = await FileSink.start({
    dir: options.dir,
    gzip: options.gzip ?? true,
    gzipLevel: options.gzipLevel ?? 1,
    rotateBytes: options.rotateBytes ?? 64 * 1024 * 1024,
    rotateMs: options.rotateMs ?? 60_000,
    flushMs: options.flushMs ?? 100,
    onDrain: () => {
      paused = false;
      for (const s of drain.sockets) s.resume();
    },
    onError: (message) => logger?.error({ sink: 'file', error: message }, 'file sink write failed'),
  });
  if (file.recovered.length > 0) {
    logger?.warn({ files: file.recovered }, 'completed files left by a sidecar that did not stop cleanly');
  }
  let clickhouse: ClickHouseSink | null = null;
  if (options.clickhouse) {
    try {
      clickhouse = await ClickHouseSink.start(options.clickhouse, {
        onError: (message) => logger?.error({ sink: 'clickhouse', error: message }, 'clickhouse sink insert failed'),
      });
    } catch (err) {
      await file.close();
      await options.clickhouse.close();
      throw new SidecarStartError(
        `SIDECAR_CLICKHOUSE_URL: cannot create the sink's table at ${options.clickhouse.location}: ${(err as Error).message}`,
      );
    }
  }

  const counts = {
    connections: 0,
    cutConnections: 0,
    bytes: 0,
    received: 0,
    accepted: 0,
    rejected: { malformed: 0, unsupported_version: 0, too_large: 0 } as Record<RejectReason, number>,
  };
  const stats = (): SidecarStats => ({
    ...counts,
    rejected: { ...counts.rejected },
    activeConnections: drain.sockets.length,
    file: { ...file.stats },
    ...(clickhouse ? { clickhouse: { ...clickhouse.stats } } : {}),
  });

  // rejected lines are logged without their content, at most once per reason per 10 s
  const lastWarned: Partial<Record<RejectReason, number>> = {};
  const reject = (reason: RejectReason, detail: string) => {
    counts.rejected[reason] += 1;
    const now = Date.now();
    if ((lastWarned[reason] ?? 0) + 10_000 > now) return;
    lastWarned[reason] = now;
    logger?.warn({ reason, detail, rejectedSoFar: counts.rejected[reason] }, 'rejected a telemetry line');
  };

  const handler: LineHandler = {
    line(line) {
      counts.received += 1;
      // the file takes the line as it came: checked, not parsed (only ClickHouse needs the record's fields)
      const decoded = clickhouse ? decodeLine(line) : checkLine(line);
      if (decoded.kind === 'ok') {
        counts.accepted += 1;
        if (!file.write(line) && !paused) {
          paused = true;
          for (const s of drain.sockets) s.pause();
        }
        if (clickhouse && 'record' in decoded) clickhouse.add(decoded.record as SocketRecordV1);
      } else if (decoded.kind === 'malformed') {
        reject('malformed', decoded.reason);
      } else {
        reject('unsupported_version', `protocol_version ${JSON.stringify(decoded.version) ?? 'missing'}`);
      }
    },
    tooLarge(bytes) {
      counts.received += 1;
      reject('too_large', `a line of ${bytes} bytes (the limit is ${maxLineBytes})`);
    },
  };

  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    counts.connections += 1;
    drain.add(socket);
    if (paused) socket.pause();
    const splitter = new LineSplitter(maxLineBytes);
    let ended = false;
    socket.on('data', (chunk: Buffer) => {
      counts.bytes += chunk.length;
      splitter.push(chunk, handler);
    });
    socket.on('end', () => {
      // the client ended its side: everything it sent has been read. This side ends once it is in the files: the
      // socket backend takes that end (proven by its next connection) as the proof its records are stored.
      ended = true;
      splitter.end(handler);
      void file.settled().then(() => socket.end());
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      logger?.debug({ code: err.code }, 'telemetry connection error');
    });
    socket.on('close', () => {
      if (!ended) splitter.end(handler); // a cut connection: a partial last line is judged (malformed)
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new SidecarStartError(`cannot listen on ${options.socketPath}: ${err.code ?? err.message}`)),
    );
    // bind under a umask that already gives the socket its mode (no moment where others may connect)
    let previous: number | null = null;
    try {
      previous = process.umask(0o777 & ~socketMode);
    } catch {
      // umask is not available in worker threads: chmod below still applies
    }
    try {
      server.listen(options.socketPath, () => resolve());
    } finally {
      if (previous !== null) process.umask(previous);
    }
  });
  chmodSync(options.socketPath, socketMode);

  const registry = sidecarRegistry(stats);
  let metricsServer: http.Server | null = null;
  let metricsPort: number | null = null;
  if (options.metricsPort !== null) {
    try {
      metricsServer = await serveMetrics(registry, options.metricsHost ?? '127.0.0.1', options.metricsPort ?? 9464);
      metricsPort = (metricsServer.address() as net.AddressInfo).port;
    } catch (err) {
      server.close();
      await file.close();
      await clickhouse?.close();
      throw new SidecarStartError(
        `cannot serve /metrics on port ${options.metricsPort ?? 9464}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (RUNTRACE_SIDECAR_METRICS_PORT)`,
      );
    }
  }

  let closing: Promise<void> | null = null;
  const close = async () => {
    // 1. goodbye: end our side of every connection, whose client then stops writing and ends its side after what
    // it already wrote; read until then. The listener stays meanwhile: a client proves the goodbye with a new
    // connection (SocketDrain). 2. stop accepting (libuv removes the socket file); 3. flush.
    const cut = setTimeout(() => {
      for (const s of drain.sockets) {
        counts.cutConnections += 1;
        s.destroy();
      }
    }, drainTimeoutMs);
    await drain.drain();
    clearTimeout(cut);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    file.flush();
    await file.close();
    await clickhouse?.close();
    if (metricsServer) {
      const m = metricsServer;
      await new Promise<void>((resolve) => {
        m.close(() => resolve());
        m.closeAllConnections();
      });
    }
  };

  return {
    socketPath: options.socketPath,
    metricsPort,
    registry,
    recovered: file.recovered,
    stats,
    close() {
      closing ??= close();
      return closing;
    },
  };
}
