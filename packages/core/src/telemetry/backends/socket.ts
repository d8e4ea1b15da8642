import type { Actor } from '../../actor.ts';
import { afterThisTurn } from '../after-this-turn.ts';
import type { BackendFactory, BackendStats, OrganizationStats, ProviderTraceBackend } from '../backend.ts';
import type { ProviderTrace } from '../provider-trace.ts';
import { nowEpochMs, traceRecordParts } from '../socket-protocol.ts';
import { TimedTally } from '../tally.ts';
import { Checkpoints } from './socket/checkpoints.ts';
import { type Conn, type ConnectionEvents, openConnection, socketIdentity } from './socket/connection.ts';
import { type Chunk, LineQueue } from './socket/line-queue.ts';
import type { SocketBackendOptions, SocketBackendSettings, SocketDeliveryStats } from './socket/options.ts';

export type { SocketBackendOptions, SocketBackendSettings, SocketDeliveryStats };

/**
 * Provider traces as protocol-v1 NDJSON lines to a sidecar over a Unix socket (letta-behavior §7), improved:
 * a persistent connection carries many lines; a bounded in-memory queue (records and bytes) absorbs sidecar
 * restarts, with reconnects under exponential backoff; overflow drops the oldest record and counts it. The caller
 * never waits on the socket: `enqueue` encodes the line and returns, `create` resolves null at once.
 *
 * Delivery is at most once, and every record a crash may have lost is counted (`possiblyLost`). Protocol v1 has no
 * acknowledgement, and a crashed process's connections end just like a live one's, so storage is proven by
 * ordering alone (the sidecar, apps/sidecar, ends a connection only after storing what it read from it):
 * - checkpoint: after `checkpointRecords` records, or when the queue is empty, this side ends the connection; the
 *   sidecar stores what it read and ends its side. Its records are stored once the NEXT connection, to the same
 *   socket file, stays up `confirmAfterMs` or ends without a reset: the sidecar outlived the earlier end.
 * - goodbye (SIGTERM): the sidecar ends first and reads until this side's end. A silent probe connection then
 *   waits for the sidecar's goodbye on it, which the sidecar sends only after every older connection closed and its
 *   files settled (see SocketDrain); nothing more is written to that sidecar, and the queue waits for the next.
 * Anything else (a reset, a refused or different sidecar on the next connect, a close() cut short) counts the
 * connection's records in `possiblyLost`. Write-only: no reads.
 */
export class SocketProviderTraceBackend implements ProviderTraceBackend {
  readonly name = 'socket' as const;
  readonly socketPath: string;
  readonly #chunkBytes: number;
  readonly #backoffInitial: number;
  readonly #backoffMax: number;
  readonly #closeTimeout: number;
  readonly #checkpointRecords: number;
  readonly #onStatus: (status: { connected: boolean; error?: string }) => void;
  readonly #now: () => number;

  readonly #dropped = new TimedTally();
  /** Encoded lines and their organizations, waiting for the socket. */
  readonly #queue: LineQueue;
  readonly #proof: Checkpoints;

  #conn: Conn | null = null;
  #state: 'idle' | 'connecting' | 'open' | 'ending' | 'backoff' = 'idle';
  #lastError: string | undefined;
  #everConnected = false;
  /** Whether the last status told was "connected" (null before the first), so each change is told once. */
  #up: boolean | null = null;
  #backoff: number;
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Chunk<Conn>[] = [];
  #inFlightRecords = 0;

  /** Writes after the caller's synchronous burst: the caller pays no syscall, and its lines share one write. */
  readonly #schedulePump = afterThisTurn(() => this.#pump());
  readonly #progressNow = () => this.#progress();
  #closed = false;
  #closing: Promise<void> | null = null;
  #onIdle: (() => void) | null = null;

  #accepted = 0;
  #written = 0;
  #writeFailed = 0;
  #reconnects = 0;
  readonly #events: ConnectionEvents = {
    connect: (conn) => this.#onConnect(conn),
    peerEnd: (conn) => {
      // Node ends this side after the pending writes (allowHalfOpen is off); nothing more is written
      if (this.#conn === conn && this.#state === 'open') this.#state = 'ending';
    },
    drain: () => this.#pump(),
    error: (code) => {
      this.#lastError = code;
    },
    close: (conn, hadError) => this.#onClose(conn, hadError),
  };

