import { createRuntraceClient } from '@runtrace/client';
import { newId } from '@runtrace/core';
import { streamKey } from '@runtrace/core/internal';
import type { RunEvent, RunStream } from '@runtrace/core/streams';
import { forkSubscribers, type Subscribers } from './fork-subscribers.ts';
import { openRedis, redisClientCount } from './resolve-redis-url.ts';
import { int, ms, percentile, processCpuMs } from './stats.ts';
import type { StreamScenario } from './stream-scenarios.ts';
import { MARKER, monotonicMs, type SubscriberClient } from './stream-subscribers.ts';

const sleep = (msValue: number) => new Promise((resolve) => setTimeout(resolve, msValue));

/** Undelivered deliveries the saturating writer allows (events × subscribers per run): a closed loop's window. */
const WINDOW_DELIVERIES = 4000;
/** Appends the writer has in flight at most. */
const MAX_APPENDS_IN_FLIGHT = 64;

/** The server the subscribers read from: the api, or the floor server. */
export interface StreamServer {
  name: 'api' | 'floor';
  url: string;
  pid: number;
}

/** How the writer loads the streams: as fast as they are delivered (capacity), or at a constant rate (latency). */
export type StreamLoad = { kind: 'saturate' } | { kind: 'rate'; eventsPerSecond: number };

export interface PhaseOptions {
  /** The api, which creates the runs (the floor serves no run that the api does not know). */
  apiUrl: string;
  server: StreamServer;
  redisUrl: string;
  /** core's run-stream store in this process: the same write script the api's appendEvents runs. */
  writer: RunStream;
  scenario: StreamScenario;
  load: StreamLoad;
  subscriber: SubscriberClient;
  subscriberProcesses: number;
  seconds: number;
  /** Whether XRANGE pollers read some of the runs meanwhile (the baseline of the latency phase). */
  poll: boolean;
  /** Called with each subscriber process's pid once forked (to pin it). */
  onSubscriberProcess?: (pid: number) => void;
  log: (line: string) => void;
}

export interface PhaseResult {
  server: StreamServer['name'];
  load: StreamLoad;
  subscriber: SubscriberClient;
  appended: number;
  /** Events received by all subscriptions over the measured window. */
  deliveries: number;
  /** From the first timed append until every timed event was received (or the wait gave up). */
  wallMs: number;
  serverCpuMs: number;
  subscriberCpuMs: number;
  writerCpuMs: number;
  /** Latencies (ms) from each event's scheduled time to its receipt: the rate phase only. */
  latencies: number[];
  pollLatencies: number[];
  problems: string[];
  subscribeMs: number;
  redisClients: { before: number; during: number; after: number };
}

async function inParallel<T>(items: readonly T[], concurrency: number, fn: (item: T, i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i] as T, i);
      }
    }),
  );
}

/**
 * One phase of a live-stream scenario: fresh background runs (created through the api), a warm-up event each,
 * subscribers in processes of their own reading `server` until each has read it, then the writer appends through
 * core's run-stream store (the api's write script: XADD and PUBLISH on the run's channel) for `seconds`, either as
 * fast as the subscribers receive (a closed loop with a window of undelivered events) or on a constant-rate schedule
 * whose due time each event carries (latency counted from it, as wrk2 does). Then every stream is ended and every
 * subscription must have received each event once, in order, and completed.
 */
