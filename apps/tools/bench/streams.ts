import { spawnApi } from '@runtrace/client/testing/apiProcess';
import { createLogger } from '@runtrace/core';
import { createStreamStores, type StreamStores } from '@runtrace/core/streams';
import { type FloorProcess, startFloor } from './floor-process.ts';
import { FALLBACK_REDIS_URL, resolveRedisUrl } from './resolve-redis-url.ts';
import { describeLoad, type PhaseOptions, type PhaseResult, runStreamPhase } from './run-stream-phase.ts';
import type { BenchContext, BenchSection, Check } from './section.ts';
import { int, ms, percentile, ratio } from './stats.ts';
import { STREAM_FLOOR_SCRIPT } from './stream-floor.ts';
import { STREAM_SCENARIOS, type StreamScenario } from './stream-scenarios.ts';
import { formatTable } from './table.ts';

/** The four phases of one scenario. */
interface ScenarioPhases {
  scenario: StreamScenario;
  api: PhaseResult;
  floor: PhaseResult;
  latency: PhaseResult;
  typed: PhaseResult;
  /** The bare node:http reader at the typed client's rate: its floor. */
  rawReader: PhaseResult;
}

const perDeliveryUs = (cpuMs: number, deliveries: number) =>
  deliveries > 0 ? (cpuMs * 1000) / deliveries : Number.NaN;
const us = (v: number) => (Number.isFinite(v) ? `${v.toFixed(1)} µs` : '—');

/**
 * Live run streams, issue 17's way. For each scenario: capacity (deliveries/s at saturation and the server's CPU per
 * delivered event) of the api and of the floor (bench/stream-floor.ts, a raw node:http SSE server relaying the same
 * Pub/Sub messages), then the api's latency under an open-loop load at half its capacity (beside Letta's XRANGE
 * polling), then the typed client's CPU per event received. The api, the floor and the subscribers run in processes of
 * their own; the writer (core's run-stream store: the api's write script) in the bench's process.
 */
export const streamsSection: BenchSection = {
  name: 'streams',
  needsSeed: false,
  loadGeneratorOnly: true,
  async run(ctx: BenchContext) {
    const { env, options, log, pinning } = ctx;
    const redisUrl = await resolveRedisUrl(env.runtime.config, log);
    if (!redisUrl) {
      return {
        title: 'live run streams',
        table: `skipped: no Redis (set REDIS_URL, or start one on ${FALLBACK_REDIS_URL})`,
        notes: [],
        checks: [{ name: 'streams: a Redis server to run against', pass: false }],
      };
    }
    log(`    starting an api process and the floor server with REDIS_URL=${redisUrl} …`);
    const api = await spawnApi(
      { DATABASE_URL: env.databaseUrl, REDIS_URL: redisUrl, RUNTRACE_AUTH: 'optional' },
      { nodeArgs: options.apiNodeArgs },
    );
    let floor: FloorProcess | null = null;
    let stores: StreamStores | null = null;
    const results: ScenarioPhases[] = [];
    const processes = options.streamSubscriberProcesses ?? 2;
    const seconds = options.streamSeconds ?? 15;
    try {
      floor = await startFloor(STREAM_FLOOR_SCRIPT, [redisUrl], options.apiNodeArgs);
      pinning.server(api.pid);
      pinning.server(floor.pid);
      log(`    api pid ${api.pid} on ${api.url}; floor pid ${floor.pid} on ${floor.url}`);
      stores = await createStreamStores(
        { redisUrl, streamRetentionMs: 3_600_000, streamMaxLen: 100_000 },
        createLogger('warn', 'runtrace-bench-writer'),
      );
      const apiServer = { name: 'api' as const, url: api.url, pid: api.pid };
      const floorServer = { name: 'floor' as const, url: floor.url, pid: floor.pid };
      const scenarios = STREAM_SCENARIOS.filter(
        (sc) => !options.streamScenarios || options.streamScenarios.includes(sc.name.slice(1, 2)),
      );
      for (const scenario of scenarios) {
        const phase = (o: Pick<PhaseOptions, 'server' | 'load' | 'subscriber' | 'poll'>) =>
          runStreamPhase({
            ...o,
            apiUrl: api.url,
            redisUrl,
            writer: (stores as StreamStores).stream,
            scenario,
            subscriberProcesses: processes,
            seconds,
            onSubscriberProcess: (pid) => pinning.load(pid),
            log,
          });
        const apiCapacity = await phase({
          server: apiServer,
          load: { kind: 'saturate' },
          subscriber: 'sse',
          poll: false,
        });
        const floorCapacity = await phase({
          server: floorServer,
          load: { kind: 'saturate' },
          subscriber: 'sse',
          poll: false,
        });
        const half = (apiCapacity.deliveries * 1000) / apiCapacity.wallMs / scenario.subscribersPerRun / 2;
        const latency = await phase({
          server: apiServer,
          load: { kind: 'rate', eventsPerSecond: half },
          subscriber: 'sse',
          poll: true,
        });
        const typedRate = Math.min(half, scenario.typedClientEventsPerSecond);
        const typed = await phase({
          server: apiServer,
          load: { kind: 'rate', eventsPerSecond: typedRate },
          subscriber: 'typed',
          poll: false,
        });
        // The typed client's floor: a bare node:http reader of the same stream at the same rate (what waking up,
        // reading the socket and parsing each event costs any Node subscriber on this machine).
        const rawReader = await phase({
          server: apiServer,
          load: { kind: 'rate', eventsPerSecond: typedRate },
          subscriber: 'sse',
          poll: false,
        });
        results.push({ scenario, api: apiCapacity, floor: floorCapacity, latency, typed, rawReader });
      }
    } finally {
      await stores?.stream.close();
      await stores?.changes.close();
      await floor?.stop();
      await api.stop();
    }
    return streamsResult(ctx, results, processes, seconds);
  },
};

