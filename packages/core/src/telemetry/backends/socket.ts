import net from 'node:net';
import type { Actor } from '../../actor.ts';
import { afterThisTurn } from '../after-this-turn.ts';
import type { BackendStats, ProviderTraceBackend } from '../backend.ts';
import type { ProviderTrace } from '../provider-trace.ts';
import { encodeTraceRecord, nowEpochMs } from '../socket-protocol.ts';

export interface SocketBackendOptions {
  /** The sidecar's Unix socket (TELEMETRY_SOCKET, alias SOCKET_PATH). */
  socketPath: string;
  /** Most records waiting for the socket; beyond it the oldest is dropped and counted. @default 10_000 */
  maxRecords?: number;
  /** Most bytes (encoded lines) waiting for the socket; beyond it the oldest is dropped and counted. @default 64 MiB */
  maxBytes?: number;
  /** Queued lines are coalesced into writes of up to this many bytes (a single larger line goes alone). @default 256 KiB */
  chunkBytes?: number;
  /** First delay before reconnecting; doubles per failed attempt, with jitter. @default 50 */
  backoffInitialMs?: number;
  /** Longest delay between reconnect attempts. @default 5000 */
  backoffMaxMs?: number;
  /** How long `close()` keeps trying to hand the queue to the sidecar; what is left then is dropped and counted. @default 5000 */
  closeTimeoutMs?: number;
  /**
   * Protocol v1 has no acknowledgement. When a connection breaks without the sidecar's goodbye (a crash), the
   * records handed to the kernel within this many milliseconds before the break are counted in `possiblyLost`.
   * @default 1000
   */
  lossWindowMs?: number;
  /** Told when the connection comes up or goes down (for logs). Carries an error code, never a payload. */
  onStatus?: (status: { connected: boolean; error?: string }) => void;
  /** The clock of the records' `timestamp`, in fractional epoch milliseconds. @default wall clock with microseconds */
  now?: () => number;
}

/** {@link BackendStats} plus what only the socket backend knows about delivery. */
export interface SocketDeliveryStats extends BackendStats {
  /** Records taken by `create`/`enqueue` (after close too: those are dropped at once). */
  accepted: number;
  /** Records whose bytes the kernel took (the sidecar reads them unless it crashes first). */
  written: number;
  /** Records in writes the socket failed (also counted in `possiblyLost`). */
  writeFailed: number;
  /**
   * An estimate of records that may not have reached the sidecar's sinks: those of failed writes, plus those written
   * within `lossWindowMs` before a connection broke without a goodbye. Never re-sent: delivery is at most once.
   */
  possiblyLost: number;
  connected: boolean;
}

interface Chunk {
  records: number;
  bytes: number;
}

/**
 * Provider traces as protocol-v1 NDJSON lines to a sidecar over a Unix socket (letta-behavior §7), improved:
 * one persistent connection carries many lines; a bounded in-memory queue (records and bytes) absorbs sidecar
 * restarts, with reconnects under exponential backoff; overflow drops the oldest record and counts it. The caller
 * never waits on the socket: `enqueue` encodes the line and returns, `create` resolves null at once.
 *
 * Delivery: every record is written at most once. When the sidecar stops gracefully (SIGTERM) it half-closes each
 * connection and keeps reading until this side's end, so everything written before is read, and the queue waits
 * for the next sidecar: no loss, no duplicates. When the sidecar crashes, what the kernel held for it is lost
 * unseen; `possiblyLost` estimates it (see {@link SocketBackendOptions.lossWindowMs}). Write-only: no reads.
 */
export class SocketProviderTraceBackend implements ProviderTraceBackend {
  readonly name = 'socket' as const;
  readonly socketPath: string;
  readonly #maxRecords: number;
  readonly #maxBytes: number;
  readonly #chunkBytes: number;
  readonly #backoffInitial: number;
  readonly #backoffMax: number;
  readonly #closeTimeout: number;
  readonly #lossWindow: number;
  readonly #onStatus: (status: { connected: boolean; error?: string }) => void;
  readonly #now: () => number;

  /** Encoded lines; `#head` is the oldest (a moving index, so dropping and sending the oldest is O(1)). */
  #queue: (Buffer | undefined)[] = [];
  #head = 0;
  #queuedBytes = 0;

