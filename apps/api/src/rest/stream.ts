/**
 * `POST /v1/runs/{run_id}/stream`: replays (and follows) a background run's stream in Letta's SSE format
 * (letta-behavior §11.9): `data: <compact JSON>` per event with `seq_id` and `run_id` filled in, `event: error` for
 * an `error_message`, LettaPing keepalives when `include_pings`, `data: [DONE]` after the stream's end (the run became
 * terminal, e.g. the `cancelled` stop reason of a cancelled run). Fixed from the reference: an empty body means the
 * defaults, the headers go out at once instead of with the first chunk, and the stream ends exactly once.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { domainErrorOf, Expired, InvalidArgument } from '@runtrace/core';
import type { StreamedRunEvent, StreamItem } from '@runtrace/core/streams';
import { z } from 'zod';
import { withKeepalive } from '../keepalive.ts';
import type { Subscriptions } from '../subscriptions.ts';
import { PingShape, toLettaStreamEvent } from './shapes.ts';
import { type LettaRoute, pathId } from './shared.ts';
import { writeJson } from './wire.ts';

export interface StreamSettings {
  /** Quiet time after which a LettaPing is sent when `include_pings` (Letta: 50 s). */
  pingIntervalMs: number;
  /** The server's open streams, ended when it shuts down. */
  subscriptions: Subscriptions;
}

/** Letta's rule: a background run created more than 3 hours ago cannot be streamed (410). */
export const STREAM_EXPIRY_MS = 3 * 60 * 60 * 1000;

/** Letta's RetrieveStreamRequest; unknown fields (its conversation-stream fields) are ignored. */
export const retrieveStreamRequest = z.looseObject({
  /** Events with a seq_id greater than this. */
  starting_after: z.int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
  /** LettaPing keepalives while the stream is quiet. */
  include_pings: z.boolean().nullish(),
  /** Accepted for compatibility: reads block until the next event instead of polling. */
  poll_interval: z.number().nullish(),
  /** Events fetched per store round trip while catching up. */
  batch_size: z.int().min(1).max(1000).nullish(),
});

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
};

function eventChunk(event: StreamedRunEvent): string {
  const json = writeJson(toLettaStreamEvent(event));
  return event.messageType === 'error_message' ? `event: error\ndata: ${json}\n\n` : `data: ${json}\n\n`;
}

function pingChunk(runId: string, seqId: number | null): string {
  const date = `${new Date().toISOString().slice(0, 19)}+00:00`;
  const ping = PingShape.convert({
    id: `ping-${randomUUID()}`,
    date,
    name: null,
    messageType: 'ping',
    otid: null,
    senderId: null,
    stepId: null,
    isErr: null,
    seqId,
    runId,
  });
  return `data: ${writeJson(ping)}\n\n`;
}

/** Writes a chunk, waiting while the socket's buffer is full (a slow reader holds the stream back, not memory). */
function write(res: ServerResponse, chunk: string, signal: AbortSignal): Promise<void> {
  if (res.write(chunk) || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

const PING: unique symbol = Symbol('ping');

export function streamRoute(settings: StreamSettings): LettaRoute {
  return {
    method: 'POST',
    url: '/v1/runs/:run_id/stream',
    operationId: 'retrieve_stream_for_run',
    summary:
      "Replay a background run's stream from `starting_after` and follow it to its end (Server-Sent Events, Letta's format).",
    tag: 'runs',
    body: retrieveStreamRequest,
    response: 'text/event-stream',
    async handler({ runtime, actor, params, request, reply }) {
      const runId = pathId('run', params.run_id as string);
      const body = retrieveStreamRequest.parse(request.body ?? {});
      const run = await runtime.runs.retrieve(actor, { runId });
      if (!run.background) {
        throw new InvalidArgument('Run was not created in background mode, so it cannot be retrieved.', {
          field: 'run_id',
        });
      }
      if (Date.now() - new Date(run.createdAt).getTime() > STREAM_EXPIRY_MS) {
        throw new Expired('Run was created more than 3 hours ago, and is now expired.', { field: 'run_id' });
      }
      const left = new AbortController();
      reply.raw.once('close', () => left.abort());
      const subscription = settings.subscriptions.open(left.signal, 'rest:runs.stream');
      let items: AsyncIterable<StreamItem>;
      try {
        items = await runtime.streams.subscribe(actor, {
          runId,
          startingAfter: body.starting_after,
          batchSize: body.batch_size ?? undefined,
          signal: subscription.signal,
        });
      } catch (err) {
        subscription.release();
        throw err;
      }
      const { signal } = subscription;
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), ...SSE_HEADERS });
      res.flushHeaders();
      let lastSeq: number | null = null;
      let ended = false;
      async function* events(): AsyncGenerator<StreamedRunEvent> {
        for await (const item of items) {
          if (item.kind === 'end') {
            ended = true;
            return;
          }
          yield item.event;
        }
      }
      const source =
        body.include_pings === false
          ? events()
          : withKeepalive(events(), { intervalMs: settings.pingIntervalMs, ping: () => PING, signal });
      try {
        for await (const item of source) {
          if (typeof item === 'symbol') {
            await write(res, pingChunk(runId, lastSeq), signal);
            continue;
          }
          lastSeq = item.seqId;
          await write(res, eventChunk(item), signal);
        }
        if (ended) res.write('data: [DONE]\n\n');
      } catch (err) {
        // The reader left, or the server is shutting down (the client resumes with starting_after): just close.
        if (!signal.aborted) {
          // Letta's mid-stream error event: the response has started, so the status stays 200.
          const known = domainErrorOf(err);
          if (!known) runtime.logger.error({ err, runId }, 'Letta run stream failed');
          const error = known ? known.message : 'An unknown error occurred';
          res.write(
            `event: error\ndata: ${writeJson({ error, code: known ? known.code : 'INTERNAL_SERVER_ERROR' })}\n\n`,
          );
        }
      } finally {
        subscription.release();
        res.end();
      }
      return undefined;
    },
  };
}
