import { AgentManager } from './agents/agent-manager.ts';
import { AnalyticsFeed } from './analytics/clickhouse/analytics-feed.ts';
import { ClickHouseAnalytics } from './analytics/clickhouse/clickhouse-analytics.ts';
import { PostgresAnalytics } from './analytics/postgres-analytics.ts';
import type { AnalyticsEngine } from './analytics/schemas.ts';
import { AuthManager } from './auth/auth-manager.ts';
import { type ClickHouse, connectClickHouse } from './clickhouse/connect.ts';
import { openMigratedClickHouse } from './clickhouse/migrate.ts';
import { type ApiConfig, ConfigError } from './config.ts';
import { connectDatabase, type Database } from './db/connect.ts';
import { pendingMigrations } from './db/migrate.ts';
import type { Logger } from './logger.ts';
import { MessageManager } from './messages/message-manager.ts';
import {
  clickhouseConfigured,
  clickhouseMigrateOptions,
  databaseConnectOptions,
  migrateDatabase,
} from './migrate-stores.ts';
import { PriceBook } from './pricing/price-book.ts';
import { PriceManager } from './pricing/price-manager.ts';
import { type Readiness, ReadinessProbe } from './readiness.ts';
import { RetentionJob } from './retention/retention-job.ts';
import { RetentionSettings } from './retention/retention-settings.ts';
import { type RunChange, RunManager } from './runs/run-manager.ts';
import { StepManager } from './steps/step-manager.ts';
import { createStreamStores } from './streams/factory.ts';
import type { RunChangeFeed } from './streams/run-changes.ts';
import { RunStreamService } from './streams/run-stream-service.ts';
import { createBackends } from './telemetry/factory.ts';
import { ProviderTraceService } from './telemetry/provider-trace-service.ts';
import { TelemetryManager } from './telemetry/telemetry-manager.ts';
import { registerMappingMetrics } from './traces/genai/mapping-metrics.ts';
import { RunsFromSpans } from './traces/genai/runs-from-spans.ts';
import { RunsFromSpansSettings } from './traces/genai/runs-from-spans-settings.ts';
import { OtelTraces } from './traces/otel-traces.ts';
import { createSelfTracer, type SelfTracer } from './traces/self-trace.ts';
import { registerSpanMetrics } from './traces/span-metrics.ts';

/** Everything a process needs to serve Runtrace: the database and the managers over it. */
export interface Runtime {
  readonly config: ApiConfig;
  readonly logger: Logger;
  readonly database: Database;
  readonly auth: AuthManager;
  readonly agents: AgentManager;
  readonly runs: RunManager;
  readonly steps: StepManager;
  /** The organizations' prices (`prices.*`, `pnpm runtrace prices`); steps.create prices steps from them. */
  readonly prices: PriceManager;
  readonly messages: MessageManager;
  /**
   * analytics.timeseries / analytics.summary: Postgres rollups kept by triggers (analytics/postgres-analytics.ts), or
   * ClickHouse when RUNTRACE_ANALYTICS_SOURCE=clickhouse.
   */
  readonly analytics: AnalyticsEngine;
  readonly telemetry: TelemetryManager;
  readonly providerTraces: ProviderTraceService;
  /** Background runs' event streams: append, subscribe, ended when the run becomes terminal (CONTRACTS §6). */
  readonly streams: RunStreamService;
  /** Run created/updated/deleted notifications per organization (`runs.changes`), across processes with Redis. */
  readonly runChanges: RunChangeFeed;
  /** The process's one ClickHouse (CLICKHOUSE_URL; chdb allows one per process), or null when it is off. */
  readonly clickhouse: ClickHouse | null;
  /** OpenTelemetry spans: OTLP ingest (`POST /v1/traces`), `runs.trace` and `runs.traceUpdates`. */
  readonly traces: OtelTraces;
  /** The SDK behind the api's own request spans (RUNTRACE_OTEL_SELF_TRACE), or null when off. */
  readonly selfTracer: SelfTracer | null;
  /** Per-organization runs-from-spans opt-in (`pnpm runtrace runs-from-spans`), cached for the OTLP ingest path. */
  readonly runsFromSpans: RunsFromSpansSettings;
  /** Per-organization retention overrides (`retention.get`/`retention.set`, `pnpm runtrace retention`). */
  readonly retention: RetentionSettings;
  /** Deletes expired runs and provider traces in Postgres; started unless `retentionJob: false`. */
  readonly retentionJob: RetentionJob;
  /**
   * Copies runs and steps into ClickHouse as they are written, when analytics are served from there
   * (RUNTRACE_ANALYTICS_SOURCE=clickhouse); else null.
   */
  readonly analyticsFeed: AnalyticsFeed | null;
  /** The ClickHouse analytics engine when RUNTRACE_ANALYTICS_SOURCE=clickhouse; else null. */
  readonly clickhouseAnalytics: ClickHouseAnalytics | null;
  /** Whether every configured store answers and the migrations are applied (`/readyz`). */
  readiness(): Promise<Readiness>;
  /** Drains background work (callbacks, telemetry queues), then closes the database. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  config: ApiConfig;
  logger: Logger;
  /** Overrides where PGlite lives (tests use `memory`). @default `<dataDir>/pgdata` */
  pgliteDir?: string;
  onRunChange?: (change: RunChange) => void | Promise<void>;
  /**
   * Open ClickHouse (span tables, the clickhouse provider-trace backend's shared handle). Tools that need neither and
   * may run beside the api (the CLI) pass false, since an embedded ClickHouse admits one process. @default true
   */
  clickhouse?: boolean;
  /** The ClickHouse database (tests give each runtime its own). @default CLICKHOUSE_URL's, else 'runtrace' */
  clickhouseDatabase?: string;
  /** Schedule the retention job (one-shot tools such as the CLI pass false). @default true */
  retentionJob?: boolean;
}