  #socket: net.Socket | null = null;
  #state: 'idle' | 'connecting' | 'open' | 'ending' | 'backoff' = 'idle';
  #peerEnded = false;
  #lastError: string | undefined;
  #everConnected = false;
  /** Whether the last status told was "connected" (null before the first), so each change is told once. */
  #up: boolean | null = null;
  #backoff: number;
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Chunk[] = [];
  #inFlightRecords = 0;
  /** Writes completed on the current connection within the loss window: [completedAt, records]. */
  #recent: [number, number][] = [];

  /** Writes after the caller's synchronous burst: the caller pays no syscall, and its lines share one write. */
  readonly #schedulePump = afterThisTurn(() => this.#pump());
  #closed = false;
  #closing: Promise<void> | null = null;
  #onIdle: (() => void) | null = null;

  #accepted = 0;
  #written = 0;
  #writeFailed = 0;
  #possiblyLost = 0;
  #dropped = 0;
  #reconnects = 0;

  constructor(options: SocketBackendOptions) {
    this.socketPath = options.socketPath;
    this.#maxRecords = options.maxRecords ?? 10_000;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.#chunkBytes = options.chunkBytes ?? 256 * 1024;
    this.#backoffInitial = options.backoffInitialMs ?? 50;
    this.#backoffMax = options.backoffMaxMs ?? 5000;
    this.#closeTimeout = options.closeTimeoutMs ?? 5000;
    this.#lossWindow = options.lossWindowMs ?? 1000;
    this.#onStatus = options.onStatus ?? (() => {});
    this.#now = options.now ?? nowEpochMs;
    this.#backoff = this.#backoffInitial;
  }

  /** Queues the trace and resolves null at once: a sidecar gives no durability promise to wait for. */
  create(actor: Actor, trace: ProviderTrace): Promise<null> {
    this.enqueue(actor, trace);
    return Promise.resolve(null);
  }

