import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRuntraceClient, type RuntraceClient } from '@runtrace/client';
import { type ApiProcess, spawnApi } from '@runtrace/client/testing/apiProcess';
import { type Config, connectRedis, newId, redisOptions, streamKey } from '@runtrace/core';
import { keepAliveAgent, postJson } from './http.ts';
import type { BenchContext, BenchSection, Check } from './section.ts';
import { int, ms, percentile, processCpuMs, ratio } from './stats.ts';
import {
  MARKER,
  monotonicMs,
  SUBSCRIBERS_SCRIPT,
  type SubscriberClient,
  type SubscriberCommand,
  type SubscriberReply,
} from './stream-subscribers.ts';
import { formatTable } from './table.ts';

/** Where the section looks for Redis when REDIS_URL is unset (the project's CI and dev machines). */
export const FALLBACK_REDIS_URL = 'redis://127.0.0.1:6379';

/** `apps/tools`, where tsx resolves for the subscriber process. */
const TOOLS_DIR = fileURLToPath(new URL('../', import.meta.url));
const sleep = (msValue: number) => new Promise((resolve) => setTimeout(resolve, msValue));

export interface StreamScenario {
  name: string;
  runs: number;
  subscribersPerRun: number;
  /** Appended events per second over all runs (one event per appendEvents call, open loop). */
  eventsPerSecond: number;
  seconds: number;
  /** Runs that also get an XRANGE poller (Letta's reader: XRANGE, then sleep 100 ms when nothing new). */
  polledRuns: number;
  /** How the subscribers read (bench/stream-subscribers.ts): as a load generator (`sse`) or through @runtrace/client. */
  subscriber: SubscriberClient;
  targets: { p50?: number; p99?: number; pollRatio?: number };
}

