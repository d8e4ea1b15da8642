import type net from 'node:net';

export interface SocketDrainOptions {
  /** Resolves once everything read so far from any connection is in the receiver's store. */
  settled: () => Promise<void>;
  /** How long the listener stays after the last connection closed, for clients proving the goodbye. @default 200 */
  lingerMs?: number;
}

/**
 * The receiver's side of a graceful stop in protocol v1, which has no acknowledgement. The socket backend treats a
 * connection's records as delivered only when a later connection to the same listener proves the receiver outlived
 * storing them: a goodbye (the receiver ending its side) on a connection accepted AFTER the earlier one closed. So the
 * listener stays open while draining: connections accepted meanwhile are held, and told goodbye only once every
 * older connection has closed and the store has settled.
 */
export class SocketDrain {
  readonly #settled: () => Promise<void>;
  readonly #lingerMs: number;
  /** Connections served (before the drain) or told goodbye (during it). */
  readonly #open = new Set<net.Socket>();
  /** Connections accepted during the drain, waiting for every older one to close. */
  readonly #held = new Set<net.Socket>();
  #draining = false;
  #releasing = false;
  #linger: NodeJS.Timeout | null = null;
  #done: (() => void) | null = null;

  constructor(options: SocketDrainOptions) {
    this.#settled = options.settled;
    this.#lingerMs = options.lingerMs ?? 200;
  }

  /** Every accepted connection goes through here. */
  add(socket: net.Socket): void {
    socket.once('close', () => {
      this.#open.delete(socket);
      this.#held.delete(socket);
      this.#check();
    });
    if (this.#draining) this.#held.add(socket);
    else this.#open.add(socket);
    this.#check();
  }

  /** Every connection not closed yet. */
  get sockets(): net.Socket[] {
    return [...this.#open, ...this.#held];
  }

  /** Says goodbye to every connection; resolves when all have closed and none came for `lingerMs`. */
  drain(): Promise<void> {
    this.#draining = true;
    for (const s of this.#open) s.end();
    return new Promise<void>((resolve) => {
      this.#done = resolve;
      this.#check();
    });
  }

  #check(): void {
    if (!this.#draining) return;
    if (this.#linger) clearTimeout(this.#linger);
    this.#linger = null;
    if (this.#open.size > 0 || this.#releasing) return;
    if (this.#held.size > 0) {
      this.#releasing = true;
      void this.#settled().then(() => {
        this.#releasing = false;
        for (const s of this.#held) {
          this.#open.add(s);
          s.end();
        }
        this.#held.clear();
        this.#check();
      });
      return;
    }
    this.#linger = setTimeout(() => this.#done?.(), this.#lingerMs);
  }
}