  /** Builds and encodes the v1 line now (its timestamp is now), queues it, returns. Never throws. */
  enqueue(_actor: Actor, trace: ProviderTrace): void {
    this.#accepted += 1;
    if (this.#closed) {
      this.#dropped += 1;
      return;
    }
    let line: Buffer;
    try {
      line = Buffer.from(encodeTraceRecord(trace, this.#now()), 'utf8');
    } catch {
      // a value JSON cannot encode (a BigInt, a cycle): the record cannot be sent
      this.#dropped += 1;
      return;
    }
    this.#push(line);
    if (this.#state === 'open') this.#schedulePump();
    else if (this.#state === 'idle') this.#connect();
  }

  stats(): BackendStats {
    return {
      queueDepth: this.#queue.length - this.#head + this.#inFlightRecords,
      queueBytes: this.#queuedBytes,
      dropped: this.#dropped,
      reconnects: this.#reconnects,
    };
  }

  deliveryStats(): SocketDeliveryStats {
    return {
      ...this.stats(),
      accepted: this.#accepted,
      written: this.#written,
      writeFailed: this.#writeFailed,
      possiblyLost: this.#possiblyLost,
      connected: this.#state === 'open',
    };
  }

  /**
   * Stops accepting, hands the queue to the sidecar (reconnecting quickly if needed) for up to `closeTimeoutMs`,
   * counts what is left as dropped, and ends the connection gracefully.
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
        const left = this.#queue.length - this.#head;
        this.#dropped += left;
        this.#queue = [];
        this.#head = 0;
        this.#queuedBytes = 0;
        const socket = this.#socket;
        if (!socket) return resolve();
        socket.ref();
        const force = setTimeout(() => socket.destroy(), 1000);
        socket.once('close', () => {
          clearTimeout(force);
          resolve();
        });
        socket.end();
      };
      // a ref'd timer: the process stays alive while close() is delivering
      const deadline = setTimeout(finish, this.#closeTimeout);
      if (this.#isIdle()) return finish();
      this.#onIdle = finish;
      if (this.#state === 'backoff') {
        if (this.#timer) clearTimeout(this.#timer);
        this.#timer = null;
        this.#connect();
      } else if (this.#state === 'idle') {
        this.#connect();
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

  #isIdle(): boolean {
    return this.#head === this.#queue.length && this.#inFlightRecords === 0;
  }

  #push(line: Buffer): void {
    if (line.length > this.#maxBytes) {
      this.#dropped += 1;
      return;
    }
    while (this.#queue.length - this.#head >= this.#maxRecords || this.#queuedBytes + line.length > this.#maxBytes) {
      const oldest = this.#queue[this.#head];
      this.#queue[this.#head] = undefined;
      this.#head += 1;
      this.#queuedBytes -= oldest?.length ?? 0;
      this.#dropped += 1;
    }
    if (this.#head > 4096 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#queue.push(line);
    this.#queuedBytes += line.length;
  }

  #connect(): void {
    this.#state = 'connecting';
    this.#peerEnded = false;
    const socket = net.createConnection({ path: this.socketPath });
    this.#socket = socket;
    socket.on('connect', () => {
      this.#state = 'open';
      this.#backoff = this.#backoffInitial;
      if (this.#everConnected) this.#reconnects += 1;
      this.#everConnected = true;
      this.#lastError = undefined;
      this.#tell(true);
      this.#pump();
    });
    // the sidecar sends nothing in v1; reading lets us see its goodbye (end of its side)
    socket.on('data', () => {});
    socket.on('end', () => {
      // graceful: the sidecar reads everything written until this side ends (Node ends it after pending writes)
      this.#peerEnded = true;
      if (this.#state === 'open') this.#state = 'ending';
    });
    socket.on('drain', () => this.#pump());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.#lastError = err.code ?? err.name;
    });
    socket.on('close', (hadError) => this.#onClose(socket, hadError));
  }

  #onClose(socket: net.Socket, hadError: boolean): void {
    if (this.#socket !== socket) return;
    const wasConnected = this.#state === 'open' || this.#state === 'ending';
    this.#socket = null;
    if (wasConnected && (hadError || !this.#peerEnded)) {
      const cutoff = performance.now() - this.#lossWindow;
      for (const [at, records] of this.#recent) if (at >= cutoff) this.#possiblyLost += records;
    }
    this.#recent = [];
    this.#tell(false);
    if (this.#closed && this.#onIdle === null) {
      this.#state = 'idle';
      return;
    }
    if (this.#head === this.#queue.length && !this.#closed) {
      this.#state = 'idle'; // reconnect when something is queued
      return;
    }
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

  /** Coalesces queued lines into chunks and writes them while the socket takes them. */
  #pump(): void {
    const socket = this.#socket;
    if (!socket || this.#state !== 'open') return;
    if (this.#head < this.#queue.length) socket.ref();
    while (this.#head < this.#queue.length && !socket.writableNeedDrain) {
      let end = this.#head;
      let bytes = 0;
      while (end < this.#queue.length) {
        const size = (this.#queue[end] as Buffer).length;
        if (end > this.#head && bytes + size > this.#chunkBytes) break;
        bytes += size;
        end += 1;
      }
      const parts = this.#queue.slice(this.#head, end) as Buffer[];
      this.#queue.fill(undefined, this.#head, end);
      this.#head = end;
      this.#queuedBytes -= bytes;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
      const chunk: Chunk = { records: parts.length, bytes };
      this.#inFlight.push(chunk);
      this.#inFlightRecords += chunk.records;
      socket.write(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, bytes), (err) =>
        this.#onWritten(chunk, err),
      );
    }
  }

  #onWritten(chunk: Chunk, err: Error | null | undefined): void {
    this.#inFlight.shift();
    this.#inFlightRecords -= chunk.records;
    if (err) {
      this.#writeFailed += chunk.records;
      this.#possiblyLost += chunk.records;
    } else {
      this.#written += chunk.records;
      const now = performance.now();
      this.#recent.push([now, chunk.records]);
      const cutoff = now - this.#lossWindow;
      let stale = 0;
      while (stale < this.#recent.length && (this.#recent[stale] as [number, number])[0] < cutoff) stale += 1;
      if (stale > 0) this.#recent.splice(0, stale);
    }
    if (this.#isIdle()) {
      this.#socket?.unref();
      this.#onIdle?.();
    }
  }
}