interface ScenarioResult {
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

type Redis = Awaited<ReturnType<typeof connectRedis>>;
const openRedis = (url: string, name: string) => connectRedis(url, { ...redisOptions(name), maxRetriesPerRequest: 1 });

async function redisClientCount(redis: Redis): Promise<number> {
  const list = (await redis.call('CLIENT', 'LIST')) as string;
  return list.split('\n').filter((line) => line.trim()).length;
}

/** REDIS_URL, else the fallback when it answers; the section is skipped without Redis (the baseline polls XRANGE). */
export async function resolveRedisUrl(config: Config, log: (line: string) => void): Promise<string | null> {
  if (config.redisUrl) return config.redisUrl;
  try {
    const probe = await openRedis(FALLBACK_REDIS_URL, 'runtrace-bench-probe');
    await probe.ping();
    probe.disconnect();
    log(`    REDIS_URL is not set; using ${FALLBACK_REDIS_URL}, which answers`);
    return FALLBACK_REDIS_URL;
  } catch {
    return null;
  }
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

/** One subscriber process, driven over IPC (bench/stream-subscribers.ts). */
function forkSubscriber() {
  const child: ChildProcess = fork(SUBSCRIBERS_SCRIPT, [], {
    cwd: TOOLS_DIR,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies: SubscriberReply[] = [];
  let wake: (() => void) | null = null;
  child.on('message', (reply: SubscriberReply) => {
    replies.push(reply);
    wake?.();
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
    wake?.();
  });
  const next = async <T extends SubscriberReply['type']>(type: T): Promise<Extract<SubscriberReply, { type: T }>> => {
    for (;;) {
      const reply = replies.shift();
      if (reply?.type === 'error') throw new Error(`subscriber process: ${reply.message}`);
      if (reply?.type === type) return reply as Extract<SubscriberReply, { type: T }>;
      if (exited) throw new Error('the subscriber process exited');
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = null;
    }
  };
  return {
    pid: child.pid as number,
    send: (command: SubscriberCommand) => child.send(command),
    next,
    stop: () => {
      if (!exited) child.kill('SIGTERM');
    },
  };
}

/**
 * The subscribers, dealt round-robin over `processes` processes (as real subscribers are spread over many clients;
 * one event loop holding them all would itself queue each event behind a hundred deliveries).
 */
function forkSubscribers(processes: number) {
  const children = Array.from({ length: processes }, () => forkSubscriber());
  const merged = async <T extends SubscriberReply['type']>(type: T) => Promise.all(children.map((c) => c.next(type)));
  return {
    pids: children.map((c) => c.pid),
    /** Subscribes, one subscription per entry of `runIds`; resolves when each has read its run's warm-up event. */
    async subscribe(url: string, runIds: string[], client: SubscriberClient): Promise<number> {
      const t0 = performance.now();
      children.forEach((c, i) => {
        c.send({ type: 'subscribe', url, runIds: runIds.filter((_, k) => k % children.length === i), client });
      });
      await merged('subscribed');
      return performance.now() - t0;
    },
    timing(on: boolean) {
      for (const c of children) c.send({ type: 'timing', on });
    },
    async finish(expected: Record<string, number>, timeoutMs: number) {
      for (const c of children) c.send({ type: 'finish', expected, timeoutMs });
      const replies = await merged('finished');
      return {
        latencies: replies.flatMap((r) => r.latencies),
        deliveries: replies.reduce((sum, r) => sum + r.deliveries, 0),
        problems: replies.flatMap((r) => r.problems),
      };
    },
    stop() {
      for (const c of children) c.stop();
    },
  };
}

/**
 * One scenario against the api process: background runs, subscribers in a process of their own (the typed client,
 * `runs.stream` over SSE), an open-loop appender here (`runs.appendEvents`, one event per call, its append time in
 * the event), and XRANGE pollers on some of the runs reading the same events straight from Redis as Letta does.
 */
async function runScenario(
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

  // The timed appends as a load generator sends them (http.ts): the very request httpBatchLink would send, on 32
  // keep-alive sockets, the answer's status checked — a typed client per call cost this process ~0.8 ms of CPU, so
  // at 1,000 appends/s the appender alone took most of a core from the api and the subscribers.
  const appendAgent = keepAliveAgent(32);
  const appendUrl = new URL(`${api.url}/trpc/runs.appendEvents?batch=1`);
  const appendRaw = (runId: string, content: string) =>
    postJson(
      appendAgent,
      appendUrl,
      JSON.stringify({ 0: { runId, events: [{ messageType: 'assistant_message', id: messageIds.get(runId), content }] } }),
    );

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

    // Pollers: Letta's reader, straight on Redis (a connection of their own, as Letta's pool gives each request one).
    const pollLatencies: number[] = [];
    const pollRedis = await openRedis(redisUrl, 'runtrace-bench-poller');
    let timing = false;
    let polling = true;
    const pollers = runIds.slice(0, scenario.polledRuns).map(async (runId) => {
      let lastId = '-';
      while (polling) {
        const entries = (await pollRedis.xrange(streamKey(runId), lastId === '-' ? '-' : `(${lastId}`, '+', 'COUNT', 100)) as [
          string,
          string[],
        ][];
        const now = monotonicMs();
        for (const [id, fields] of entries) {
          lastId = id;
          if (!timing) continue;
          for (const value of fields) {
            const match = MARKER.exec(value);
            if (match) pollLatencies.push(now - Number(match[1]));
          }
        }
        if (!entries.length) await sleep(100);
      }
    });

    // The timed, open-loop appender: event k is due at k / rate seconds; calls are not awaited one by one.
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
    timing = true;
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
    timing = false;
    const wallMs = performance.now() - t0;
    const apiCpuMs = processCpuMs(api.pid) - cpu0;
    const subscriberCpuMs = subscriberCpu() - subCpu0;
    const ownCpu = process.cpuUsage(ownCpu0);
    const appenderCpuMs = (ownCpu.user + ownCpu.system) / 1000;
    clearInterval(rssTimer);
    polling = false;
    await Promise.all(pollers);
    pollRedis.disconnect();
    appendAgent.destroy();

    // End every stream: each subscription must complete on its own, having seen every event once, in order.
    await inParallel(runIds, 32, async (runId, i) => {
      await (appenders[i % appenders.length] as RuntraceClient).runs.appendEvents.mutate({
        runId,
        events: [{ messageType: 'stop_reason', stopReason: 'end_turn' }],
        end: true,
      });
    });
    // Each run: the warm-up event, every runs.length-th timed one, the stop_reason.
    const expected = Object.fromEntries(
      runIds.map((id, i) => [id, 2 + Math.floor(total / runIds.length) + (i < total % runIds.length ? 1 : 0)]),
    );
    const finished = await subscribers.finish(expected, 60_000);
    for (const p of finished.problems) problem(p);
    await sleep(500);
    const rssAfter = api.rss();
    const clientsAfter = await redisClientCount(redis);
    result = {
      scenario,
      appended: total,
      deliveries: finished.deliveries,
      wallMs: appendMs,
      latencies: finished.latencies,
      pollLatencies,
      appendLatencies,
      problems,
      rssPeak,
      rssAfter,
      apiCpuMs: (apiCpuMs * appendMs) / wallMs,
      subscriberCpuMs: (subscriberCpuMs * appendMs) / wallMs,
      appenderCpuMs: (appenderCpuMs * appendMs) / wallMs,
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

/**
 * (a) and (b), each read by load-generator subscribers (the targets apply to these, as a server's latency is measured
 * by wrk rather than by a client library) and again through @runtrace/client (printed beside, no target).
 */
export function streamScenarios(seconds: number, rateScale = 1): StreamScenario[] {
  const shapes = [
    {
      name: '(a) 1,000 runs × 1 subscriber',
      runs: 1000,
      subscribersPerRun: 1,
      eventsPerSecond: 1000,
      seconds,
      polledRuns: 10,
      targets: { p50: 2, p99: 10, pollRatio: 25 },
    },
    {
      name: '(b) 1 run × 100 subscribers',
      runs: 1,
      subscribersPerRun: 100,
      eventsPerSecond: 100,
      seconds,
      polledRuns: 1,
      targets: { p99: 20, pollRatio: 25 },
    },
  ];
  const scenarios: StreamScenario[] = shapes.flatMap((shape) => [
    { ...shape, subscriber: 'sse' as const },
    { ...shape, name: `${shape.name}, typed client`, subscriber: 'typed' as const, targets: {} },
  ]);
  if (rateScale === 1) return scenarios;
  // At another rate the targets (set for the rates above) do not apply; the figures are printed without checks.
  return scenarios.map((sc) => ({
    ...sc,
    name: `${sc.name} at ${int(sc.eventsPerSecond * rateScale)}/s`,
    eventsPerSecond: sc.eventsPerSecond * rateScale,
    targets: {},
  }));
}

/**
 * Live run streams: append → subscriber latency over the whole path (HTTP append, Redis, the api's reader, SSE, the
 * client), with the api in a process of its own (`node --import tsx apps/api/src/main.ts` with DATABASE_URL and
 * REDIS_URL) and the appender and subscribers in the bench's process (one clock for both ends of each latency).
 */
export const streamsSection: BenchSection = {
  name: 'streams',
  needsSeed: false,
  async run(ctx: BenchContext) {
    const { env, options, log } = ctx;
    const redisUrl = await resolveRedisUrl(env.runtime.config, log);
    if (!redisUrl) {
      return {
        title: 'live run streams',
        table: `skipped: no Redis (set REDIS_URL, or start one on ${FALLBACK_REDIS_URL})`,
        notes: [],
        checks: [{ name: 'streams: a Redis server to run against', pass: false }],
      };
    }
    log(`    starting an api process on the scratch database with REDIS_URL=${redisUrl} …`);
    const api = await spawnApi({ DATABASE_URL: env.databaseUrl, REDIS_URL: redisUrl, RUNTRACE_AUTH: 'optional' });
    const results: ScenarioResult[] = [];
    const processes = options.streamSubscriberProcesses ?? 2;
    let rssStart = Number.NaN;
    try {
      rssStart = api.rss();
      log(`    api pid ${api.pid} on ${api.url}, RSS ${mib(rssStart)}`);
      const scenarios = streamScenarios(options.streamSeconds ?? 15, options.streamRateScale ?? 1).filter(
        (sc) => !options.streamScenarios || options.streamScenarios.includes(sc.name.slice(1, 2)),
      );
      for (const scenario of scenarios) {
        results.push(await runScenario(api, redisUrl, scenario, processes, log));
      }
    } finally {
      await api.stop();
    }

    const checks: Check[] = [];
    const rows = results.map((r) => {
      const p50 = percentile(r.latencies, 50);
      const p99 = percentile(r.latencies, 99);
      const pollP50 = percentile(r.pollLatencies, 50);
      const t = r.scenario.targets;
      const targets: string[] = [];
      if (t.p50 !== undefined) {
        targets.push(`p50 ≤ ${t.p50}`);
        checks.push({ name: `streams ${r.scenario.name}: p50 ${ms(p50)} ms ≤ ${t.p50} ms`, pass: p50 <= t.p50 });
      }
      if (t.p99 !== undefined) {
        targets.push(`p99 ≤ ${t.p99}`);
        checks.push({ name: `streams ${r.scenario.name}: p99 ${ms(p99)} ms ≤ ${t.p99} ms`, pass: p99 <= t.p99 });
      }
      if (t.pollRatio !== undefined) {
        targets.push(`poll/p50 ≥ ${t.pollRatio}×`);
        checks.push({
          name: `streams ${r.scenario.name}: median ${ratio(pollP50 / p50)} lower than XRANGE polling (≥ ${t.pollRatio}×)`,
          pass: pollP50 / p50 >= t.pollRatio,
        });
      }
      checks.push({
        name: `streams ${r.scenario.name}: every event once and in order, every subscription completed`,
        pass: r.problems.length === 0,
      });
      return [
        r.scenario.name,
        int(r.appended),
        int((r.deliveries * 1000) / r.wallMs),
        ms(p50),
        ms(p99),
        ms(r.latencies.length ? r.latencies.reduce((a, b) => Math.max(a, b)) : Number.NaN),
        ms(pollP50),
        ms(percentile(r.pollLatencies, 99)),
        ratio(pollP50 / p50),
        ms(percentile(r.appendLatencies, 50)),
        ms(percentile(r.appendLatencies, 99)),
        `${((r.apiCpuMs / r.wallMs) * 100).toFixed(0)}%`,
        `${((r.subscriberCpuMs / r.wallMs) * 100).toFixed(0)}%`,
        `${((r.appenderCpuMs / r.wallMs) * 100).toFixed(0)}%`,
        mib(r.rssPeak),
        targets.join(', '),
      ];
    });
    const table = formatTable(
      [
        { header: 'scenario', align: 'left' },
        { header: 'events' },
        { header: 'deliveries/s' },
        { header: 'p50 ms' },
        { header: 'p99 ms' },
        { header: 'max ms' },
        { header: 'XRANGE poll p50' },
        { header: 'poll p99' },
        { header: 'poll/p50' },
        { header: 'append p50' },
        { header: 'append p99' },
        { header: 'api cpu' },
        { header: 'subscribers cpu' },
        { header: 'appender cpu' },
        { header: 'api RSS peak' },
        { header: 'targets', align: 'left' },
      ],
      rows,
    );
    const notes = [
      `Latency = the subscriber’s receive time − the append time written into the event, both read from the machine’s monotonic clock (process.hrtime); the api, the appender (the bench) and the subscribers (${processes} processes, subscriptions dealt round-robin) run in processes of their own.`,
      'Subscribers: the rows without a suffix read runs.stream as a load generator does (the GET httpSubscriptionLink sends, on node:http, SSE frames split and each event parsed; bench/stream-subscribers.ts); “typed client” rows subscribe through @runtrace/client in the same processes, whose per-event CPU (tRPC’s SSE consumer, the eventsource ponyfill, undici) is the client’s share.',
      'Each event is its own runs.appendEvents call, sent open-loop on schedule (not waiting for the previous one) as the request the typed client sends (POST /trpc/runs.appendEvents?batch=1, 32 keep-alive sockets, status checked); the baseline reads the same events with XRANGE every 100 ms when idle (Letta’s redis_sse_stream_generator, poll_interval 0.1) on its own Redis connection.',
      `api RSS: ${mib(rssStart)} at start; ${results.map((r) => `${r.scenario.name.split(' ')[0]} peak ${mib(r.rssPeak)}, ${mib(r.rssAfter)} after its subscribers left`).join('; ')}.`,
      `Redis connections (CLIENT LIST): ${results
        .map((r) => `${r.scenario.name.split(' ')[0]} ${r.redisClients.before} before, ${r.redisClients.during} while subscribed, ${r.redisClients.after} after`)
        .join('; ')}.`,
      `Subscribing (all connected and first event received): ${results.map((r) => `${r.scenario.name.split(' ')[0]} ${ms(r.subscribeMs)} ms`).join(', ')}.`,
      ...results.flatMap((r) => r.problems.slice(0, 5).map((p) => `problem in ${r.scenario.name}: ${p}`)),
    ];
    return { title: `live run streams (${options.streamSeconds} s per scenario, api in its own process)`, table, notes, checks };
  },
};

const mib = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(0)} MiB` : '—');
