import {
  type AnyTRPCRouter,
  callTRPCProcedure,
  getTRPCErrorFromUnknown,
  getTRPCErrorShape,
  isTrackedEnvelope,
  TRPCError,
} from '@trpc/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Subscriptions over Server-Sent Events, on the wire exactly as tRPC's own SSE producer speaks (so tRPC's
 * `httpSubscriptionLink` is the client), but written straight to the socket: ONE write per event.
 *
 * Why not tRPC's fastify adapter for these: its producer pushes every event through a chain of web streams (async
 * generators, a TransformStream per line, TextEncoderStream, a Response body) and writes each line separately, so
 * a run read by many subscribers cost several cores (`pnpm bench`, streams section). Here a delivery costs one
 * JSON.stringify and one `write`.
 *
 * Everything else is tRPC's: the procedure is called with `callTRPCProcedure` (input parsing, every middleware —
 * authentication, the error mapping of trpc.ts, the subscription registry), errors are shaped by the root error
 * formatter (`getTRPCErrorShape`), values wrapped in `tracked()` carry their id, and `lastEventId` (the
 * `Last-Event-ID` header an EventSource sends when it reconnects, or the query parameter) is merged into the
 * input as tRPC does.
 *
 * Frames: `event: connected` with the client options first; `data: <json>` (+ `id: <id>` for tracked values);
 * `event: ping` comments while idle; `event: return` when the procedure's iterable ends; `event: serialized-error`
 * with the error shape when it fails (then the response ends and the client decides whether to reconnect).
 */
export interface SubscriptionServerOptions<TRouter extends AnyTRPCRouter> {
  router: TRouter;
  /** The tRPC prefix, e.g. `/trpc`. */
  prefix: string;
  createContext: (request: FastifyRequest) => unknown;
  /** Called with every error (as tRPC's onError): the server logs internal ones. */
  onError?: (opts: { error: TRPCError; path: string }) => void;
  sse: { ping: { enabled: boolean; intervalMs: number }; client: Record<string, unknown> };
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
} as const;

/** The id an EventSource sent back (header first, as tRPC reads it). */
function lastEventIdOf(request: FastifyRequest): string | null {
  const header = request.headers['last-event-id'];
  const query = request.query as Record<string, unknown>;
  const value = (Array.isArray(header) ? header[0] : header) ?? query.lastEventId ?? query['Last-Event-Id'];
  return typeof value === 'string' && value ? value : null;
}

/** Registers `GET <prefix>/<path>` for every subscription procedure of the router, ahead of tRPC's own route. */
export function registerSubscriptionRoutes<TRouter extends AnyTRPCRouter>(
  app: FastifyInstance,
  options: SubscriptionServerOptions<TRouter>,
): string[] {
  const procedures = options.router._def.procedures as Record<string, { _def: { type: string } }>;
  const paths = Object.keys(procedures).filter((path) => procedures[path]?._def.type === 'subscription');
  const frames: FrameCache = new WeakMap();
  for (const path of paths) {
    app.get(`${options.prefix}/${path}`, (request, reply) => serve(request, reply, path, options, frames));
  }
  return paths;
}

/**
 * The frame of a tracked value, by the value: a run's stream hands the SAME event object to every reader of an
 * entry (run-stream.ts), so a hundred subscribers of a run cost one serialization per event, not a hundred.
 * Values are never modified once yielded; weak keys, so a frame lives as long as its event.
 */
type FrameCache = WeakMap<object, { id: string; frame: string }>;