/**
 * What {@link createRuntime} has opened so far, as a stack of closers: run newest first by `Runtime.close()`, and by
 * createRuntime itself when a later step of start-up fails (Redis unreachable, a backend that cannot open), so a failed
 * start leaves no pool, engine (chdb admits one per process), timer or socket behind.
 */
class OpenedResources {
  readonly #closers: (() => unknown)[] = [];

  /** Registers how to close what was just opened. */
  add(close: () => unknown): void {
    this.#closers.push(close);
  }

  /** Runs every closer, newest first, each after the previous one settled; then throws the first failure. Idempotent. */
  async close(): Promise<void> {
    let failure: { error: unknown } | null = null;
    for (let close = this.#closers.pop(); close; close = this.#closers.pop()) {
      try {
        await close();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
  }
}

/**
 * Connects, migrates under the advisory lock (unless RUNTRACE_MIGRATE=off: then pending migrations leave it live but
 * not ready), creates the default actor, and wires the managers.
 */
export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const opened = new OpenedResources();
  try {
    return await openRuntime(options, opened);
  } catch (err) {
    await opened
      .close()
      .catch((closeErr: unknown) =>
        options.logger.warn({ err: closeErr }, 'closing what was opened before start-up failed also failed'),
      );
    throw err;
  }
}

async function openRuntime(options: RuntimeOptions, opened: OpenedResources): Promise<Runtime> {
  const { config, logger } = options;
  if (config.analyticsSource === 'clickhouse' && !clickhouseConfigured(config)) {
    throw new ConfigError('RUNTRACE_ANALYTICS_SOURCE=clickhouse needs ClickHouse, but CLICKHOUSE_URL is off');
  }
  // Registered before either opens, so that they close in one order (ClickHouse, then the database) whichever of the
  // two opens first, and a database whose migrations fail is closed with the rest.
  const early: { database?: Database; clickhouse?: ClickHouse | null } = {};
  opened.add(() => early.database?.close());
  opened.add(() => early.clickhouse?.close());
  // Postgres (or PGlite's WASM) and ClickHouse (chdb's native library) start independently: in parallel, start-up
  // takes as long as the slower of the two instead of their sum. Both settle before a failure is thrown, so that
  // nothing is still opening when the closers run.
  const [databaseResult, clickhouseResult] = await Promise.allSettled([
    (async () => {
      const db = await connectDatabase(databaseConnectOptions(config, options.pgliteDir));
      early.database = db;
      if (config.migrateAtStart) {
        const applied = await migrateDatabase(db);
        if (applied.length) logger.info({ applied: applied.length }, 'database migrations applied');
      } else if ((await pendingMigrations(db.db)) === 0) {
        await new AuthManager({ db: db.db }).ensureDefaultActor();
      } else {
        // Another step (`pnpm runtrace migrate`) applies them; /readyz says not ready meanwhile.
        logger.warn('database migrations pending and RUNTRACE_MIGRATE=off: not ready until they are applied');
      }
      return db;
    })(),
    (async () => {
      if (!((options.clickhouse ?? true) && clickhouseConfigured(config))) return null;
      const chOptions = clickhouseMigrateOptions(config, options.clickhouseDatabase);
      if (!config.migrateAtStart) {
        early.clickhouse = await connectClickHouse(chOptions);
        return early.clickhouse;
      }
      const migrated = await openMigratedClickHouse(chOptions);
      early.clickhouse = migrated.clickhouse;
      if (migrated.applied.length) logger.info({ applied: migrated.applied }, 'ClickHouse migrations applied');
      return migrated.clickhouse;
    })(),
  ]);
  if (databaseResult.status === 'rejected') throw databaseResult.reason;
  if (clickhouseResult.status === 'rejected') throw clickhouseResult.reason;
  const database = databaseResult.value;
  const clickhouse = clickhouseResult.value;

  const auth = new AuthManager({ db: database.db });
  // Opened before the span store, which publishes ingested spans on its feed: closed after it, once it has flushed.
  const stores = await createStreamStores(config, logger);
  opened.add(() => stores.changes.close());
  opened.add(() => stores.stream.close());
  const traces = new OtelTraces({ clickhouse, db: database.db, feed: stores.changes, logger });
  opened.add(() => traces.close());
  // Tools without ClickHouse (the CLI) serve no requests to trace.
  const selfTracer =
    (options.clickhouse ?? true) ? createSelfTracer(config.selfTrace, { traces, logger, apiKey: config.apiKey }) : null;
  opened.add(() => selfTracer?.close());
  const backends = await createBackends(config.telemetryBackends, { db: database.db, logger, config, clickhouse });
  const telemetry = new TelemetryManager({ backends, logger });
  opened.add(() => telemetry.close());
  registerSpanMetrics(telemetry.metrics.registry, traces);
  const analyticsOnClickHouse = config.analyticsSource === 'clickhouse' && clickhouse !== null;
  const analyticsFeed = analyticsOnClickHouse
    ? new AnalyticsFeed({ db: database.db, clickhouse, logger, registry: telemetry.metrics.registry })
    : null;
  opened.add(() => analyticsFeed?.close());
  const clickhouseAnalytics = analyticsOnClickHouse ? new ClickHouseAnalytics({ db: database.db, clickhouse }) : null;
  let streams: RunStreamService | null = null;
  const runs = new RunManager({
    analytics: analyticsFeed,
    db: database.db,
    logger,
    callbacks: { secret: config.callbackSecret, allowPrivate: config.callbackAllowPrivate },
    onChange: async (change) => {
      await Promise.all([stores.changes.publish(change), options.onRunChange?.(change)]);
    },
    onTerminal: async (actor, run, final) => streams?.onRunTerminal(actor, run, final),
    deleteRunData: (actor, runId) => telemetry.deleteByRun(actor, runId),
  });
  opened.add(() => runs.close());
  streams = new RunStreamService({
    db: database.db,
    runs,
    stream: stores.stream,
    logger,
    retentionMs: config.streamRetentionMs,
    staleAfterMs: config.streamStaleAfterMs,
    sweepIntervalMs: config.streamSweepIntervalMs,
  });
  const streamService = streams;
  opened.add(() => streamService.close());
  streamService.start();
  const retentionJob = new RetentionJob({
    database,
    logger,
    defaultDays: config.retentionDays,
    intervalMs: config.retentionIntervalMs,
    batchSize: config.retentionBatchSize,
    registry: telemetry.metrics.registry,
  });
  opened.add(() => retentionJob.close());
  if (options.retentionJob ?? true) retentionJob.start();
  const probe = new ReadinessProbe({ db: database.db, redisUrl: config.redisUrl, clickhouse });
  opened.add(() => probe.close());
  const priceBook = new PriceBook(database.db);
  const stepManager = new StepManager({ db: database.db, prices: priceBook, analytics: analyticsFeed });
  const messages = new MessageManager({ db: database.db });
  const providerTraces = new ProviderTraceService({ db: database.db, telemetry });
  const runsFromSpans = new RunsFromSpansSettings(database.db);
  const mapping = new RunsFromSpans({
    db: database.db,
    runs,
    steps: stepManager,
    messages,
    providerTraces,
    settings: runsFromSpans,
    logger,
  });
  traces.useMapping(mapping);
  registerMappingMetrics(telemetry.metrics.registry, mapping);
  return {
    config,
    logger,
    database,
    auth,
    agents: new AgentManager({ db: database.db }),
    runs,
    steps: stepManager,
    prices: new PriceManager({ db: database.db, book: priceBook, analytics: analyticsFeed }),
    messages,
    analytics: clickhouseAnalytics ?? new PostgresAnalytics({ db: database.db }),
    telemetry,
    providerTraces,
    streams: streamService,
    runChanges: stores.changes,
    clickhouse,
    traces,
    selfTracer,
    runsFromSpans,
    retention: new RetentionSettings(database.db, config.retentionDays),
    retentionJob,
    analyticsFeed,
    clickhouseAnalytics,
    readiness: () => probe.check(),
    close: () => opened.close(),
  };
}
