import { statSync } from 'node:fs';
import net from 'node:net';
import { Tally } from '../../tally.ts';

/** One connection to the sidecar and what it carried. */
export interface Conn {
  readonly socket: net.Socket;
  /** The socket file the connection went to (see {@link socketIdentity}): a restarted sidecar has a new one. */
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

/** What the backend hears of a connection; one object serves all of them. */
export interface ConnectionEvents {
  connect(conn: Conn): void;
  /** The sidecar ended its side (`conn.peerEnded`, and `conn.goodbye` if it ended first, are set already). */
  peerEnd(conn: Conn): void;
  drain(): void;
  /** An error's code (never a payload), for the next status. */
  error(code: string): void;
  close(conn: Conn, hadError: boolean): void;
}

/**
 * The socket file's identity: a restarted sidecar binds a new file, so a connection that proves the storage of an
 * earlier one must reach the same file. Unknown (null) proves nothing.
 */
export function socketIdentity(socketPath: string): string | null {
  try {
    const s = statSync(socketPath, { bigint: true });
    return `${s.dev}:${s.ino}:${s.birthtimeNs}:${s.ctimeNs}`;
  } catch {
    return null;
  }
}

/** Connects to the sidecar at `socketPath` (whose identity was just read) and reports to `events`. */
export function openConnection(
  socketPath: string,
  identity: string | null,
  silent: boolean,
  events: ConnectionEvents,
): Conn {
  const socket = net.createConnection({ path: socketPath });
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
    silent,
  };
  socket.on('connect', () => events.connect(conn));
  // the sidecar sends nothing in v1; reading lets us see its end
  socket.on('data', () => {});
  socket.on('end', () => {
    conn.peerEnded = true;
    if (!conn.weEnded) conn.goodbye = true;
    events.peerEnd(conn);
  });
  socket.on('drain', () => events.drain());
  socket.on('error', (err: NodeJS.ErrnoException) => events.error(err.code ?? err.name));
  socket.on('close', (hadError) => events.close(conn, hadError));
  return conn;
}
