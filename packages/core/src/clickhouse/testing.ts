import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { loadToolConfig } from '../config.ts';
import { type ClickHouse, connectClickHouse } from './connect.ts';
import { migrateClickHouse } from './migrate.ts';

/** A ClickHouse a suite can run against: embedded chdb always, a real server when CLICKHOUSE_URL is http(s)://…. */
export interface ClickHouseTestTarget {
  name: 'chdb' | 'server';
  url: string;
}

/**
 * The ClickHouses every ClickHouse suite runs on: chdb in memory, plus the server CLICKHOUSE_URL names, if any.
 * chdb is a complete ClickHouse, so the absence of a server is not an error even with RUNTRACE_REQUIRE_SERVICES.
 */
export function clickhouseTargets(): ClickHouseTestTarget[] {
  const targets: ClickHouseTestTarget[] = [{ name: 'chdb', url: 'chdb:memory' }];
  const configured = loadToolConfig().clickhouseUrl;
  if (configured && /^https?:\/\//i.test(configured)) targets.push({ name: 'server', url: configured });
  return targets;
}

export interface ScratchClickHouse {
  /** Connected to a fresh database `t_<random>`, migrations applied. */
  ch: ClickHouse;
  /** Drops the database and releases the connection. */
  drop(): Promise<void>;
}

/**
 * A fresh database on `target` (all chdb `:memory:` connections of a process share one engine, so isolation is by
 * database name), with Runtrace's ClickHouse migrations applied.
 */
export async function createScratchClickHouse(
  target: ClickHouseTestTarget,
  options: { ttlDays?: number; migrate?: boolean } = {},
): Promise<ScratchClickHouse> {
  const database = `t_${randomBytes(6).toString('hex')}`;
  const ch = await connectClickHouse({ url: target.url, dataDir: tmpdir(), database });
  if (options.migrate ?? true) await migrateClickHouse(ch, { ttlDays: options.ttlDays ?? 30 });
  return {
    ch,
    async drop() {
      try {
        await ch.client.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` });
      } finally {
        await ch.close();
      }
    },
  };
}
