import path from 'node:path';
import type { Config } from './config.ts';
import { AgentManager } from './agents/agent-manager.ts';
import { AuthManager } from './auth/auth-manager.ts';
import type { ClickHouse } from './clickhouse/connect.ts';
import { openMigratedClickHouse } from './clickhouse/migrate.ts';
import { connectDatabase, type Database } from './db/connect.ts';
import { migrate } from './db/migrate.ts';
import type { Logger } from './logger.ts';
import { type Readiness, ReadinessProbe } from './readiness.ts';
import { MessageManager } from './messages/message-manager.ts';
import { type RunChange, RunManager } from './runs/run-manager.ts';
import { StepManager } from './steps/step-manager.ts';
import { createStreamStores } from './streams/factory.ts';
import type { RunChangeFeed } from './streams/run-changes.ts';
import { RunStreamService } from './streams/run-stream-service.ts';
import { createBackends } from './telemetry/factory.ts';
import { ProviderTraceService } from './telemetry/provider-trace-service.ts';
import { TelemetryManager } from './telemetry/telemetry-manager.ts';
import { OtelTraces } from './traces/otel-traces.ts';
import { createSelfTracer, type SelfTracer } from './traces/self-trace.ts';
import { registerSpanMetrics } from './traces/span-metrics.ts';

/** Everything a process needs to serve Runtrace: the database and the managers over it. */
export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly database: Database;
  readonly auth: AuthManager;
  readonly agents: AgentManager;
  readonly runs: RunManager;
  readonly steps: StepManager;
  readonly messages: MessageManager;
  readonly telemetry: TelemetryManager;
  readonly providerTraces: ProviderTraceService;
  /** Background runs' event streams: append, subscribe, ended when the run becomes terminal (CONTRACTS §6). */
  readonly streams: RunStreamService;
  /** Run created/updated/deleted notifications per organization (`runs.changes`), across processes with Redis. */
  readonly runChanges: RunChangeFeed;
  /** The process's one ClickHouse (CLICKHOUSE_URL; chdb allows one per process), or null when it is off. */
  readonly clickhouse: ClickHouse | null;
  /** OpenTelemetry spans: OTLP ingest (`POST /v1/traces`) and `runs.trace`. */
  readonly traces: OtelTraces;
  /** The SDK behind the api's own request spans (RUNTRACE_OTEL_SELF_TRACE), or null when off. */
  readonly selfTracer: SelfTracer | null;
  /** Whether every configured store answers and the migrations are applied (`/readyz`). */
  readiness(): Promise<Readiness>;
  /** Drains background work (callbacks, telemetry queues), then closes the database. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  config: Config;
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
}

/** Connects, migrates under the advisory lock, creates the default actor, and wires the managers. */
export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { config, logger } = options;
  // Postgres (or PGlite's WASM) and ClickHouse (chdb's native library) start independently: in parallel, start-up
  // takes as long as the slower of the two instead of their sum.
  const opening = await Promise.allSettled([
    (async () => {
      const db = await connectDatabase({
        url: config.databaseUrl,
        pgliteDir: options.pgliteDir ?? path.join(config.dataDir, 'pgdata'),
        connectTimeoutMs: config.dbConnectTimeoutMs,
        statementTimeoutMs: config.dbStatementTimeoutMs,
        acquireTimeoutMs: config.dbAcquireTimeoutMs,
      });
      try {
        const applied = await migrate(db.unboundedDb);
        if (applied.length) logger.info({ applied: applied.length }, 'database migrations applied');
        await new AuthManager({ db: db.db }).ensureDefaultActor();
        return db;
      } catch (err) {
        await db.close();
        throw err;
      }
    })(),
    (options.clickhouse ?? true) && config.clickhouseUrl?.trim() !== 'off'
      ? openMigratedClickHouse({
          url: config.clickhouseUrl,
          dataDir: config.dataDir,
          database: options.clickhouseDatabase,
          ttlDays: config.clickhouseTraceTtlDays,
          otelTtlDays: config.otelTtlDays,
        }).then((opened) => {
          if (opened.applied.length) logger.info({ applied: opened.applied }, 'ClickHouse migrations applied');
          return opened.clickhouse;
        })
      : Promise.resolve(null),
  ]);
  const [databaseResult, clickhouseResult] = opening;
  if (databaseResult.status === 'rejected' || clickhouseResult.status === 'rejected') {
    if (databaseResult.status === 'fulfilled') await databaseResult.value.close();
    if (clickhouseResult.status === 'fulfilled') await clickhouseResult.value?.close();
    throw databaseResult.status === 'rejected' ? databaseResult.reason : (clickhouseResult as PromiseRejectedResult).reason;
  }
  const database = databaseResult.value;
  const clickhouse: ClickHouse | null = clickhouseResult.value;
  try {
    const auth = new AuthManager({ db: database.db });
    const traces = new OtelTraces({ clickhouse, db: database.db });
    // Tools without ClickHouse (the CLI) serve no requests to trace.
    const selfTracer = (options.clickhouse ?? true) ? createSelfTracer(config.selfTrace, { traces, logger, apiKey: config.apiKey }) : null;
    const telemetry = new TelemetryManager({
      backends: await createBackends(config.telemetryBackends, { db: database.db, logger, config, clickhouse }),
      logger,
    });
    registerSpanMetrics(telemetry.metrics.registry, traces);
    const stores = await createStreamStores(config, logger);
    let streams: RunStreamService | null = null;
    const runs = new RunManager({
      db: database.db,
      logger,
      callbacks: { secret: config.callbackSecret, allowPrivate: config.callbackAllowPrivate },
      onChange: async (change) => {
        await Promise.all([stores.changes.publish(change), options.onRunChange?.(change)]);
      },
      onTerminal: async (actor, run, final) => streams?.onRunTerminal(actor, run, final),
      deleteRunData: (actor, runId) => telemetry.deleteByRun(actor, runId),
    });
    streams = new RunStreamService({
      db: database.db,
      runs,
      stream: stores.stream,
      logger,
      retentionMs: config.streamRetentionMs,
      staleAfterMs: config.streamStaleAfterMs,
      sweepIntervalMs: config.streamSweepIntervalMs,
    });
    streams.start();
    const streamService = streams;
    const probe = new ReadinessProbe({ db: database.db, redisUrl: config.redisUrl, clickhouse });
    return {
      config,
      logger,
      database,
      auth,
      agents: new AgentManager({ db: database.db }),
      runs,
      steps: new StepManager({ db: database.db }),
      messages: new MessageManager({ db: database.db }),
      telemetry,
      providerTraces: new ProviderTraceService({ db: database.db, telemetry }),
      streams: streamService,
      runChanges: stores.changes,
      clickhouse,
      traces,
      selfTracer,
      readiness: () => probe.check(),
      async close() {
        probe.close();
        await selfTracer?.close();
        await streamService.close();
        await runs.close();
        await stores.stream.close();
        await stores.changes.close();
        await telemetry.close();
        await traces.close();
        await clickhouse?.close();
        await database.close();
      },
    };
  } catch (err) {
    await clickhouse?.close();
    await database.close();
    throw err;
  }
}
