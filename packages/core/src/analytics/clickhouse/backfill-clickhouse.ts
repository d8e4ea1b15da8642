import { openMigratedClickHouse } from '../../clickhouse/migrate.ts';
import type { ApiConfig } from '../../config.ts';
import { ConfigError } from '../../config.ts';
import { connectDatabase } from '../../db/connect.ts';
import type { Logger } from '../../logger.ts';
import { clickhouseConfigured, clickhouseMigrateOptions, databaseConnectOptions } from '../../migrate-stores.ts';
import { AnalyticsFeed, type BackfillRange, type BackfillResult } from './analytics-feed.ts';

/**
 * `pnpm runtrace analytics backfill-clickhouse`: connects to Postgres and ClickHouse as the api does (migrations
 * applied), copies the range ({@link AnalyticsFeed.backfill}) and closes both. An embedded store (PGlite, chdb) admits
 * one process: stop the api first, or run it against servers.
 */
export async function backfillClickHouseAnalytics(
  config: ApiConfig,
  logger: Logger,
  range: BackfillRange,
): Promise<BackfillResult> {
  if (!clickhouseConfigured(config)) {
    throw new ConfigError('analytics backfill-clickhouse needs ClickHouse, but CLICKHOUSE_URL is off');
  }
  const database = await connectDatabase(databaseConnectOptions(config));
  try {
    const { clickhouse } = await openMigratedClickHouse(clickhouseMigrateOptions(config));
    const feed = new AnalyticsFeed({ db: database.db, clickhouse, logger });
    try {
      return await feed.backfill(range);
    } finally {
      await feed.close();
      await clickhouse.close();
    }
  } finally {
    await database.close();
  }
}