function streamsResult(ctx: BenchContext, results: ScenarioPhases[], processes: number, seconds: number) {
  const checks: Check[] = [];
  const rows: string[][] = [];
  for (const r of results) {
    const t = r.scenario.targets;
    const name = r.scenario.name.split(' ')[0] as string;
    const apiUs = perDeliveryUs(r.api.serverCpuMs, r.api.deliveries);
    const floorUs = perDeliveryUs(r.floor.serverCpuMs, r.floor.deliveries);
    const p50 = percentile(r.latency.latencies, 50);
    const p99 = percentile(r.latency.latencies, 99);
    const pollP50 = percentile(r.latency.pollLatencies, 50);
    const typedUs = perDeliveryUs(r.typed.subscriberCpuMs, r.typed.deliveries);
    const row = (phase: PhaseResult, label: string, targets: [string, boolean][]) => {
      for (const [target, pass] of targets) checks.push({ name: `streams ${name} ${label}: ${target}`, pass });
      rows.push([
        `${r.scenario.name}, ${label}`,
        describeLoad(phase.load),
        int(phase.appended),
        int((phase.deliveries * 1000) / phase.wallMs),
        us(perDeliveryUs(phase.serverCpuMs, phase.deliveries)),
        us(perDeliveryUs(phase.subscriberCpuMs, phase.deliveries)),
        phase.latencies.length ? ms(percentile(phase.latencies, 50)) : '—',
        phase.latencies.length ? ms(percentile(phase.latencies, 99)) : '—',
        phase.pollLatencies.length ? ms(percentile(phase.pollLatencies, 50)) : '—',
        targets.map(([target]) => target).join(', '),
        targets.length ? (targets.every(([, pass]) => pass) ? 'PASS' : 'FAIL') : '',
      ]);
    };
    const capacityTargets: [string, boolean][] = [];
    if (t.floorCpuRatio !== undefined)
      capacityTargets.push([
        `api cpu/delivery ${ratio(apiUs / floorUs)} the floor's (≤ ${t.floorCpuRatio}×)`,
        apiUs / floorUs <= t.floorCpuRatio,
      ]);
    if (t.apiCpuUsPerDelivery !== undefined)
      capacityTargets.push([
        `api cpu/delivery ${us(apiUs)} (≤ ${t.apiCpuUsPerDelivery} µs)`,
        apiUs <= t.apiCpuUsPerDelivery,
      ]);
    row(r.api, 'api, capacity', capacityTargets);
    row(r.floor, 'floor (raw SSE relay), capacity', []);
    const latencyTargets: [string, boolean][] = [[`p99 ${ms(p99)} ms (≤ ${t.p99} ms)`, p99 <= t.p99]];
    if (t.pollRatio !== undefined)
      latencyTargets.push([
        `XRANGE poll p50 ${ratio(pollP50 / p50)} the api's (≥ ${t.pollRatio}×)`,
        pollP50 / p50 >= t.pollRatio,
      ]);
    row(r.latency, 'api, 50% of capacity', latencyTargets);
    const rawReaderUs = perDeliveryUs(r.rawReader.subscriberCpuMs, r.rawReader.deliveries);
    row(r.typed, 'typed client', [
      [
        `client cpu/event ${us(typedUs)} (≤ ${t.typedClientCpuUsPerEvent} µs; ${ratio(typedUs / rawReaderUs)} the bare reader's)`,
        typedUs <= t.typedClientCpuUsPerEvent,
      ],
    ]);
    row(r.rawReader, 'bare node:http reader (the typed client’s floor)', []);
    for (const [label, phase] of [
      ['api capacity', r.api],
      ['floor capacity', r.floor],
      ['latency', r.latency],
      ['typed client', r.typed],
      ['bare reader', r.rawReader],
    ] as const) {
      checks.push({
        name: `streams ${name} ${label}: every event once and in order, every subscription completed`,
        pass: phase.problems.length === 0,
      });
    }
  }
  const table = formatTable(
    [
      { header: 'scenario, phase', align: 'left' },
      { header: 'load', align: 'left' },
      { header: 'events' },
      { header: 'deliveries/s' },
      { header: 'server cpu/delivery' },
      { header: 'subscribers cpu/event' },
      { header: 'p50 ms' },
      { header: 'p99 ms' },
      { header: 'XRANGE poll p50' },
      { header: 'targets', align: 'left' },
      { header: 'result', align: 'left' },
    ],
    rows,
  );
  const { pinning } = ctx;
  const notes = [
    "Issue 17's method. Capacity: the writer appends as fast as the subscribers receive (a closed loop: at most 4,000 deliveries outstanding, 64 appends in flight), for the phase's seconds; deliveries/s and the server process's CPU per delivered event (/proc, 10 ms ticks) from the first append until every event was received. The floor: bench/stream-floor.ts, a raw node:http SSE server in a process of its own that subscribes to the same Pub/Sub channels (one connection, as the api's hub), sends the backlog (XRANGE) once subscribed, and relays each published entry as one SSE frame (the event's JSON spliced with runId and seqId, no parse) written to every subscriber of the run.",
    `Latency: the api at half the capacity it just showed (events/s = deliveries/s ÷ subscribers per run ÷ 2), open loop: event k is due at k/rate and carries its due time (process.hrtime, the machine's monotonic clock, the same in every process); latency = receipt − due time, so a stall shows in every event it delays (wrk2's way). Baseline in the same phase: Letta's reader, XRANGE every 100 ms while idle, on some of the runs straight from Redis.`,
    "Writer: core's run-stream store in the bench's process (createStreamStores, the write script the api's runs.appendEvents runs: XADD and PUBLISH on the run's channel), so that the server under measurement does the delivery only. Runs are created through the api (background, running) in every phase; every stream is ended at the end of the phase and each subscription must have received every event once, in order, and completed.",
    `Subscribers: ${processes} processes of their own, subscriptions dealt round-robin; the phases without "typed client" read runs.stream as a load generator does (the GET httpSubscriptionLink sends, on node:http, SSE frames split and each event's JSON parsed); the typed client phase subscribes through @runtrace/client (its own SSE link over node:http) at min(50% of capacity, ${STREAM_SCENARIOS.map((s) => `${s.name.split(' ')[0]} ${int(s.typedClientEventsPerSecond)}`).join(', ')} events/s), then the bare node:http reader at the same rate (the typed client's floor: waking up, reading and parsing each event); subscribers cpu/event = those processes' CPU per event received (the client's cost).`,
    pinning.enabled
      ? `Pinning: the api and the floor on CPU ${pinning.serverCpus}; the writer (this process) and the subscriber processes on CPU ${pinning.loadCpus}; Redis and Postgres unpinned.`
      : 'No pinning.',
    ...results.flatMap((r) =>
      (['api', 'floor', 'latency', 'typed'] as const).map(
        (k) =>
          `${r.scenario.name.split(' ')[0]} ${k}: subscribed in ${ms(r[k].subscribeMs)} ms; Redis connections ${r[k].redisClients.before} before, ${r[k].redisClients.during} while subscribed, ${r[k].redisClients.after} after; writer cpu ${us(perDeliveryUs(r[k].writerCpuMs, r[k].appended))}/event`,
      ),
    ),
    ...results.flatMap((r) =>
      (['api', 'floor', 'latency', 'typed'] as const).flatMap((k) =>
        r[k].problems.slice(0, 5).map((p) => `problem in ${r.scenario.name} ${k}: ${p}`),
      ),
    ),
  ];
  return {
    title: `live run streams (${seconds} s per phase; api, floor and subscribers in processes of their own)`,
    table,
    notes,
    checks,
  };
}
