/**
 * The live-stream bench's subscribers, in a process of their own (forked by fork-subscribers.ts), so that neither the
 * api nor the appender shares an event loop with thousands of EventSources. Latency is measured on the system-wide
 * monotonic clock (`process.hrtime`), which both processes read: the appender writes its append time into each
 * event, a subscriber subtracts it from its receive time.
 *
 * Two kinds of subscriber: `sse` reads the stream as a load generator would (the GET httpSubscriptionLink sends, on
 * node:http, its frames split and each event's JSON parsed: what the server delivers, when), `typed` through
 * @runtrace/client (`client.runs.stream.subscribe`, its own SSE link over node:http: the client's cost per event).
 */
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { createRuntraceClient, isRunStreamEvent } from '@runtrace/client';

export const SUBSCRIBERS_SCRIPT = fileURLToPath(import.meta.url);

export type SubscriberCommand =
  /** One subscription per entry (a run id may repeat). */
  | { type: 'subscribe'; url: string; runIds: string[]; client: SubscriberClient }
  | { type: 'timing'; on: boolean }
  /** While on, the process reports every {@link PROGRESS_INTERVAL_MS} how many events its subscriptions received. */
  | { type: 'progress'; on: boolean }
  | { type: 'finish'; expected: Record<string, number>; timeoutMs: number };

export type SubscriberClient = 'sse' | 'typed';

export type SubscriberReply =
  | { type: 'subscribed'; ms: number }
  | { type: 'progress'; received: number }
  | { type: 'finished'; latencies: number[]; deliveries: number; problems: string[] }
  | { type: 'error'; message: string };

/** How often a subscriber process reports its count of received events while asked to. */
export const PROGRESS_INTERVAL_MS = 20;

/** Milliseconds on the monotonic clock shared by every process of the machine. */
export const monotonicMs = () => Number(process.hrtime.bigint()) / 1e6;

/** The marker the appender puts in each timed event. */
export const MARKER = /bench t=(\d+\.\d+)/;

/** What a subscription saw of a run's stream event (the typed client's `message.data`, or the SSE frame's JSON). */
interface StreamEvent {
  seqId: number;
  messageType: string;
  content?: unknown;
}

interface Sub {
  runId: string;
  lastSeq: number;
  received: number;
  started: boolean;
  completed: boolean;
  error: string | null;
  unsubscribe(): void;
}

