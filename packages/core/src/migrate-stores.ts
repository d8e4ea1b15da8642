import path from 'node:path';
import { AuthManager } from './auth/auth-manager.ts';
import type { ConnectClickHouseOptions } from './clickhouse/connect.ts';
import { type MigrateClickHouseOptions, openMigratedClickHouse } from './clickhouse/migrate.ts';
import type { ApiConfig } from './config.ts';
import { type ConnectOptions, connectDatabase, type Database } from './db/connect.ts';
import { migrate } from './db/migrate.ts';

/**
 * Migrations as one step, shared by the api's start-up (RUNTRACE_MIGRATE=on) and `pnpm runtrace migrate` (a Job run
 * before the api's replicas when RUNTRACE_MIGRATE=off): the same code, so the same advisory lock and the same result.
 */

type StoreSettings = Pick<
  ApiConfig,
  | 'databaseUrl'
  | 'dataDir'
  | 'clickhouseUrl'
  | 'clickhouseTraceTtlDays'
  | 'otelTtlDays'
  | 'retentionDays'
  | 'clickhouseCluster'
  | 'dbConnectTimeoutMs'
  | 'dbStatementTimeoutMs'
  | 'dbAcquireTimeoutMs'
>;

/** How a process connects to Postgres (or PGlite under `<dataDir>/pgdata`, unless `pgliteDir` says otherwise). */
export function databaseConnectOptions(config: StoreSettings, pgliteDir?: string): ConnectOptions {
  return {
    url: config.databaseUrl,
    pgliteDir: pgliteDir ?? path.join(config.dataDir, 'pgdata'),
    connectTimeoutMs: config.dbConnectTimeoutMs,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    acquireTimeoutMs: config.dbAcquireTimeoutMs,
  };
}

/** Whether ClickHouse is configured (CLICKHOUSE_URL is not `off`). */
export const clickhouseConfigured = (config: Pick<ApiConfig, 'clickhouseUrl'>): boolean =>
  config.clickhouseUrl?.trim() !== 'off';

/** How a process connects to ClickHouse and which TTLs its migrations apply. */
export function clickhouseMigrateOptions(
  config: StoreSettings,
  database?: string,
): ConnectClickHouseOptions & MigrateClickHouseOptions {
  return {
    url: config.clickhouseUrl,
    dataDir: config.dataDir,
    database,
    ttlDays: config.clickhouseTraceTtlDays,
    otelTtlDays: config.otelTtlDays,
    analyticsTtlDays: config.retentionDays ?? 0,
    cluster: config.clickhouseCluster,
  };
}

/**
 * Applies the database's pending migrations under the advisory lock (db/migrate.ts), then creates the default
 * organization and user, which need the tables. @returns the migrations it applied.
 */
export async function migrateDatabase(database: Database): Promise<string[]> {
  const applied = await migrate(database.unboundedDb);
  await new AuthManager({ db: database.db }).ensureDefaultActor();
  return applied;
}

export interface StoreMigrations {
  /** The database driver migrated. */
  driver: Database['driver'];
  /** Postgres (or PGlite) migrations applied by this call; empty when there were none left. */
  database: string[];
  /** ClickHouse migration versions applied, or null when ClickHouse is off (CLICKHOUSE_URL=off). */
  clickhouse: number[] | null;
}

export interface MigrateStoresOptions {
  config: StoreSettings;
  /** @default `<dataDir>/pgdata` */
  pgliteDir?: string;
  /** @default CLICKHOUSE_URL's, else 'runtrace' */
  clickhouseDatabase?: string;
}

/** Connects to each configured store, applies what is pending, and closes again (`pnpm runtrace migrate`). */
export async function migrateStores(options: MigrateStoresOptions): Promise<StoreMigrations> {
  const { config } = options;
  const database = await connectDatabase(databaseConnectOptions(config, options.pgliteDir));
  let applied: string[];
  try {
    applied = await migrateDatabase(database);
  } finally {
    await database.close();
  }
  if (!clickhouseConfigured(config)) return { driver: database.driver, database: applied, clickhouse: null };
  const { clickhouse, applied: clickhouseApplied } = await openMigratedClickHouse(
    clickhouseMigrateOptions(config, options.clickhouseDatabase),
  );
  await clickhouse.close();
  return { driver: database.driver, database: applied, clickhouse: clickhouseApplied };
}