export async function runStreamPhase(o: PhaseOptions): Promise<PhaseResult> {
  const { scenario, writer, server } = o;
  const control = createRuntraceClient({ url: o.apiUrl });
  const redis = await openRedis(o.redisUrl, 'runtrace-bench');
  const problems: string[] = [];
  const problem = (p: string) => {
    if (problems.length < 20) problems.push(p);
  };
  const clientsBefore = await redisClientCount(redis);
  const agentId = newId('agent');
  const runIds = Array.from({ length: scenario.runs }, () => newId('run'));
  await inParallel(runIds, 16, async (id) => {
    await control.runs.create.mutate({ id, agentId, background: true, metadata: { source: 'bench' } });
    await control.runs.update.mutate({ runId: id, status: 'running' });
  });
  const messageIds = new Map(runIds.map((id) => [id, newId('message')]));
  const event = (runId: string, content: string): RunEvent =>
    ({ messageType: 'assistant_message', id: messageIds.get(runId), content }) as RunEvent;
  // Warm-up: one untimed event per run; the subscribers report once each has read it (its reader is live).
  await inParallel(runIds, 32, async (runId) => {
    await writer.append(runId, [event(runId, 'warm-up')]);
  });

  const subscribers = forkSubscribers(o.subscriberProcesses);
  for (const pid of subscribers.pids) o.onSubscriberProcess?.(pid);
  try {
    const subscriptions = runIds.flatMap((id) => Array.from({ length: scenario.subscribersPerRun }, () => id));
    const subscribeMs = await subscribers.subscribe(server.url, subscriptions, o.subscriber);
    const clientsDuring = await redisClientCount(redis);
    const pollers = o.poll ? await startPollers(o.redisUrl, runIds.slice(0, scenario.polledRuns)) : null;

    subscribers.progress(true);
    await sleep(100); // a first report: the count the window starts from
    const subscriberCpu = () => subscribers.pids.reduce((sum, pid) => sum + processCpuMs(pid), 0);
    const received0 = subscribers.received();
    const serverCpu0 = processCpuMs(server.pid);
    const subscriberCpu0 = subscriberCpu();
    const ownCpu0 = process.cpuUsage();
    subscribers.timing(true);
    if (pollers) pollers.timing = true;
    const t0 = performance.now();
    const append = (k: number, content: string) => {
      const runId = runIds[k % runIds.length] as string;
      return writer.append(runId, [event(runId, content)]).then(
        () => {},
        (err: Error) => problem(`append ${k}: ${err.message}`),
      );
    };
    const appended =
      o.load.kind === 'saturate'
        ? await saturate(append, scenario, subscribers, received0, o.seconds)
        : await atRate(append, o.load.eventsPerSecond, o.seconds);
    // Every timed event received (each run's subscribers get each of its events), or 30 s more at most.
    const expectedDeliveries = appended * scenario.subscribersPerRun;
    const deadline = performance.now() + 30_000;
    while (subscribers.received() - received0 < expectedDeliveries && performance.now() < deadline) await sleep(5);
    const wallMs = performance.now() - t0;
    const deliveries = subscribers.received() - received0;
    const serverCpuMs = processCpuMs(server.pid) - serverCpu0;
    const subscriberCpuMs = subscriberCpu() - subscriberCpu0;
    const own = process.cpuUsage(ownCpu0);
    subscribers.progress(false);
    subscribers.timing(false);
    if (pollers) {
      pollers.timing = false;
      await pollers.stop();
    }
    if (deliveries < expectedDeliveries) problem(`${int(deliveries)} of ${int(expectedDeliveries)} deliveries in time`);

    // End every stream: each subscription must complete on its own, having seen every event once, in order.
    await inParallel(runIds, 32, async (runId) => {
      await writer.end(runId, { stopReason: 'end_turn', fallback: 'end_turn' });
    });
    // Each run: the warm-up event, every runs.length-th timed one, the stop_reason.
    const expected = Object.fromEntries(
      runIds.map((id, i) => [id, 2 + Math.floor(appended / runIds.length) + (i < appended % runIds.length ? 1 : 0)]),
    );
    const finished = await subscribers.finish(expected, 60_000);
    for (const p of finished.problems) problem(p);
    await sleep(200);
    const result: PhaseResult = {
      server: server.name,
      load: o.load,
      subscriber: o.subscriber,
      appended,
      deliveries,
      wallMs,
      serverCpuMs,
      subscriberCpuMs,
      writerCpuMs: (own.user + own.system) / 1000,
      latencies: finished.latencies,
      pollLatencies: pollers?.latencies ?? [],
      problems,
      subscribeMs,
      redisClients: { before: clientsBefore, during: clientsDuring, after: await redisClientCount(redis) },
    };
    o.log(
      `    ${scenario.name}, ${server.name}, ${describeLoad(o.load)}${o.subscriber === 'typed' ? ', typed client' : ''}: ` +
        `${int(appended)} events, ${int((deliveries * 1000) / wallMs)} deliveries/s, ` +
        `${server.name} ${((serverCpuMs * 1000) / Math.max(1, deliveries)).toFixed(1)} µs cpu/delivery` +
        (result.latencies.length
          ? `, p50 ${ms(percentile(result.latencies, 50))} ms / p99 ${ms(percentile(result.latencies, 99))} ms`
          : '') +
        (problems.length ? `; ${problems.length} problem(s)` : ''),
    );
    return result;
  } finally {
    subscribers.stop();
    await redis.del(...runIds.map(streamKey)).catch(() => {});
    redis.disconnect();
  }
}

