import { createServer, type Socket, connect } from 'node:net';

export interface DroppingProxy {
  /** e.g. `http://127.0.0.1:41235`: the browser loads the dashboard and calls the api through it. */
  url: string;
  /** Destroys every open connection, as a network failure would (subscriptions included); returns how many. */
  dropAll(): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of the api process: the api runs in a process of its own, so a forced reconnect is made here,
 * between the browser and the api, by cutting the connections the browser holds.
 */
export async function startDroppingProxy(targetPort: number): Promise<DroppingProxy> {
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      open.add(from);
      from.pipe(to);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        open.delete(from);
        to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    dropAll() {
      const n = open.size / 2;
      for (const socket of open) socket.destroy();
      open.clear();
      return n;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
