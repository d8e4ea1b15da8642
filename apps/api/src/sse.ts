import { type AnyTRPCRouter, isTrackedEnvelope } from '@trpc/server';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientAbort, type ProcedureInvoker } from './procedure-invoker.ts';
import { SharedFrames, SseWriter } from './sse-writer.ts';

/**
 * Subscriptions over Server-Sent Events, on the wire exactly as tRPC's own SSE producer speaks (so tRPC's
 * `httpSubscriptionLink` is the client), but written straight to the socket: ONE write per event.
 *
 * Why not tRPC's fastify adapter for these: its producer pushes every event through a chain of web streams (async
 * generators, a TransformStream per line, TextEncoderStream, a Response body) and writes each line separately, so
 * a run read by many subscribers cost several cores (`pnpm bench`, streams section). Here a delivery costs one
 * JSON.stringify and one `write`.
 *
 * Everything else is tRPC's: the procedure is called by procedure-invoker.ts (input parsing, every middleware —
 * authentication, the error mapping of trpc.ts, the subscription registry — errors reported once and shaped by the
 * root error formatter), frames go out through the api's one SSE writer (sse-writer.ts: headers, backpressure,
 * pings), values wrapped in `tracked()` carry their id, and `lastEventId` (the
 * `Last-Event-ID` header an EventSource sends when it reconnects, or the query parameter) is merged into the
 * input as tRPC does.
 *
 * Frames: `event: connected` with the client options first; `data: <json>` (+ `id: <id>` for tracked values);
 * `event: ping` comments while idle; `event: return` when the procedure's iterable ends; `event: serialized-error`
 * with the error shape when it fails (then the response ends and the client decides whether to reconnect).
 */
export interface SubscriptionServerOptions<TRouter extends AnyTRPCRouter> {
  invoker: ProcedureInvoker<TRouter>;
  /** The tRPC prefix, e.g. `/trpc`. */
  prefix: string;
  sse: { ping: { enabled: boolean; intervalMs: number }; client: Record<string, unknown> };
}

/** The id an EventSource sent back (header first, as tRPC reads it). */
function lastEventIdOf(request: FastifyRequest): string | null {
  const header = request.headers['last-event-id'];
  const query = request.query as Record<string, unknown>;
  const value = (Array.isArray(header) ? header[0] : header) ?? query.lastEventId ?? query['Last-Event-Id'];
  return typeof value === 'string' && value ? value : null;
}

const PING_FRAME = 'event: ping\ndata: \n\n';

/** Registers `GET <prefix>/<path>` for every subscription procedure of the router, ahead of tRPC's own route. */
export function registerSubscriptionRoutes<TRouter extends AnyTRPCRouter>(
  app: FastifyInstance,
  options: SubscriptionServerOptions<TRouter>,
): string[] {
  const paths = options.invoker.paths('subscription');
  // A tracked value's frame, by the value: one serialization per event for every subscriber of a run.
  const frames = new SharedFrames();
  for (const path of paths) {
    app.get(`${options.prefix}/${path}`, (request, reply) => serve(request, reply, path, options, frames));
  }
  return paths;
}

async function serve<TRouter extends AnyTRPCRouter>(
  request: FastifyRequest,
  reply: FastifyReply,
  path: string,
  options: SubscriptionServerOptions<TRouter>,
  frames: SharedFrames,
): Promise<void> {
  const { invoker } = options;
  const abort = clientAbort(reply);
  const { signal } = abort;
  const lastEventId = lastEventIdOf(request);
  const rawInput = (request.query as Record<string, unknown>).input;
  const type = 'subscription';
  const rawJson = typeof rawInput === 'string' ? rawInput : undefined;
  let outcome = await invoker.call({ request, path, type, rawJson, signal, lastEventId });
  if (outcome.ok && !isAsyncIterable(outcome.data)) {
    const error = new Error(`Subscription ${path} did not return an async iterable`);
    outcome = invoker.failure(error, { path, type, ctx: outcome.ctx, input: outcome.input });
  }
  // The client left while the subscription was being set up: nothing to answer.
  if (signal.aborted) {
    if (outcome.ok) await (outcome.data as AsyncIterable<unknown>)[Symbol.asyncIterator]().return?.();
    return;
  }
  const sse = new SseWriter(reply, {
    ping: options.sse.ping.enabled ? { intervalMs: options.sse.ping.intervalMs, frame: () => PING_FRAME } : undefined,
  });
  await sse.write(`event: connected\ndata: ${JSON.stringify(options.sse.client)}\n\n`);
  const { ctx, input } = outcome;
  const errorFrame = (cause: unknown) =>
    `event: serialized-error\ndata: ${invoker.serialize(invoker.failure(cause, { path, type, ctx, input }).shape)}\n\n`;
  if (!outcome.ok) {
    sse.end(`event: serialized-error\ndata: ${invoker.serialize(outcome.shape)}\n\n`);
    return;
  }

  // The id the client's EventSource holds (tRPC restores it after an untracked value, which clears it).
  let clientId = lastEventId && !/[\0\n\r]/.test(lastEventId) ? lastEventId : null;
  const iterator = (outcome.data as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done) {
        finished = true;
        break;
      }
      if (sse.closed) break; // the client left (or the response ended)
      const value = next.value;
      let frame: string;
      if (isTrackedEnvelope(value)) {
        const [id, data] = value;
        // A run event read from Redis comes with its JSON (nothing to serialize, nothing to cache); others are
        // serialized once per value for all their subscribers.
        const kept = invoker.keptJson(data);
        frame =
          kept !== undefined
            ? `data: ${kept}\nid: ${id}\n\n`
            : frames.frame(data, id, () => `data: ${invoker.serialize(data)}\nid: ${id}\n\n`);
        clientId = id;
      } else if (clientId === null) {
        frame = `data: ${invoker.serialize(value)}\n\n`;
      } else {
        frame = `data: ${invoker.serialize(value)}\nid: \n\nevent: restore-id\ndata: \nid: ${clientId}\n\n`;
      }
      // A slow client: read no further until its socket drained (or it left).
      await sse.write(frame);
    }
    if (finished && !signal.aborted) sse.end('event: return\ndata: \n\n');
  } catch (cause) {
    finished = true;
    const aborted = signal.aborted || (cause instanceof Error && cause.name === 'AbortError');
    if (!aborted) sse.end(errorFrame(cause));
  } finally {
    // The subscriber left (or the stream ended): release the procedure's reader at once.
    abort.abort();
    if (!finished) await iterator.return?.().catch(() => {});
    sse.end();
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
