import { Tally } from '../../tally.ts';
import type { Conn } from './connection.ts';

/** A closed connection's records, waiting for the next connection to prove they were stored. */
interface Pending {
  readonly records: Tally;
  readonly identity: string | null;
  /** `checkpoint`: we ended and the sidecar ended after storing; `goodbye`: the sidecar ended first. */
  readonly kind: 'checkpoint' | 'goodbye';
}

/**
 * The socket backend's proof of storage (see SocketProviderTraceBackend): which closed connection's records wait
 * for the next connection's proof, which sidecar is stopping, and every record that may have been lost.
 */
export class Checkpoints {
  /** Records that may not have reached the sidecar's files, per organization. */
  readonly possiblyLost = new Tally();
  #pending: Pending | null = null;
  /** The socket file of a sidecar that said goodbye: nothing more is written to it. */
  #leaving: string | null = null;
  #proofTimer: NodeJS.Timeout | null = null;

  constructor(
    /** How long the connection after a checkpoint must stay up before the checkpoint's records count as stored. */
    readonly confirmAfterMs: number,
    /** How long a probe after a goodbye waits for the goodbye that proves the drained records were stored. */
    readonly goodbyeWaitMs: number,
  ) {}

  /** Whether a closed connection's records still wait for their proof. */
  get waiting(): boolean {
    return this.#pending !== null;
  }

  /** How many records wait for their proof. */
  get unproven(): number {
    return this.#pending?.records.total ?? 0;
  }

  /** Whether a connection to `identity` is the probe after a goodbye: that sidecar is stopping, it carries nothing. */
  isProbe(identity: string | null): boolean {
    return this.#pending?.kind === 'goodbye' && identity !== null && identity === this.#pending.identity;
  }

  /** Whether the sidecar at `identity` said goodbye: wait for the next one. */
  isLeaving(identity: string | null): boolean {
    return identity !== null && identity === this.#leaving;
  }

  /** Counts the waiting records as possibly lost (their proof will not come). */
  lose(): void {
    if (this.#pending) this.possiblyLost.addAll(this.#pending.records);
    this.#pending = null;
  }

  /** A connection came up: starts proving the waiting records with it; `progress` runs when a proof settles. */
  connected(conn: Conn, progress: () => void): void {
    const pending = this.#pending;
    if (pending && (pending.identity === null || pending.identity !== conn.identity)) {
      this.lose(); // another sidecar answers: the one that had the records is gone
      conn.silent = false;
    } else if (pending?.kind === 'checkpoint') {
      this.#proofTimer = setTimeout(() => {
        this.#proofTimer = null;
        if (this.#pending !== pending || conn.closed) return;
        this.#pending = null; // the sidecar outlived the checkpoint: stored
        progress();
      }, this.confirmAfterMs);
      this.#proofTimer.unref();
    } else if (pending) {
      this.#proofTimer = setTimeout(() => {
        this.#proofTimer = null;
        if (this.#pending !== pending || conn.closed) return;
        // no goodbye: that end was not a graceful stop after all; count, and use this sidecar again
        this.lose();
        this.#leaving = null;
        conn.silent = false;
        progress();
      }, this.goodbyeWaitMs);
      this.#proofTimer.unref();
    }
  }

  /** The current connection closed: what it proves about the waiting records, and its own records wait or count. */
  closed(conn: Conn, hadError: boolean): void {
    if (this.#proofTimer) clearTimeout(this.#proofTimer);
    this.#proofTimer = null;
    // 1. what this connection proves about the previous one's records
    const pending = this.#pending;
    this.#pending = null;
    if (pending) {
      const proves =
        conn.connected &&
        !hadError &&
        conn.identity === pending.identity &&
        (pending.kind === 'checkpoint' || conn.goodbye);
      if (!proves) this.possiblyLost.addAll(pending.records);
    }
    // 2. this connection's own records wait for the next one's proof, or count now
    if (conn.unconfirmed.total > 0) {
      if (conn.connected && !hadError && conn.peerEnded) {
        this.#pending = {
          records: conn.unconfirmed,
          identity: conn.identity,
          kind: conn.goodbye ? 'goodbye' : 'checkpoint',
        };
      } else {
        this.possiblyLost.addAll(conn.unconfirmed);
      }
    }
    if (conn.goodbye && !hadError) this.#leaving = conn.identity;
  }
}
