/**
 * `pnpm bench`: Runtrace's benchmarks against a real Postgres, every figure beside a baseline from the same run.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test pnpm bench            # 1,000,000 runs
 *   pnpm bench -- --runs 200000 --requests 1000                                 # quicker
 *
 * Creates a scratch database on the server, migrates it, seeds runs in bulk, starts the api in this process on an
 * ephemeral port, runs each section over HTTP with the real client, prints the tables, and drops the database
 * (also on error and Ctrl-C).
 */
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_ORGANIZATION_ID } from '@runtrace/core';
import { ConfigError, loadApiConfig, loadToolConfig } from '@runtrace/core/config';
import { intFlag, parseFlags } from '../src/args.ts';
import { analyticsSection } from './analytics.ts';
import { compressionSection } from './compression.ts';
import { buildDashboard } from './dashboard-overview.ts';
import { directRoutesSection } from './direct-routes.ts';
import { Cleanup, describeUrl, openEnvironment, resolveServerUrl } from './environment.ts';
import { createPinning } from './pinning.ts';
import { purgeSection } from './purge.ts';
import { runsCreateSection } from './runs-create.ts';
import { runsListSection } from './runs-list.ts';
import type { BenchOptions, BenchSection, Check } from './section.ts';
import { type SeedResult, seedRuns } from './seed.ts';
import { spanMappingSection } from './span-mapping.ts';
import { int, seconds } from './stats.ts';
import { stepsPricingSection } from './steps-pricing.ts';
import { streamsSection } from './streams.ts';
import { telemetrySection } from './telemetry.ts';
import { tracesSection } from './traces.ts';

/** Every section, in the order they run. A new benchmark is a new file and one line here. */
const SECTIONS: BenchSection[] = [
  runsListSection,
  runsCreateSection,
  telemetrySection,
  streamsSection,
  tracesSection,
  spanMappingSection,
  purgeSection,
  stepsPricingSection,
  analyticsSection,
  compressionSection,
  directRoutesSection,
];

const USAGE = `pnpm bench [-- options]

  --runs <n>                runs seeded in one organization (default RUNTRACE_BENCH_RUNS or 1,000,000)
  --agents <n>              agents the runs are dealt to (default 100)
  --requests <n>            timed requests per runs.list scenario (default 2,000)
  --offset-requests <n>     timed queries of the OFFSET baselines (default 8: at a million runs each takes seconds)
  --concurrency <n>         runs.list workers (default 8)
  --creates <n>             timed runs.create calls per concurrency (default 5,000)
  --create-concurrency <l>  comma list (default 8,64)
  --stream-seconds <n>      seconds each live-stream phase appends for (default 15; 4 phases per scenario)
  --stream-scenarios <l>    comma list of live-stream scenarios: a (1,000 runs × 1 subscriber), b (1 run × 100)
  --stream-processes <n>    processes the live-stream subscribers are dealt over (default 2)
  --traces <n>              provider traces per telemetry row (default 20,000)
  --sidecar-records <n>     records of the sidecar ingest measure (default 300,000)
  --otlp-exports <n>        OTLP exports of 512 spans per ingest scenario (default 400)
  --trace-table-spans <n>   spans seeded for runs.trace (default 10,000,000; ~50 s per 10 M on an idle machine)
  --trace-queries <n>       timed runs.trace calls (default 300)
  --purge-runs <n>          expired runs (with children) the purge section seeds and deletes (default 200,000;
                            the documented figure is at 1,000,000)
  --analytics-runs <n>      runs (5 steps each) the analytics section seeds over 30 days (default 1,000,000)
  --analytics-queries <n>   timed calls per analytics procedure, closed and open loop (default 200); the section
                            also builds the dashboard and times its overview of those runs in Chromium
  --step-creates <n>        timed steps.create calls per pricing scenario (default 5,000)
  --only <names>            comma list of sections: ${SECTIONS.map((s) => s.name).join(', ')}
  --check                   exit 1 when a target is missed
  --no-pin                  do not pin processes to CPUs with taskset (by default, when taskset exists and there
                            are 2+ CPUs: servers under measurement on the last CPU, the load generator on the others)
  --keep                    keep the scratch database (to study plans); the bench says its name
  --keep-indexes            seed with every index in place (slower; indexes grown row by row, as in production)
  --profile-api <dir>       write a CPU profile of each api and floor process the bench spawns (runs.list,
                            streams, direct-routes) into <dir> (node --cpu-prof), to see where a missed target's
                            CPU goes

Needs a Postgres server: DATABASE_URL, else ${'postgres://postgres@127.0.0.1:5432/test'} if it answers.`;