  constructor(options: SocketBackendOptions) {
    this.socketPath = options.socketPath;
    this.#chunkBytes = options.chunkBytes ?? 256 * 1024;
    this.#queue = new LineQueue(
      options.maxRecords ?? 10_000,
      options.maxBytes ?? 64 * 1024 * 1024,
      this.#dropped,
      this.#chunkBytes,
    );
    this.#backoffInitial = options.backoffInitialMs ?? 50;
    this.#backoffMax = options.backoffMaxMs ?? 5000;
    this.#closeTimeout = options.closeTimeoutMs ?? 5000;
    this.#checkpointRecords = options.checkpointRecords ?? 1000;
    this.#proof = new Checkpoints(options.confirmAfterMs ?? 100, options.goodbyeWaitMs ?? 1000);
    this.#onStatus = options.onStatus ?? (() => {});
    this.#now = options.now ?? nowEpochMs;
    this.#backoff = this.#backoffInitial;
  }

  /** Queues the trace and resolves null at once: a sidecar gives no durability promise to wait for. */
  create(actor: Actor, trace: ProviderTrace): Promise<null> {
    return Promise.resolve(this.createNow(actor, trace));
  }

  /** {@link create} answered on return: the TelemetryManager's path (see ProviderTraceBackend.createNow). */
  createNow(actor: Actor, trace: ProviderTrace): null {
    this.enqueue(actor, trace);
    return null;
  }

  /** Builds and encodes the v1 line now (its timestamp is now), queues it, returns. Never throws. */
  enqueue(actor: Actor, trace: ProviderTrace): void {
    this.#accepted += 1;
    const org = actor.organizationId;
    if (this.#closed) {
      this.#dropped.add(org);
      return;
    }
    let pieces: string[];
    try {
      pieces = traceRecordParts(trace, this.#now());
    } catch {
      // a value JSON cannot encode (a BigInt, a cycle): the record cannot be sent
      this.#dropped.add(org);
      return;
    }
    this.#queue.push(pieces, org);
    if (this.#state === 'open') this.#schedulePump();
    else if (this.#state === 'idle') this.#connect();
  }

  stats(): BackendStats {
    return {
      queueDepth: this.#queue.length + this.#inFlightRecords,
      queueBytes: this.#queue.bytes,
      dropped: this.#dropped.total,
      reconnects: this.#reconnects,
      possiblyLost: this.#proof.possiblyLost.total,
    };
  }

  statsFor(organizationId: string): OrganizationStats {
    return {
      dropped: this.#dropped.of(organizationId),
      possiblyLost: this.#proof.possiblyLost.of(organizationId),
      lastDroppedAt: this.#dropped.lastAt(organizationId),
    };
  }

  deliveryStats(): SocketDeliveryStats {
    return {
      ...this.stats(),
      accepted: this.#accepted,
      written: this.#written,
      writeFailed: this.#writeFailed,
      possiblyLost: this.#proof.possiblyLost.total,
      unconfirmed: (this.#conn?.unconfirmed.total ?? 0) + this.#proof.unproven,
      connected: this.#state === 'open',
    };
  }

  /**
   * Stops accepting, hands the queue to the sidecar (reconnecting quickly if needed) and waits for the proof that it
   * stored it, for up to `closeTimeoutMs`; what is left then is dropped (queued) or possibly lost (written), counted.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#closing = new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        this.#onIdle = null;
        if (this.#timer) clearTimeout(this.#timer);
        this.#timer = null;
        this.#queue.dropAll();
        const conn = this.#conn;
        if (!conn) {
          this.#proof.lose();
          return resolve();
        }
        const socket = conn.socket;
        socket.ref();
        const force = setTimeout(() => socket.destroy(), 1000);
        socket.once('close', () => {
          clearTimeout(force);
          resolve();
        });
        conn.weEnded = true;
        socket.end();
      };
      // a ref'd timer: the process stays alive while close() is delivering
      const deadline = setTimeout(finish, this.#closeTimeout);
      if (this.#isSettled()) return finish();
      this.#onIdle = finish;
      if (this.#state === 'backoff') {
        if (this.#timer) clearTimeout(this.#timer);
        this.#timer = null;
        this.#connect();
      } else if (this.#state === 'idle') {
        this.#connect();
      } else {
        this.#progress();
      }
    });
    return this.#closing;
  }

  #tell(connected: boolean): void {
    if (this.#up === connected) return;
    this.#up = connected;
    try {
      this.#onStatus(connected || !this.#lastError ? { connected } : { connected, error: this.#lastError });
    } catch {
      // a listener's failure is not the caller's
    }
  }

  /** Nothing queued, nothing in flight, every written record's storage proven (or counted). */
  #isSettled(): boolean {
    return (
      this.#queue.length === 0 &&
      this.#inFlightRecords === 0 &&
      (this.#conn?.unconfirmed.total ?? 0) === 0 &&
      !this.#proof.waiting
    );
  }

  #connect(): void {
    const identity = socketIdentity(this.socketPath);
    // after a goodbye, the connection proving it carries nothing: that sidecar is stopping
    const probe = this.#proof.isProbe(identity);
    if (this.#proof.isLeaving(identity) && !probe) {
      // the sidecar there is stopping: wait for the next one
      this.#retryLater();
      return;
    }
    this.#state = 'connecting';
    this.#conn = openConnection(this.socketPath, identity, probe, this.#events);
  }

  #onConnect(conn: Conn): void {
    conn.connected = true;
    this.#state = 'open';
    this.#backoff = this.#backoffInitial;
    if (this.#everConnected) this.#reconnects += 1;
    this.#everConnected = true;
    this.#lastError = undefined;
    this.#tell(true);
    this.#proof.connected(conn, this.#progressNow);
    this.#progress();
  }

  #onClose(conn: Conn, hadError: boolean): void {
    conn.closed = true;
    if (this.#conn !== conn) return;
    this.#conn = null;
    this.#proof.closed(conn, hadError);
    this.#tell(false);
    if (this.#closed && this.#onIdle === null) {
      this.#proof.lose(); // close() gave up waiting for the proof
      this.#state = 'idle';
      return;
    }
    if (this.#proof.waiting) {
      this.#connect(); // the proof comes from the next connection, at once
      return;
    }
    if (this.#queue.length === 0) {
      this.#state = 'idle'; // reconnect when something is queued
      this.#progress();
      return;
    }
    this.#retryLater();
  }

  #retryLater(): void {
    this.#state = 'backoff';
    const base = this.#closed ? Math.min(this.#backoff, 100) : this.#backoff;
    const delay = base * (0.5 + Math.random() * 0.5);
    this.#backoff = Math.min(this.#backoffMax, this.#backoff * 2);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#connect();
    }, delay);
    this.#timer.unref();
  }

  /** Pumps; ends the connection at a checkpoint; tells close() when everything is settled. */
  #progress(): void {
    this.#pump();
    const conn = this.#conn;
    if (
      conn &&
      this.#state === 'open' &&
      !this.#proof.waiting &&
      this.#inFlightRecords === 0 &&
      conn.unconfirmed.total > 0 &&
      (this.#queue.length === 0 || conn.sent >= this.#checkpointRecords)
    ) {
      this.#state = 'ending';
      conn.weEnded = true;
      conn.socket.end();
      return;
    }
    if (this.#isSettled()) {
      conn?.socket.unref();
      this.#onIdle?.();
    }
  }

  /** Coalesces queued lines into chunks and writes them while the socket takes them. */
  #pump(): void {
    const conn = this.#conn;
    if (!conn || this.#state !== 'open' || conn.silent) return;
    const socket = conn.socket;
    if (this.#queue.length > 0) socket.ref();
    // at a checkpoint's size, stop writing so the connection can end (unless a proof is still pending)
    while (
      this.#queue.length > 0 &&
      !socket.writableNeedDrain &&
      (this.#proof.waiting || conn.sent < this.#checkpointRecords)
    ) {
      const chunk = this.#queue.take(this.#chunkBytes, conn);
      this.#inFlight.push(chunk);
      this.#inFlightRecords += chunk.records;
      conn.sent += chunk.records;
      socket.write(chunk.data, (err) => this.#onWritten(chunk, err));
    }
  }

  #onWritten(chunk: Chunk<Conn>, err: Error | null | undefined): void {
    this.#inFlight.shift();
    this.#inFlightRecords -= chunk.records;
    if (err) {
      this.#writeFailed += chunk.records;
      this.#proof.possiblyLost.addAll(chunk.orgs);
    } else {
      this.#written += chunk.records;
      // taken by the kernel: stored only once the connection's end is proven (a closed one proves nothing more)
      if (chunk.conn.closed) this.#proof.possiblyLost.addAll(chunk.orgs);
      else chunk.conn.unconfirmed.addAll(chunk.orgs);
    }
    this.#progress();
  }
}

/** The socket backend as TELEMETRY_PROVIDER_TRACE_BACKEND=socket opens it (see backend-registry.ts). */
export const socketBackend = {
  writeTimeoutMs: 5000,
  open: ({ config }: { config: SocketBackendSettings }, { logger }) => {
    const log = logger.child({ backend: 'socket', socket: config.telemetrySocket });
    return new SocketProviderTraceBackend({
      socketPath: config.telemetrySocket,
      maxRecords: config.socketQueueMaxRecords,
      maxBytes: config.socketQueueMaxBytes,
      onStatus: ({ connected, error }) =>
        connected
          ? log.info('telemetry sidecar connected')
          : log.warn({ error }, 'telemetry sidecar unreachable; queueing'),
    });
  },
} satisfies BackendFactory<{ config: SocketBackendSettings }>;
