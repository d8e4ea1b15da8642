import { statSync } from 'node:fs';
import net from 'node:net';
import type { Actor } from '../../actor.ts';
import { afterThisTurn } from '../after-this-turn.ts';
import type { BackendStats, OrganizationStats, ProviderTraceBackend } from '../backend.ts';
import type { ProviderTrace } from '../provider-trace.ts';
import { encodeTraceRecord, nowEpochMs } from '../socket-protocol.ts';
import { Tally } from '../tally.ts';

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
   * A connection is ended (and the next one opened) once it has carried this many records, or when the queue is
   * empty: its end is the point where its records become known to be stored. Fewer means a smaller `possiblyLost`
   * after a crash, and more connections. @default 1000
   */
  checkpointRecords?: number;
  /**
   * How long the connection after a checkpoint must stay up (no reset) before the checkpoint's records count as
   * stored: a crashed sidecar's listener resets connections within microseconds. @default 100
   */
  confirmAfterMs?: number;
  /**
   * After a goodbye (the sidecar ending first: a graceful stop), how long a probe connection waits for the goodbye
   * that proves the drained records were stored; without it they count as possibly lost. @default 1000
   */
  goodbyeWaitMs?: number;
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
   * Records that may not have reached the sidecar's files: those of failed writes, plus every record written on a
   * connection that ended without the proof of storage (see the class comment). Never re-sent: at most once.
   * An upper bound: every record lost in a crash is counted here.
   */
  possiblyLost: number;
  /** Records written whose storage is not proven yet (they end up stored or in `possiblyLost`). */
  unconfirmed: number;
  connected: boolean;
}

/** One connection to the sidecar and what it carried. */
interface Conn {
  readonly socket: net.Socket;
  /** The socket file the connection went to (see `#identity`): a restarted sidecar has a new one. */
  readonly identity: string | null;
  connected: boolean;
  closed: boolean;
  /** Records handed to `write` on this connection. */
  sent: number;
  /** Records the kernel took on this connection, not yet known to be stored. */
  readonly unconfirmed: Tally;
  /** This side ended first (a checkpoint, or close()). */
  weEnded: boolean;
  peerEnded: boolean;
  /** The sidecar ended first: its graceful stop. */
  goodbye: boolean;
  /** A probe after a goodbye: carries no records. */
  silent: boolean;
}

/** A closed connection's records, waiting for the next connection to prove they were stored. */
interface Pending {
  readonly records: Tally;
  readonly identity: string | null;
  /** `checkpoint`: we ended and the sidecar ended after storing; `goodbye`: the sidecar ended first. */
  readonly kind: 'checkpoint' | 'goodbye';
}

