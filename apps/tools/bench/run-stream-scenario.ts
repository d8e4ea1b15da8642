import { createRuntraceClient, type RuntraceClient } from '@runtrace/client';
import type { ApiProcess } from '@runtrace/client/testing/apiProcess';
import { newId } from '@runtrace/core';
import { streamKey } from '@runtrace/core/internal';
import { forkSubscribers, type Subscribers } from './fork-subscribers.ts';
import { keepAliveAgent, postJson } from './http.ts';
import { openRedis, redisClientCount } from './resolve-redis-url.ts';
import { int, ms, percentile, processCpuMs } from './stats.ts';
import type { StreamScenario } from './stream-scenarios.ts';
import { MARKER, monotonicMs } from './stream-subscribers.ts';

const sleep = (msValue: number) => new Promise((resolve) => setTimeout(resolve, msValue));

export interface ScenarioResult {
  scenario: StreamScenario;
  appended: number;
  deliveries: number;
  wallMs: number;
  latencies: number[];
  pollLatencies: number[];
  appendLatencies: number[];
  problems: string[];
  rssPeak: number;
  rssAfter: number;
  apiCpuMs: number;
  /** CPU of the subscriber process and of this one (the appender and pollers) over the timed phase. */
  subscriberCpuMs: number;
  appenderCpuMs: number;
  redisClients: { before: number; during: number; after: number };
  subscribeMs: number;
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
 * One scenario against the api process: background runs, subscribers in a process of their own (the typed client,
 * `runs.stream` over SSE), an open-loop appender here (`runs.appendEvents`, one event per call, its append time in
 * the event), and XRANGE pollers on some of the runs reading the same events straight from Redis as Letta does.
 */
export async function runStreamScenario(
  api: ApiProcess,
  redisUrl: string,
  scenario: StreamScenario,
  subscriberProcesses: number,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const control = createRuntraceClient({ url: api.url });
  // Appends go through many clients, so calls made in the same tick are not merged into one batch.
  const appenders: RuntraceClient[] = Array.from({ length: 32 }, () => createRuntraceClient({ url: api.url }));
  const redis = await openRedis(redisUrl, 'runtrace-bench');
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
  const append = (client: RuntraceClient, runId: string, content: string) =>
    client.runs.appendEvents.mutate({
      runId,
      events: [{ messageType: 'assistant_message', id: messageIds.get(runId), content }],
    });

  // Warm-up: one untimed event per run; the subscribers report once each has read it (its reader is live).
  await inParallel(runIds, 32, async (runId, i) => {
    await append(appenders[i % appenders.length] as RuntraceClient, runId, 'warm-up');
  });
  const subscribers = forkSubscribers(subscriberProcesses);
  let result: ScenarioResult;
  try {
    const subscriptions = runIds.flatMap((id) => Array.from({ length: scenario.subscribersPerRun }, () => id));
    const subscribeMs = await subscribers.subscribe(api.url, subscriptions, scenario.subscriber);
    const clientsDuring = await redisClientCount(redis);

    const pollers = await startPollers(redisUrl, runIds.slice(0, scenario.polledRuns));
    const timed = await appendTimed(api, scenario, runIds, messageIds, subscribers, pollers, problem);
    await pollers.stop();

    // End every stream: each subscription must complete on its own, having seen every event once, in order.
    await inParallel(runIds, 32, async (runId, i) => {
      await (appenders[i % appenders.length] as RuntraceClient).runs.appendEvents.mutate({
        runId,
        events: [{ messageType: 'stop_reason', stopReason: 'end_turn' }],
        end: true,
      });
    });
    // Each run: the warm-up event, every runs.length-th timed one, the stop_reason.
    const { total } = timed;
    const expected = Object.fromEntries(
      runIds.map((id, i) => [id, 2 + Math.floor(total / runIds.length) + (i < total % runIds.length ? 1 : 0)]),
    );
    const finished = await subscribers.finish(expected, 60_000);
    for (const p of finished.problems) problem(p);
    await sleep(500);
    const rssAfter = api.rss();
    const clientsAfter = await redisClientCount(redis);
    const { appendMs, wallMs } = timed;
    result = {
      scenario,
      appended: total,
      deliveries: finished.deliveries,
      wallMs: appendMs,
      latencies: finished.latencies,
      pollLatencies: pollers.latencies,
      appendLatencies: timed.appendLatencies,
      problems,
      rssPeak: timed.rssPeak,
      rssAfter,
      apiCpuMs: (timed.apiCpuMs * appendMs) / wallMs,
      subscriberCpuMs: (timed.subscriberCpuMs * appendMs) / wallMs,
      appenderCpuMs: (timed.appenderCpuMs * appendMs) / wallMs,
      redisClients: { before: clientsBefore, during: clientsDuring, after: clientsAfter },
      subscribeMs,
    };
  } finally {
    subscribers.stop();
    await redis.del(...runIds.map(streamKey)).catch(() => {});
    redis.disconnect();
  }
  log(
    `    ${scenario.name}: ${int(result.appended)} events appended in ${(result.wallMs / 1000).toFixed(1)} s, ${int(result.deliveries)} timed deliveries, ` +
      `subscriber p50 ${ms(percentile(result.latencies, 50))} ms / p99 ${ms(percentile(result.latencies, 99))} ms, ` +
      `XRANGE poll p50 ${ms(percentile(result.pollLatencies, 50))} ms${problems.length ? `; ${problems.length} problem(s)` : ''}`,
  );
  return result;
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

/**
 * The timed, open-loop appender: event k is due at k / rate seconds; calls are not awaited one by one. Answers what
 * was appended, the append latencies, and the CPU and RSS of the processes while it ran.
 */
async function appendTimed(
  api: ApiProcess,
  scenario: StreamScenario,
  runIds: string[],
  messageIds: Map<string, string>,
  subscribers: Subscribers,
  pollers: Pollers,
  problem: (p: string) => void,
) {
  // The timed appends as a load generator sends them (http.ts): the very request httpBatchLink would send, on 32
  // keep-alive sockets, the answer's status checked — a typed client per call costs this process enough CPU that at
  // the bench's append rates the appender alone would take most of a core from the api and the subscribers.
  const appendAgent = keepAliveAgent(32);
  const appendUrl = new URL(`${api.url}/trpc/runs.appendEvents?batch=1`);
  const appendRaw = (runId: string, content: string) =>
    postJson(
      appendAgent,
      appendUrl,
      JSON.stringify({
        0: { runId, events: [{ messageType: 'assistant_message', id: messageIds.get(runId), content }] },
      }),
    );

  let rssPeak = api.rss();
  const rssTimer = setInterval(() => {
    rssPeak = Math.max(rssPeak, api.rss());
  }, 250);
  const cpu0 = processCpuMs(api.pid);
  const subscriberCpu = () => subscribers.pids.reduce((sum, pid) => sum + processCpuMs(pid), 0);
  const subCpu0 = subscriberCpu();
  const ownCpu0 = process.cpuUsage();
  const total = Math.round(scenario.eventsPerSecond * scenario.seconds);
  const appendLatencies: number[] = [];
  const inFlight = new Set<Promise<void>>();
  subscribers.timing(true);
  pollers.timing = true;
  const t0 = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * scenario.eventsPerSecond) / 1000) + 1);
    while (sent < due) {
      const k = sent++;
      const runId = runIds[k % runIds.length] as string;
      const started = monotonicMs();
      const call = appendRaw(runId, `bench t=${started.toFixed(3)} k=${k}`).then(
        () => {
          appendLatencies.push(monotonicMs() - started);
        },
        (err: Error) => {
          const cause = (err.cause as { cause?: { code?: string; message?: string } } | undefined)?.cause;
          problem(`append ${k}: ${err.message}${cause ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''}`);
        },
      );
      inFlight.add(call);
      void call.finally(() => inFlight.delete(call));
    }
    await sleep(1);
  }
  await Promise.all(inFlight);
  const appendMs = performance.now() - t0;
  // Let the last deliveries and polls land before timing stops.
  await sleep(300);
  subscribers.timing(false);
  pollers.timing = false;
  const wallMs = performance.now() - t0;
  const apiCpuMs = processCpuMs(api.pid) - cpu0;
  const subscriberCpuMs = subscriberCpu() - subCpu0;
  const ownCpu = process.cpuUsage(ownCpu0);
  const appenderCpuMs = (ownCpu.user + ownCpu.system) / 1000;
  clearInterval(rssTimer);
  appendAgent.destroy();
  return { total, appendLatencies, appendMs, wallMs, apiCpuMs, subscriberCpuMs, appenderCpuMs, rssPeak };
}