export const describeLoad = (load: StreamLoad) =>
  load.kind === 'saturate' ? 'saturation' : `open loop ${int(load.eventsPerSecond)} events/s`;

/**
 * Appends as fast as the subscribers receive: at most WINDOW_DELIVERIES not yet received (and
 * MAX_APPENDS_IN_FLIGHT appends outstanding), for `seconds`. The events carry no timing marker. Returns the count.
 */
async function saturate(
  append: (k: number, content: string) => Promise<void>,
  scenario: StreamScenario,
  subscribers: Subscribers,
  received0: number,
  seconds: number,
): Promise<number> {
  const windowEvents = Math.max(8, Math.floor(WINDOW_DELIVERIES / scenario.subscribersPerRun));
  const inFlight = new Set<Promise<void>>();
  const end = performance.now() + seconds * 1000;
  let written = 0;
  while (performance.now() < end) {
    const delivered = (subscribers.received() - received0) / scenario.subscribersPerRun;
    while (written - delivered < windowEvents && inFlight.size < MAX_APPENDS_IN_FLIGHT) {
      const call = append(written, `bench k=${written}`);
      written++;
      inFlight.add(call);
      void call.finally(() => inFlight.delete(call));
    }
    await sleep(1);
  }
  await Promise.all(inFlight);
  return written;
}

/**
 * Appends on a schedule: event k is due at k / rate seconds, whether or not earlier appends returned; each carries
 * its due time on the machine's monotonic clock (a subscriber's latency counts from it). Returns the count.
 */
async function atRate(
  append: (k: number, content: string) => Promise<void>,
  eventsPerSecond: number,
  seconds: number,
): Promise<number> {
  const total = Math.max(1, Math.round(eventsPerSecond * seconds));
  const inFlight = new Set<Promise<void>>();
  const start = monotonicMs();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((monotonicMs() - start) * eventsPerSecond) / 1000) + 1);
    while (sent < due) {
      const k = sent++;
      const dueAt = start + (k * 1000) / eventsPerSecond;
      const call = append(k, `bench t=${dueAt.toFixed(3)} k=${k}`);
      inFlight.add(call);
      void call.finally(() => inFlight.delete(call));
    }
    await sleep(1);
  }
  await Promise.all(inFlight);
  return total;
}

/** XRANGE pollers on `runIds`; the latencies of what they read while `timing` is on. */
interface Pollers {
  latencies: number[];
  timing: boolean;
  /** Stops polling, waits for the pollers, closes their connection. */
  stop(): Promise<void>;
}

/** Pollers: Letta's reader, straight on Redis (a connection of their own, as Letta's pool gives each request one). */
async function startPollers(redisUrl: string, runIds: string[]): Promise<Pollers> {
  const pollRedis = await openRedis(redisUrl, 'runtrace-bench-poller');
  let polling = true;
  const state: Pollers = {
    latencies: [],
    timing: false,
    async stop() {
      polling = false;
      await Promise.all(loops);
      pollRedis.disconnect();
    },
  };
  const loops = runIds.map(async (runId) => {
    let lastId = '-';
    while (polling) {
      const entries = (await pollRedis.xrange(
        streamKey(runId),
        lastId === '-' ? '-' : `(${lastId}`,
        '+',
        'COUNT',
        100,
      )) as [string, string[]][];
      const now = monotonicMs();
      for (const [id, fields] of entries) {
        lastId = id;
        if (!state.timing) continue;
        for (const value of fields) {
          const match = MARKER.exec(value);
          if (match) state.latencies.push(now - Number(match[1]));
        }
      }
      if (!entries.length) await sleep(100);
    }
  });
  return state;
}