async function serve<TRouter extends AnyTRPCRouter>(
  request: FastifyRequest,
  reply: FastifyReply,
  path: string,
  options: SubscriptionServerOptions<TRouter>,
  frames: FrameCache,
): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  const config = options.router._def._config;
  const serialize = (value: unknown) => JSON.stringify(config.transformer.output.serialize(value));
  const abort = new AbortController();
  const { signal } = abort;
  res.once('close', () => abort.abort());

  let input: unknown;
  let ctx: unknown;
  let iterable: AsyncIterable<unknown> | null = null;
  let setupError: TRPCError | null = null;
  const lastEventId = lastEventIdOf(request);
  try {
    ctx = await options.createContext(request);
    const raw = (request.query as Record<string, unknown>).input;
    try {
      input = typeof raw === 'string' ? config.transformer.input.deserialize(JSON.parse(raw)) : undefined;
    } catch (cause) {
      throw new TRPCError({ code: 'PARSE_ERROR', message: 'The input query parameter is not JSON', cause });
    }
    if (lastEventId) {
      if (typeof input === 'object' && input !== null && !Array.isArray(input)) input = { ...input, lastEventId };
      else input ??= { lastEventId };
    }
    const data = await callTRPCProcedure({
      router: options.router,
      path,
      getRawInput: async () => input,
      ctx,
      type: 'subscription',
      signal,
      batchIndex: 0,
    });
    if (typeof data !== 'object' || data === null || !(Symbol.asyncIterator in data)) {
      throw new Error(`Subscription ${path} did not return an async iterable`);
    }
    iterable = data as AsyncIterable<unknown>;
  } catch (cause) {
    setupError = getTRPCErrorFromUnknown(cause);
  }

  const errorFrame = (error: TRPCError) => {
    options.onError?.({ error, path });
    const shape = getTRPCErrorShape({ config, error, type: 'subscription', path, input, ctx });
    return `event: serialized-error\ndata: ${serialize(shape)}\n\n`;
  };

  if (signal.aborted) return;
  res.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), ...SSE_HEADERS });
  res.write(`event: connected\ndata: ${JSON.stringify(options.sse.client)}\n\n`);
  if (setupError || !iterable) {
    res.end(errorFrame(setupError as TRPCError));
    return;
  }

  // tRPC's ping comment while idle; the timer restarts with every frame.
  let ping: ReturnType<typeof setTimeout> | undefined;
  const armPing = () => {
    if (!options.sse.ping.enabled) return;
    if (ping) ping.refresh();
    else {
      ping = setTimeout(function beat() {
        if (res.writableEnded || signal.aborted) return;
        res.write('event: ping\ndata: \n\n');
        ping = setTimeout(beat, options.sse.ping.intervalMs);
      }, options.sse.ping.intervalMs);
    }
  };
  armPing();

  // The id the client's EventSource holds (tRPC restores it after an untracked value, which clears it).
  let clientId = lastEventId && !/[\0\n\r]/.test(lastEventId) ? lastEventId : null;
  const iterator = iterable[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) {
        finished = true;
        break;
      }
      if (signal.aborted) break;
      const value = next.value;
      let frame: string;
      if (isTrackedEnvelope(value)) {
        const [id, data] = value;
        const cached = typeof data === 'object' && data !== null ? frames.get(data) : undefined;
        if (cached?.id === id) frame = cached.frame;
        else {
          frame = `data: ${serialize(data)}\nid: ${id}\n\n`;
          if (typeof data === 'object' && data !== null) frames.set(data, { id, frame });
        }
        clientId = id;
      } else if (clientId === null) {
        frame = `data: ${serialize(value)}\n\n`;
      } else {
        frame = `data: ${serialize(value)}\nid: \n\nevent: restore-id\ndata: \nid: ${clientId}\n\n`;
      }
      armPing();
      if (!res.write(frame)) {
        // A slow client: read no further until its socket drained (or it left).
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.once('drain', done);
          res.once('close', done);
        });
      }
    }
    if (finished && !signal.aborted) res.write('event: return\ndata: \n\n');
  } catch (cause) {
    finished = true;
    const aborted = signal.aborted || (cause instanceof Error && cause.name === 'AbortError');
    if (!aborted) res.write(errorFrame(getTRPCErrorFromUnknown(cause)));
  } finally {
    clearTimeout(ping);
    // The subscriber left (or the stream ended): release the procedure's reader at once.
    abort.abort();
    if (!finished) await iterator.return?.().catch(() => {});
    res.end();
  }
}
