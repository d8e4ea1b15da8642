import { spawnApi } from '@runtrace/client/testing/apiProcess';
import { FALLBACK_REDIS_URL, resolveRedisUrl } from './resolve-redis-url.ts';
import { runStreamScenario, type ScenarioResult } from './run-stream-scenario.ts';
import type { BenchContext, BenchSection, Check } from './section.ts';
import { int, ms, percentile, ratio } from './stats.ts';
import { streamScenarios } from './stream-scenarios.ts';
import { formatTable } from './table.ts';

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
        results.push(await runStreamScenario(api, redisUrl, scenario, processes, log));
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
        .map(
          (r) =>
            `${r.scenario.name.split(' ')[0]} ${r.redisClients.before} before, ${r.redisClients.during} while subscribed, ${r.redisClients.after} after`,
        )
        .join('; ')}.`,
      `Subscribing (all connected and first event received): ${results.map((r) => `${r.scenario.name.split(' ')[0]} ${ms(r.subscribeMs)} ms`).join(', ')}.`,
      ...results.flatMap((r) => r.problems.slice(0, 5).map((p) => `problem in ${r.scenario.name}: ${p}`)),
    ];
    return {
      title: `live run streams (${options.streamSeconds} s per scenario, api in its own process)`,
      table,
      notes,
      checks,
    };
  },
};

const mib = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(0)} MiB` : '—');