function main() {
  const subs: Sub[] = [];
  const latencies: number[] = [];
  const problems: string[] = [];
  let timing = false;
  let deliveries = 0;
  let received = 0;
  let progress: NodeJS.Timeout | undefined;
  const reply = (r: SubscriberReply) => process.send?.(r);
  const problem = (p: string) => {
    if (problems.length < 20) problems.push(p);
  };
  const waitFor = async (ok: () => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!ok()) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return true;
  };

  process.on('message', async (command: SubscriberCommand) => {
    try {
      if (command.type === 'timing') {
        timing = command.on;
        return;
      }
      if (command.type === 'progress') {
        clearInterval(progress);
        if (command.on) progress = setInterval(() => reply({ type: 'progress', received }), PROGRESS_INTERVAL_MS);
        return;
      }
      if (command.type === 'subscribe') {
        const t0 = performance.now();
        const client = command.client === 'typed' ? createRuntraceClient({ url: command.url }) : null;
        for (const runId of command.runIds) {
          const sub: Sub = {
            runId,
            lastSeq: 0,
            received: 0,
            started: false,
            completed: false,
            error: null,
            unsubscribe: () => {},
          };
          const deliver = (event: StreamEvent, now: number) => {
            if (event.seqId !== sub.lastSeq + 1) problem(`${runId}: seq ${event.seqId} after ${sub.lastSeq}`);
            sub.lastSeq = event.seqId;
            sub.received++;
            received++;
            if (!timing || event.messageType !== 'assistant_message') return;
            const match = MARKER.exec(String(event.content));
            if (!match) return;
            latencies.push(now - Number(match[1]));
            deliveries++;
          };
          const failed = (message: string) => {
            sub.error = message;
            problem(`${runId}: ${message}`);
          };
          if (client) {
            const subscription = client.runs.stream.subscribe(
              { runId },
              {
                onStarted() {
                  sub.started = true;
                },
                onData(message) {
                  const now = monotonicMs();
                  if (isRunStreamEvent(message)) deliver(message.data, now);
                },
                onError: (err) => failed(err.message),
                onComplete() {
                  sub.completed = true;
                },
              },
            );
            sub.unsubscribe = () => subscription.unsubscribe();
          } else {
            sub.unsubscribe = readSse(command.url, runId, {
              started: () => {
                sub.started = true;
              },
              event: deliver,
              failed,
              completed: () => {
                sub.completed = true;
              },
            });
          }
          subs.push(sub);
        }
        // Subscribed = every subscription has read the run's first (warm-up) event: its reader is live.
        const ok = await waitFor(() => subs.every((s) => s.received >= 1 || s.error), 180_000);
        if (!ok)
          throw new Error(`${subs.filter((s) => s.received < 1).length} subscriptions got no warm-up event in 180 s`);
        reply({ type: 'subscribed', ms: performance.now() - t0 });
        return;
      }
      const expected = command.expected;
      const complete = await waitFor(() => subs.every((s) => s.completed || s.error), command.timeoutMs);
      if (!complete) problem(`${subs.filter((s) => !s.completed && !s.error).length} subscriptions did not complete`);
      for (const s of subs) {
        if (s.received !== expected[s.runId])
          problem(`${s.runId}: received ${s.received} events, expected ${expected[s.runId]}`);
        s.unsubscribe();
      }
      reply({ type: 'finished', latencies, deliveries, problems });
    } catch (err) {
      reply({ type: 'error', message: (err as Error).message });
    }
  });
}

interface SseHandlers {
  started(): void;
  event(event: StreamEvent, receivedAt: number): void;
  failed(message: string): void;
  completed(): void;
}

/**
 * One `runs.stream` subscription read as a load generator reads it: the GET httpSubscriptionLink sends
 * (`/trpc/runs.stream?input=…`), its SSE frames split on blank lines, each event's JSON parsed. The receive time is
 * taken when the chunk arrives. Frames with an `event:` line are tRPC's own: `connected`, `ping`, `restore-id`, and
 * `return` (the stream ended) or `serialized-error`. Returns the unsubscribe.
 */
function readSse(baseUrl: string, runId: string, on: SseHandlers): () => void {
  const url = new URL(`${baseUrl}/trpc/runs.stream`);
  url.searchParams.set('input', JSON.stringify({ runId }));
  const request = http.get(url, { headers: { accept: 'text/event-stream' } }, (response) => {
    if (response.statusCode !== 200) {
      on.failed(`HTTP ${response.statusCode}`);
      response.resume();
      return;
    }
    on.started();
    response.setEncoding('utf8');
    let pending = '';
    response.on('data', (chunk: string) => {
      const now = monotonicMs();
      pending += chunk;
      for (let end = pending.indexOf('\n\n'); end >= 0; end = pending.indexOf('\n\n')) {
        const frame = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (frame.startsWith('event: ')) {
          const kind = frame.slice(7, frame.indexOf('\n') < 0 ? undefined : frame.indexOf('\n'));
          if (kind === 'return') on.completed();
          else if (kind === 'serialized-error') on.failed(`serialized-error ${frame}`);
          continue;
        }
        const data = frame.split('\n').find((line) => line.startsWith('data: '));
        if (data) on.event(JSON.parse(data.slice(6)) as StreamEvent, now);
      }
    });
  });
  request.on('error', (err) => on.failed(err.message));
  return () => request.destroy();
}

if (process.argv[1] === SUBSCRIBERS_SCRIPT && process.send) main();
