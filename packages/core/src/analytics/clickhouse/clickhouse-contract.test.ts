import { createTestRuntime, databaseTargets } from '../../testing/index.ts';
import { analyticsContract, postgresWorld } from '../analytics-contract.ts';
import { PostgresAnalytics } from '../postgres-analytics.ts';
import { CLICKHOUSE_ANALYTICS_ENV, clickhouseContractEngine } from './testing.ts';

// The shared analytics contract on ClickHouse (embedded chdb), every answer checked against the raw Postgres path:
// one suite, both engines, the same answers.
for (const target of databaseTargets()) {
  analyticsContract(`ClickHouse analytics on ${target.name}`, async () => {
    const rt = await createTestRuntime(target, CLICKHOUSE_ANALYTICS_ENV);
    const actor = await rt.auth.ensureDefaultActor();
    const org = await rt.auth.createOrganization('other');
    const other = { organizationId: org.id, userId: org.userId };
    const oracle = new PostgresAnalytics({ db: rt.database.db, mode: 'raw' });
    return {
      ...postgresWorld(rt, { actor, other }, clickhouseContractEngine(rt), oracle),
      dispose: () => rt.dispose(),
    };
  });
}
