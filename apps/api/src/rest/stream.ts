/**
 * `POST /v1/runs/{run_id}/stream`: replays (and follows) a background run's stream in Letta's SSE format
 * (letta-behavior §11.9): `data: <compact JSON>` per event with `seq_id` and `run_id` filled in, `event: error` for
 * an `error_message`, LettaPing keepalives when `include_pings`, `data: [DONE]` after the stream's end (the run became
 * terminal, e.g. the `cancelled` stop reason of a cancelled run). Fixed from the reference: an empty body means the
 * defaults, the headers go out at once instead of with the first chunk, and the stream ends exactly once.
 */
import { randomUUID } from 'node:crypto';
import { domainErrorOf, Expired, InvalidArgument } from '@runtrace/core';
import type { StreamedRunEvent, StreamItem } from '@runtrace/core/streams';
import { z } from 'zod';
import { clientAbort } from '../procedure-invoker.ts';
import { SharedFrames, SseWriter } from '../sse-writer.ts';
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

/**
 * An event's frame, by the event: a run's stream hands the same event object to every reader (run-stream.ts), so
 * many readers of a run cost one serialization per event.
 */
const frames = new SharedFrames();

function eventChunk(event: StreamedRunEvent): string {
  return frames.frame(event, 'letta', () => {
    const json = writeJson(toLettaStreamEvent(event));
    return event.messageType === 'error_message' ? `event: error\ndata: ${json}\n\n` : `data: ${json}\n\n`;
  });
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
      const left = clientAbort(reply);
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
      let lastSeq: number | null = null;
      const sse = new SseWriter(reply, {
        contentType: 'text/event-stream; charset=utf-8',
        ping:
          body.include_pings === false
            ? undefined
            : { intervalMs: settings.pingIntervalMs, frame: () => pingChunk(runId, lastSeq) },
      });
      try {
        for await (const item of items) {
          if (item.kind === 'end') {
            sse.end('data: [DONE]\n\n');
            break;
          }
          lastSeq = item.event.seqId;
          // A slow reader holds the stream back, not memory.
          await sse.write(eventChunk(item.event));
          if (sse.closed) break;
        }
      } catch (err) {
        // The reader left, or the server is shutting down (the client resumes with starting_after): just close.
        if (!signal.aborted) {
          // Letta's mid-stream error event: the response has started, so the status stays 200.
          const known = domainErrorOf(err);
          if (!known) runtime.logger.error({ err, runId }, 'Letta run stream failed');
          const error = known ? known.message : 'An unknown error occurred';
          sse.end(
            `event: error\ndata: ${writeJson({ error, code: known ? known.code : 'INTERNAL_SERVER_ERROR' })}\n\n`,
          );
        }
      } finally {
        subscription.release();
        sse.end();
      }
      return undefined;
    },
  };
}
