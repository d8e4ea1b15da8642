import type { BenchEnvironment } from './environment.ts';
import type { Pinning } from './pinning.ts';
import type { SeedResult } from './seed.ts';

/** What every section gets: the running api and database, the seeded data, the options, a logger. */
export interface BenchContext {
  env: BenchEnvironment;
  seed: SeedResult;
  options: BenchOptions;
  log: (line: string) => void;
  /** Where the processes the section starts go (taskset): servers on one CPU, load generators on the others. */
  pinning: Pinning;
}

export interface BenchOptions {
  /** Runs seeded in one organization. */
  runs: number;
  /** Agents the runs are dealt to. */
  agents: number;
  /** Timed requests per runs.list scenario. */
  requests: number;
  /** Timed requests of the (slow) OFFSET baselines. */
  offsetRequests: number;
  /** Closed-loop workers for runs.list. */
  listConcurrency: number;
  /** Timed runs.create calls per concurrency. */
  creates: number;
  createConcurrency: number[];
  /** Seconds each live-stream phase appends for (four phases per scenario). */
  streamSeconds: number;
  /** Which live-stream scenarios run (`a`, `b`); all when undefined. */
  streamScenarios?: string[] | undefined;
  /** Processes the live-stream subscribers are dealt over. @default 2 */
  streamSubscriberProcesses?: number | undefined;
  /** Provider traces per telemetry scenario. */
  traces: number;
  /** Records of the sidecar's ingest measure. */
  sidecarRecords: number;
  /** OTLP exports (512 spans each) per ingest scenario of the traces section. */
  otlpExports: number;
  /** Spans seeded into otel_traces before runs.trace is timed. */
  traceTableSpans: number;
  /** Timed runs.trace calls. */
  traceQueries: number;
  /** Expired runs the purge section seeds and deletes (the documented figure is at 1,000,000). */
  purgeRuns: number;
  /** Runs (5 steps each) the analytics section seeds (the documented figure is at 1,000,000). */
  analyticsRuns: number;
  /** Timed calls per analytics procedure, in each of the closed and the open loop. */
  analyticsQueries: number;
  /** Timed steps.create calls per pricing scenario. */
  stepCreates: number;
  /** Node flags of every api process a section spawns (`--profile-api`: a CPU profile each). */
  apiNodeArgs: string[];
  /**
   * Set when the analytics section runs: null once the dashboard is built for its overview measure, else why not
   * (the bench builds it before the api starts, dashboard-overview.ts).
   */
  dashboardBuildError?: string | null | undefined;
}

/** A target a figure must meet; the bench prints PASS/FAIL for each. */
export interface Check {
  name: string;
  pass: boolean;
}

export interface SectionResult {
  title: string;
  /** The section's table, ready to print. */
  table: string;
  /** Lines printed under the table: how it was measured, query plans. */
  notes: string[];
  checks: Check[];
}

/** One part of `pnpm bench`; add a file exporting one of these and list it in bench/index.ts. */
export interface BenchSection {
  name: string;
  /** Whether the section reads the seeded runs (the seed is skipped when no selected section needs it). @default true */
  needsSeed?: boolean;
  /**
   * The section's servers run in processes of their own (pinned by the section to the server CPU): the bench's
   * process is only a load generator, pinned to the load CPUs while the section runs. @default false
   */
  loadGeneratorOnly?: boolean;
  run(ctx: BenchContext): Promise<SectionResult>;
}
