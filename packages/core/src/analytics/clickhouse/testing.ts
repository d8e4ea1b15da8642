import { sql } from 'drizzle-orm';
import { qualified } from '../../clickhouse/connect.ts';
import { rowsOf } from '../../db/connect.ts';
import type { Runtime } from '../../runtime.ts';
import type { AnalyticsEngine } from '../schemas.ts';

/** The overrides of createTestRuntime that serve analytics from ClickHouse (embedded chdb). */
export const CLICKHOUSE_ANALYTICS_ENV = { CLICKHOUSE_URL: 'chdb:memory', RUNTRACE_ANALYTICS_SOURCE: 'clickhouse' };

/**
 * For suites that write Postgres directly (UPDATEs of times, costs, tokens), which the feed does not see: empties the
 * analytics tables and copies every run and step again, so ClickHouse holds exactly what Postgres holds (a moved
 * created_at would otherwise leave its earlier copy under the old key). Then ClickHouse answers as after a backfill.
 */
export async function resyncClickHouseAnalytics(runtime: Runtime): Promise<void> {
  const { analyticsFeed: feed, clickhouse: ch } = runtime;
  if (!feed || !ch) throw new Error('the runtime does not serve analytics from ClickHouse (CLICKHOUSE_ANALYTICS_ENV)');
  await feed.flush();
  for (const table of ['analytics_runs', 'analytics_steps']) {
    await ch.client.command({ query: `TRUNCATE TABLE ${qualified(ch, table)}` });
  }
  const ids = rowsOf<{ id: string }>(await runtime.database.db.execute(sql`select id from runs`)).map((r) => r.id);
  feed.runsChanged(ids);
  await feed.flush();
}

/**
 * The engine a shared contract suite runs against: the runtime's ClickHouse engine, brought up to date with Postgres
 * before each question.
 */
export function clickhouseContractEngine(runtime: Runtime): AnalyticsEngine {
  const engine = runtime.clickhouseAnalytics;
  if (!engine) throw new Error('the runtime does not serve analytics from ClickHouse (CLICKHOUSE_ANALYTICS_ENV)');
  return {
    timeseries: async (actor, query) => {
      await resyncClickHouseAnalytics(runtime);
      return engine.timeseries(actor, query);
    },
    summary: async (actor, query) => {
      await resyncClickHouseAnalytics(runtime);
      return engine.summary(actor, query);
    },
  };
}
