import type { AddressInfo, Socket } from 'node:net';
import { buildServer, type ServerOptions } from '@runtrace/api';
import { createTestRuntime, type DatabaseTarget, type TestRuntime } from '@runtrace/core/testing';
import { createRuntraceClient, type RuntraceClient, type RuntraceClientOptions } from '../create-runtrace-client.ts';
import { isTRPCClientError } from '../errors.ts';

export interface TestApi {
  /** The api's base URL, e.g. `http://127.0.0.1:41234` (tRPC at `${url}/trpc`). */
  url: string;
  /** The runtime behind the server: its managers, auth and database, for seeding and checking. */
  runtime: TestRuntime;
  /** A typed client over real HTTP; without a key the default organization applies. */
  client(apiKey?: string, options?: Omit<RuntraceClientOptions, 'url' | 'apiKey'>): RuntraceClient;
  /** The first column of the first row of a query run straight on the database. */
  scalar(query: string): Promise<unknown>;
  /** Runs a `select count(*) …` (or any one-number query) straight on the database. */
  count(query: string): Promise<number>;
  /** Server-Sent-Event requests (subscriptions) the server has received so far, with their Last-Event-ID. */
  sseRequests: { url: string; lastEventId: string | undefined }[];
  /** Subscription connections open right now. */
  openStreams(): number;
  /** Destroys every open subscription connection (as a network failure would); returns how many. */
  dropStreams(): number;
  /** Stops the server, closes the runtime and drops its scratch database. */
  close(): Promise<void>;
}

/**
 * Starts the real api (Fastify + tRPC) on 127.0.0.1, a free port, over a fresh database of `target`.
 * `env` overrides configuration as environment variables would, e.g. `{ RUNTRACE_AUTH: 'required' }`.
 */
export async function startApi(
  target: DatabaseTarget,
  env: Record<string, string> = {},
  options: ServerOptions = {},
): Promise<TestApi> {
  const runtime = await createTestRuntime(target, env);
  let app: Awaited<ReturnType<typeof buildServer>>;
  const sseRequests: TestApi['sseRequests'] = [];
  const sseSockets = new Set<Socket>();
  try {
    app = await buildServer(runtime, options);
    app.server.on('request', (req, res) => {
      if (!String(req.headers.accept ?? '').includes('text/event-stream')) return;
      const header = req.headers['last-event-id'];
      sseRequests.push({ url: req.url ?? '', lastEventId: Array.isArray(header) ? header[0] : header });
      const socket = req.socket;
      sseSockets.add(socket);
      // Only while the stream is open: the connection may then carry other requests (keep-alive).
      res.once('close', () => sseSockets.delete(socket));
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
  } catch (err) {
    await runtime.dispose();
    throw err;
  }
  const { port } = app.server.address() as AddressInfo;
  const scalar = async (query: string) => {
    const result = (await runtime.database.db.execute(query)) as unknown;
    // postgres.js answers an array of rows, PGlite `{ rows }`.
    const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Record<string, unknown>[];
    return rows[0] ? Object.values(rows[0])[0] : undefined;
  };
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    runtime,
    client: (apiKey, options) => createRuntraceClient({ ...options, url, apiKey }),
    scalar,
    sseRequests,
    openStreams: () => sseSockets.size,
    dropStreams() {
      const n = sseSockets.size;
      for (const socket of sseSockets) socket.destroy();
      sseSockets.clear();
      return n;
    },
    async count(query: string) {
      return Number(await scalar(query));
    },
    async close() {
      await app.close();
      await runtime.dispose();
    },
  };
}

/** What a failed call answered: the tRPC code, HTTP status, field and message. Throws if the call succeeded. */
export interface CallError {
  code: string;
  httpStatus: number;
  field: string | null;
  message: string;
  stack: string | undefined;
}

export async function callError(call: Promise<unknown> | (() => Promise<unknown>)): Promise<CallError> {
  let value: unknown;
  try {
    value = await (typeof call === 'function' ? call() : call);
  } catch (err) {
    if (!isTRPCClientError(err)) throw err;
    const data = err.data as
      | { code?: string; httpStatus?: number; field?: string | null; stack?: string }
      | null
      | undefined;
    return {
      code: data?.code ?? 'UNKNOWN',
      httpStatus: data?.httpStatus ?? 0,
      field: data?.field ?? null,
      message: err.message,
      stack: data?.stack,
    };
  }
  throw new Error(`expected the call to fail, but it returned ${JSON.stringify(value)?.slice(0, 300)}`);
}