const log = (line: string) => console.log(line);

/** Set on SIGINT/SIGTERM: the failures that follow (queries cut off by the drop) are expected, not reported. */
let stopping = false;
/** 1, 5 and 15-minute load averages: above the core count, other processes shared the CPUs with the bench. */
const loadAverage = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
const busy = () => (os.loadavg()[0] ?? 0) > os.cpus().length * 0.5;

async function main(): Promise<number> {
  const flags = parseFlags({
    runs: { type: 'string' },
    agents: { type: 'string' },
    requests: { type: 'string' },
    'offset-requests': { type: 'string' },
    concurrency: { type: 'string' },
    creates: { type: 'string' },
    'create-concurrency': { type: 'string' },
    'stream-seconds': { type: 'string' },
    'stream-scenarios': { type: 'string' },
    'stream-processes': { type: 'string' },
    traces: { type: 'string' },
    'sidecar-records': { type: 'string' },
    'otlp-exports': { type: 'string' },
    'trace-table-spans': { type: 'string' },
    'trace-queries': { type: 'string' },
    'purge-runs': { type: 'string' },
    'analytics-runs': { type: 'string' },
    'analytics-queries': { type: 'string' },
    'step-creates': { type: 'string' },
    only: { type: 'string' },
    check: { type: 'boolean' },
    'no-pin': { type: 'boolean' },
    keep: { type: 'boolean' },
    'keep-indexes': { type: 'boolean' },
    'profile-api': { type: 'string' },
  });
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  // The bench runs an api in its process (that api's variables) and is a tool (RUNTRACE_BENCH_RUNS).
  const config = loadApiConfig();
  const { benchRuns } = loadToolConfig();
  const options: BenchOptions = {
    runs: intFlag('runs', flags.runs, benchRuns ?? 1_000_000),
    agents: intFlag('agents', flags.agents, 100),
    requests: intFlag('requests', flags.requests, 2_000),
    offsetRequests: intFlag('offset-requests', flags['offset-requests'], 8),
    listConcurrency: intFlag('concurrency', flags.concurrency, 8),
    creates: intFlag('creates', flags.creates, 5_000),
    createConcurrency: (flags['create-concurrency'] ?? '8,64')
      .split(',')
      .map((v) => intFlag('create-concurrency', v.trim(), 8)),
    streamSeconds: intFlag('stream-seconds', flags['stream-seconds'], 15),
    streamScenarios: flags['stream-scenarios']?.split(',').map((v) => v.trim()),
    streamSubscriberProcesses: intFlag('stream-processes', flags['stream-processes'], 2),
    traces: intFlag('traces', flags.traces, 20_000),
    sidecarRecords: intFlag('sidecar-records', flags['sidecar-records'], 300_000),
    otlpExports: intFlag('otlp-exports', flags['otlp-exports'], 400),
    traceTableSpans: intFlag('trace-table-spans', flags['trace-table-spans'], 10_000_000),
    traceQueries: intFlag('trace-queries', flags['trace-queries'], 300),
    purgeRuns: intFlag('purge-runs', flags['purge-runs'], 200_000),
    analyticsRuns: intFlag('analytics-runs', flags['analytics-runs'], 1_000_000),
    analyticsQueries: intFlag('analytics-queries', flags['analytics-queries'], 200),
    stepCreates: intFlag('step-creates', flags['step-creates'], 5_000),
    apiNodeArgs: flags['profile-api'] ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(flags['profile-api'])}`] : [],
  };
  if (options.runs < options.agents * 200) {
    console.error(
      `--runs must be at least ${int(options.agents * 200)} (200 per agent, for a deep page of each agent)`,
    );
    return 2;
  }
  const only = flags.only?.split(',').map((s) => s.trim());
  const sections = only ? SECTIONS.filter((s) => only.includes(s.name)) : SECTIONS;
  if (only && sections.length !== only.length) {
    console.error(`--only: unknown section among ${only.join(', ')}; known: ${SECTIONS.map((s) => s.name).join(', ')}`);
    return 2;
  }

  const started = performance.now();
  const pinning = createPinning(flags['no-pin'] === true);
  const cleanup = new Cleanup();
  const interrupted = (signal: NodeJS.Signals) => {
    stopping = true;
    console.error(`\n${signal}: stopping; dropping the scratch database …`);
    void cleanup.run().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  try {
    log(`Runtrace bench — ${new Date().toISOString()}`);
    log(
      `  machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${int(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    );
    log(`  ${pinning.describe()}`);
    log(
      `  load average before start: ${loadAverage()}${busy() ? '  ← the machine is busy: figures will be inflated' : ''}`,
    );
    // Before the api starts: it looks for the dashboard's build once, as it starts.
    if (sections.includes(analyticsSection)) options.dashboardBuildError = buildDashboard(log);
    const serverUrl = await resolveServerUrl(config, log);
    log(`  Postgres server: ${describeUrl(serverUrl)}`);
    const env = await openEnvironment(serverUrl, config, cleanup, log, flags.keep);
    const [version] = await env.sql<{ v: string }[]>`select split_part(version(), ' ', 2) as v`;
    log(`  Postgres ${version?.v}`);

    let seed: SeedResult = {
      organizationId: DEFAULT_ORGANIZATION_ID,
      runs: 0,
      agentIds: [],
      sharedTimestamps: 0,
      insertMs: 0,
      indexMs: 0,
      seedMs: 0,
      analyzeMs: 0,
    };
    if (sections.some((s) => s.needsSeed !== false)) {
      log(
        `\nSeeding ${int(options.runs)} runs over ${options.agents} agents in one organization ` +
          `(INSERT … SELECT FROM generate_series, 100,000 per statement${flags['keep-indexes'] ? ', indexes maintained row by row' : ', secondary indexes rebuilt after'}):`,
      );
      seed = await seedRuns(
        env.sql,
        { runs: options.runs, agents: options.agents, rebuildIndexes: !flags['keep-indexes'] },
        log,
      );
      log(
        `  seeded ${int(seed.runs)} runs + ${int(seed.runs)} run_metrics rows in ${seconds(seed.seedMs)} ` +
          `(${int((seed.runs * 1000) / seed.seedMs)} runs/s: insert ${seconds(seed.insertMs)}, ` +
          `${int((seed.runs * 1000) / seed.insertMs)} rows/s; index builds ${seconds(seed.indexMs)}), ` +
          `VACUUM ANALYZE ${seconds(seed.analyzeMs)}; ${int(seed.sharedTimestamps)} runs share their created_at with another`,
      );
      const [size] = await env.sql<{ runs: string; total: string }[]>`
        select pg_size_pretty(pg_total_relation_size('runs')) as runs,
               pg_size_pretty(pg_total_relation_size('runs') + pg_total_relation_size('run_metrics')) as total`;
      log(`  runs table with its indexes: ${size?.runs}; with run_metrics: ${size?.total}`);
    } else {
      log('\nNo seed: the selected sections do not read the seeded runs.');
    }

    const checks: Check[] = [];
    const outputs: string[] = [];
    for (const section of sections) {
      log(`\n${section.name}:`);
      const t0 = performance.now();
      if (section.loadGeneratorOnly) pinning.load(process.pid);
      const result = await section
        .run({ env, seed, options, log, pinning })
        .finally(() => section.loadGeneratorOnly && pinning.release(process.pid));
      const took = seconds(performance.now() - t0);
      log(`    done in ${took}; load average ${loadAverage()}`);
      outputs.push(
        [
          `\n${result.title}  (${took}, load average after ${loadAverage()})`,
          result.table,
          ...result.notes.map((n) => `  ${n}`),
        ].join('\n'),
      );
      checks.push(...result.checks);
    }

    const failed = checks.filter((c) => !c.pass);
    for (const text of outputs) log(text);
    log(
      `\ntargets: ${checks.length - failed.length} of ${checks.length} met${failed.length ? `; missed: ${failed.map((c) => c.name).join('; ')}` : ''}`,
    );
    log(`total bench time ${seconds(performance.now() - started)} (seed included)`);
    return failed.length && flags.check ? 1 : 0;
  } finally {
    await cleanup.run();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (stopping) return; // the signal handler exits once the scratch database is dropped
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  },
);