interface Chunk {
  records: number;
  bytes: number;
  orgs: Tally;
  conn: Conn;
}

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
  readonly #maxRecords: number;
  readonly #maxBytes: number;
  readonly #chunkBytes: number;
  readonly #backoffInitial: number;
  readonly #backoffMax: number;
  readonly #closeTimeout: number;
  readonly #checkpointRecords: number;
  readonly #confirmAfter: number;
  readonly #goodbyeWait: number;
  readonly #onStatus: (status: { connected: boolean; error?: string }) => void;
  readonly #now: () => number;

  /** Encoded lines and their organizations; `#head` is the oldest (a moving index: dropping and sending are O(1)). */
  #queue: (Buffer | undefined)[] = [];
  #orgs: (string | undefined)[] = [];
  #head = 0;
  #queuedBytes = 0;

  #conn: Conn | null = null;
  #state: 'idle' | 'connecting' | 'open' | 'ending' | 'backoff' = 'idle';
  #pending: Pending | null = null;
  /** The socket file of a sidecar that said goodbye: nothing more is written to it. */
  #leaving: string | null = null;
  #proofTimer: NodeJS.Timeout | null = null;
  #lastError: string | undefined;
  #everConnected = false;
  /** Whether the last status told was "connected" (null before the first), so each change is told once. */
  #up: boolean | null = null;
  #backoff: number;
  #timer: NodeJS.Timeout | null = null;
  #inFlight: Chunk[] = [];
  #inFlightRecords = 0;

  /** Writes after the caller's synchronous burst: the caller pays no syscall, and its lines share one write. */
  readonly #schedulePump = afterThisTurn(() => this.#pump());
  #closed = false;
  #closing: Promise<void> | null = null;
  #onIdle: (() => void) | null = null;

  #accepted = 0;
  #written = 0;
  #writeFailed = 0;
  readonly #possiblyLost = new Tally();
  readonly #dropped = new Tally();
  #reconnects = 0;

  constructor(options: SocketBackendOptions) {
    this.socketPath = options.socketPath;
    this.#maxRecords = options.maxRecords ?? 10_000;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.#chunkBytes = options.chunkBytes ?? 256 * 1024;
    this.#backoffInitial = options.backoffInitialMs ?? 50;
    this.#backoffMax = options.backoffMaxMs ?? 5000;
    this.#closeTimeout = options.closeTimeoutMs ?? 5000;
    this.#checkpointRecords = options.checkpointRecords ?? 1000;
    this.#confirmAfter = options.confirmAfterMs ?? 100;
    this.#goodbyeWait = options.goodbyeWaitMs ?? 1000;
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
  enqueue(actor: Actor, trace: ProviderTrace): void {
    this.#accepted += 1;
    const org = actor.organizationId;
    if (this.#closed) {
      this.#dropped.add(org);
      return;
    }
    let line: Buffer;
    try {
      line = Buffer.from(encodeTraceRecord(trace, this.#now()), 'utf8');
    } catch {
      // a value JSON cannot encode (a BigInt, a cycle): the record cannot be sent
      this.#dropped.add(org);
      return;
    }
    this.#push(line, org);
    if (this.#state === 'open') this.#schedulePump();
    else if (this.#state === 'idle') this.#connect();
  }

  stats(): BackendStats {
    return {
      queueDepth: this.#queue.length - this.#head + this.#inFlightRecords,
      queueBytes: this.#queuedBytes,
      dropped: this.#dropped.total,
      reconnects: this.#reconnects,
      possiblyLost: this.#possiblyLost.total,
    };
  }

  statsFor(organizationId: string): OrganizationStats {
    return { dropped: this.#dropped.of(organizationId), possiblyLost: this.#possiblyLost.of(organizationId) };
  }

  deliveryStats(): SocketDeliveryStats {
    return {
      ...this.stats(),
      accepted: this.#accepted,
      written: this.#written,
      writeFailed: this.#writeFailed,
      possiblyLost: this.#possiblyLost.total,
      unconfirmed: (this.#conn?.unconfirmed.total ?? 0) + (this.#pending?.records.total ?? 0),
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
        for (let i = this.#head; i < this.#queue.length; i++) this.#dropped.add(this.#orgs[i] as string);
        this.#queue = [];
        this.#orgs = [];
        this.#head = 0;
        this.#queuedBytes = 0;
        const conn = this.#conn;
        if (!conn) {
          this.#losePending();
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
      this.#head === this.#queue.length &&
      this.#inFlightRecords === 0 &&
      (this.#conn?.unconfirmed.total ?? 0) === 0 &&
      this.#pending === null
    );
  }

  /**
   * The socket file's identity: a restarted sidecar binds a new file, so a connection that proves the storage of an
   * earlier one must reach the same file. Unknown (null) proves nothing.
   */
  #identity(): string | null {
    try {
      const s = statSync(this.socketPath, { bigint: true });
      return `${s.dev}:${s.ino}:${s.birthtimeNs}:${s.ctimeNs}`;
    } catch {
      return null;
    }
  }

  #push(line: Buffer, org: string): void {
    if (line.length > this.#maxBytes) {
      this.#dropped.add(org);
      return;
    }
    while (this.#queue.length - this.#head >= this.#maxRecords || this.#queuedBytes + line.length > this.#maxBytes) {
      const oldest = this.#queue[this.#head];
      this.#dropped.add(this.#orgs[this.#head] as string);
      this.#queue[this.#head] = undefined;
      this.#orgs[this.#head] = undefined;
      this.#head += 1;
      this.#queuedBytes -= oldest?.length ?? 0;
    }
    if (this.#head > 4096 && this.#head * 2 >= this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#orgs = this.#orgs.slice(this.#head);
      this.#head = 0;
    }
    this.#queue.push(line);
    this.#orgs.push(org);
    this.#queuedBytes += line.length;
  }

  #losePending(): void {
    if (this.#pending) this.#possiblyLost.addAll(this.#pending.records);
    this.#pending = null;
  }

  #connect(): void {
    const identity = this.#identity();
    // after a goodbye, the connection proving it carries nothing: that sidecar is stopping
    const probe = this.#pending?.kind === 'goodbye' && identity !== null && identity === this.#pending.identity;
    if (identity !== null && identity === this.#leaving && !probe) {
      // the sidecar there is stopping: wait for the next one
      this.#retryLater();
      return;
    }
    this.#state = 'connecting';
    const socket = net.createConnection({ path: this.socketPath });
    const conn: Conn = {
      socket,
      identity,
      connected: false,
      closed: false,
      sent: 0,
      unconfirmed: new Tally(),
      weEnded: false,
      peerEnded: false,
      goodbye: false,
      silent: probe,
    };
    this.#conn = conn;
    socket.on('connect', () => this.#onConnect(conn));
    // the sidecar sends nothing in v1; reading lets us see its end
    socket.on('data', () => {});
    socket.on('end', () => {
      conn.peerEnded = true;
      if (!conn.weEnded) conn.goodbye = true;
      // Node ends this side after the pending writes (allowHalfOpen is off); nothing more is written
      if (this.#conn === conn && this.#state === 'open') this.#state = 'ending';
    });
    socket.on('drain', () => this.#pump());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.#lastError = err.code ?? err.name;
    });
    socket.on('close', (hadError) => this.#onClose(conn, hadError));
  }

  #onConnect(conn: Conn): void {
    conn.connected = true;
    this.#state = 'open';
    this.#backoff = this.#backoffInitial;
    if (this.#everConnected) this.#reconnects += 1;
    this.#everConnected = true;
    this.#lastError = undefined;
    this.#tell(true);
    const pending = this.#pending;
    if (pending && (pending.identity === null || pending.identity !== conn.identity)) {
      this.#losePending(); // another sidecar answers: the one that had the records is gone
      conn.silent = false;
    } else if (pending?.kind === 'checkpoint') {
      this.#proofTimer = setTimeout(() => {
        this.#proofTimer = null;
        if (this.#pending !== pending || conn.closed) return;
        this.#pending = null; // the sidecar outlived the checkpoint: stored
        this.#progress();
      }, this.#confirmAfter);
      this.#proofTimer.unref();
    } else if (pending) {
      this.#proofTimer = setTimeout(() => {
        this.#proofTimer = null;
        if (this.#pending !== pending || conn.closed) return;
        // no goodbye: that end was not a graceful stop after all; count, and use this sidecar again
        this.#losePending();
        this.#leaving = null;
        conn.silent = false;
        this.#progress();
      }, this.#goodbyeWait);
      this.#proofTimer.unref();
    }
    this.#progress();
  }

  #onClose(conn: Conn, hadError: boolean): void {
    conn.closed = true;
    if (this.#conn !== conn) return;
    this.#conn = null;
    if (this.#proofTimer) clearTimeout(this.#proofTimer);
    this.#proofTimer = null;
    // 1. what this connection proves about the previous one's records
    const pending = this.#pending;
    this.#pending = null;
    if (pending) {
      const proves =
        conn.connected && !hadError && conn.identity === pending.identity && (pending.kind === 'checkpoint' || conn.goodbye);
      if (!proves) this.#possiblyLost.addAll(pending.records);
    }
    // 2. this connection's own records wait for the next one's proof, or count now
    if (conn.unconfirmed.total > 0) {
      if (conn.connected && !hadError && conn.peerEnded) {
        this.#pending = { records: conn.unconfirmed, identity: conn.identity, kind: conn.goodbye ? 'goodbye' : 'checkpoint' };
      } else {
        this.#possiblyLost.addAll(conn.unconfirmed);
      }
    }
    if (conn.goodbye && !hadError) this.#leaving = conn.identity;
    this.#tell(false);
    if (this.#closed && this.#onIdle === null) {
      this.#losePending(); // close() gave up waiting for the proof
      this.#state = 'idle';
      return;
    }
    if (this.#pending) {
      this.#connect(); // the proof comes from the next connection, at once
      return;
    }
    if (this.#head === this.#queue.length) {
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
      this.#pending === null &&
      this.#inFlightRecords === 0 &&
      conn.unconfirmed.total > 0 &&
      (this.#head === this.#queue.length || conn.sent >= this.#checkpointRecords)
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
    if (this.#head < this.#queue.length) socket.ref();
    // at a checkpoint's size, stop writing so the connection can end (unless a proof is still pending)
    while (
      this.#head < this.#queue.length &&
      !socket.writableNeedDrain &&
      (this.#pending !== null || conn.sent < this.#checkpointRecords)
    ) {
      let end = this.#head;
      let bytes = 0;
      while (end < this.#queue.length) {
        const size = (this.#queue[end] as Buffer).length;
        if (end > this.#head && bytes + size > this.#chunkBytes) break;
        bytes += size;
        end += 1;
      }
      const parts = this.#queue.slice(this.#head, end) as Buffer[];
      const orgs = new Tally();
      for (let i = this.#head; i < end; i++) orgs.add(this.#orgs[i] as string);
      this.#queue.fill(undefined, this.#head, end);
      this.#orgs.fill(undefined, this.#head, end);
      this.#head = end;
      this.#queuedBytes -= bytes;
      if (this.#head === this.#queue.length) {
        this.#queue = [];
        this.#orgs = [];
        this.#head = 0;
      }
      const chunk: Chunk = { records: parts.length, bytes, orgs, conn };
      this.#inFlight.push(chunk);
      this.#inFlightRecords += chunk.records;
      conn.sent += chunk.records;
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
      this.#possiblyLost.addAll(chunk.orgs);
    } else {
      this.#written += chunk.records;
      // taken by the kernel: stored only once the connection's end is proven (a closed one proves nothing more)
      if (chunk.conn.closed) this.#possiblyLost.addAll(chunk.orgs);
      else chunk.conn.unconfirmed.addAll(chunk.orgs);
    }
    this.#progress();
  }
}
