/**
 * The live-stream bench's subscribers, in a process of their own (forked by bench/streams.ts), so that neither the
 * api nor the appender shares an event loop with thousands of EventSources. Latency is measured on the system-wide
 * monotonic clock (`process.hrtime`), which both processes read: the appender writes its append time into each
 * event, a subscriber subtracts it from its receive time.
 */
import { fileURLToPath } from 'node:url';
import { createRuntraceClient, isRunStreamEvent } from '@runtrace/client';

export const SUBSCRIBERS_SCRIPT = fileURLToPath(import.meta.url);

export type SubscriberCommand =
  /** One subscription per entry (a run id may repeat). */
  | { type: 'subscribe'; url: string; runIds: string[] }
  | { type: 'timing'; on: boolean }
  | { type: 'finish'; expected: Record<string, number>; timeoutMs: number };

export type SubscriberReply =
  | { type: 'subscribed'; ms: number }
  | { type: 'finished'; latencies: number[]; deliveries: number; problems: string[] }
  | { type: 'error'; message: string };

/** Milliseconds on the monotonic clock shared by every process of the machine. */
export const monotonicMs = () => Number(process.hrtime.bigint()) / 1e6;

/** The marker the appender puts in each timed event. */
export const MARKER = /bench t=(\d+\.\d+)/;

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
      if (command.type === 'subscribe') {
        const t0 = performance.now();
        const client = createRuntraceClient({ url: command.url });
        for (const runId of command.runIds) {
          {
            const sub: Sub = { runId, lastSeq: 0, received: 0, started: false, completed: false, error: null, unsubscribe: () => {} };
            const subscription = client.runs.stream.subscribe(
              { runId },
              {
                onStarted() {
                  sub.started = true;
                },
                onData(message) {
                  const now = monotonicMs();
                  if (!isRunStreamEvent(message)) return;
                  const event = message.data;
                  if (event.seqId !== sub.lastSeq + 1) problem(`${runId}: seq ${event.seqId} after ${sub.lastSeq}`);
                  sub.lastSeq = event.seqId;
                  sub.received++;
                  if (!timing || event.messageType !== 'assistant_message') return;
                  const match = MARKER.exec(String(event.content));
                  if (!match) return;
                  latencies.push(now - Number(match[1]));
                  deliveries++;
                },
                onError(err) {
                  sub.error = err.message;
                  problem(`${runId}: ${err.message}`);
                },
                onComplete() {
                  sub.completed = true;
                },
              },
            );
            sub.unsubscribe = () => subscription.unsubscribe();
            subs.push(sub);
          }
        }
        // Subscribed = every subscription has read the run's first (warm-up) event: its reader is live.
        const ok = await waitFor(() => subs.every((s) => s.received >= 1 || s.error), 180_000);
        if (!ok) throw new Error(`${subs.filter((s) => s.received < 1).length} subscriptions got no warm-up event in 180 s`);
        reply({ type: 'subscribed', ms: performance.now() - t0 });
        return;
      }
      const expected = command.expected;
      const complete = await waitFor(() => subs.every((s) => s.completed || s.error), command.timeoutMs);
      if (!complete) problem(`${subs.filter((s) => !s.completed && !s.error).length} subscriptions did not complete`);
      for (const s of subs) {
        if (s.received !== expected[s.runId]) problem(`${s.runId}: received ${s.received} events, expected ${expected[s.runId]}`);
        s.unsubscribe();
      }
      reply({ type: 'finished', latencies, deliveries, problems });
    } catch (err) {
      reply({ type: 'error', message: (err as Error).message });
    }
  });
}

if (process.argv[1] === SUBSCRIBERS_SCRIPT && process.send) main();
