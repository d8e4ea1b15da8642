import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../actor.ts';
import { rowsOf } from '../db/connect.ts';
import { purgeExpiredRuns } from '../retention/purge-batch.ts';
import { createTestRuntime, databaseTargets, newId, type TestRuntime } from '../testing/index.ts';
import { analyticsContract, postgresWorld } from './analytics-contract.ts';
import { PostgresAnalytics, planSegments, rebuildRollups } from './postgres-analytics.ts';
import { ROLLUP_TABLES } from './rollup-sql.ts';

async function world(target: ReturnType<typeof databaseTargets>[number], mode: 'auto' | 'raw') {
  const rt = await createTestRuntime(target);
  const actor = await rt.auth.ensureDefaultActor();
  const org = await rt.auth.createOrganization('other');
  const other = { organizationId: org.id, userId: org.userId };
  const engine = new PostgresAnalytics({ db: rt.database.db, mode });
  // The rollups answer, and every answer must equal the raw path's.
  const oracle = mode === 'auto' ? new PostgresAnalytics({ db: rt.database.db, mode: 'raw' }) : undefined;
  return {
    ...postgresWorld(rt, { actor, other }, engine, oracle),
    async dispose() {
      // Whatever the triggers kept must be what a rebuild from the tables gives.
      try {
        const before = await snapshot(rt);
        await rebuildRollups(rt.database.db, actor.organizationId);
        await rebuildRollups(rt.database.db, other.organizationId);
        expect(await snapshot(rt)).toEqual(before);
      } finally {
        await rt.dispose();
      }
    },
  };
}

async function snapshot(rt: TestRuntime) {
  const out: Record<string, unknown[]> = {};
  for (const table of ROLLUP_TABLES) {
    out[table] = rowsOf(await rt.database.db.execute(sql.raw(`select * from ${table} order by 1, 2, 3, 4, 5, 6`)));
  }
  return out;
}

for (const target of databaseTargets()) {
  analyticsContract(`Postgres rollups on ${target.name}`, () => world(target, 'auto'));
  analyticsContract(`Postgres raw on ${target.name}`, () => world(target, 'raw'));
}

describe('planSegments', () => {
  const h = 3_600_000_000n;
  const d = 24n * h;
  it('reads whole hours and days from rollups and the partial hours at the edges raw', () => {
    const q = { unit: null, group: null, filters: null };
    expect(planSegments({ ...q, from: 10n, to: 3n * h + 5n }, 'auto')).toEqual([
      { from: 10n, to: h, level: 'raw' },
      { from: h, to: 3n * h, level: 'hours' },
      { from: 3n * h, to: 3n * h + 5n, level: 'raw' },
    ]);
    expect(planSegments({ ...q, group: 'agent', from: 2n * h, to: 2n * d + h }, 'auto')).toEqual([
      { from: 2n * h, to: d, level: 'agentHours' },
      { from: d, to: 2n * d, level: 'agentDays' },
      { from: 2n * d, to: 2n * d + h, level: 'agentHours' },
    ]);
    expect(planSegments({ ...q, from: 10n, to: 20n }, 'auto')).toEqual([{ from: 10n, to: 20n, level: 'raw' }]);
    expect(planSegments({ ...q, group: 'status', from: 0n, to: d }, 'auto')).toEqual([
      { from: 0n, to: d, level: 'raw' },
    ]);
  });
});

describe.each(databaseTargets())('rollup triggers on $name', (target) => {
  let rt: TestRuntime;
  let actor: Actor;
  beforeAll(async () => {
    rt = await createTestRuntime(target);
    actor = await rt.auth.ensureDefaultActor();
  });
  afterAll(async () => {
    await rt?.dispose();
  });

  it('write nothing for a run or step update that changes none of their keys or values', async () => {
    const run = await rt.runs.create(actor, { agentId: newId('agent') });
    const step = await rt.steps.create(actor, { runId: run.id, model: 'm', totalTokens: 5 });
    const xmins = async () =>
      rowsOf<{ x: string }>(
        await rt.database.db.execute(
          sql.raw(ROLLUP_TABLES.map((t) => `select xmin::text as x from ${t}`).join(' union all ')),
        ),
      )
        .map((r) => r.x)
        .sort();
    const before = await xmins();
    expect(before.length).toBe(ROLLUP_TABLES.length);
    await rt.database.db.execute(
      sql`update runs set step_count = step_count + 1, updated_at = now() where id = ${run.id}`,
    );
    await rt.steps.setFeedback(actor, { stepId: step.id, feedback: 'positive' });
    expect(await xmins()).toEqual(before);
  });

  it('lose the runs and steps a retention purge deletes', async () => {
    const agentId = newId('agent');
    const run = await rt.runs.create(actor, { agentId });
    await rt.steps.create(actor, { runId: run.id, model: 'purged', totalTokens: 7 });
    await rt.runs.update(actor, { runId: run.id, status: 'completed' });
    await rt.database.db.execute(sql`update runs set created_at = '2025-03-01T10:00:00Z' where id = ${run.id}`);
    await rt.database.db.execute(sql`update steps set created_at = '2025-03-01T10:00:00Z' where run_id = ${run.id}`);
    const auto = new PostgresAnalytics({ db: rt.database.db });
    const range = { from: '2025-03-01T00:00:00Z', to: '2025-03-02T00:00:00Z', filters: { agentIds: [agentId] } };
    expect((await auto.summary(actor, range)).totals).toMatchObject({ runs: 1, steps: 1 });
    expect((await purgeExpiredRuns(rt.database.db, actor.organizationId, 30, 100)).runs).toBe(1);
    expect((await auto.summary(actor, range)).totals).toMatchObject({ runs: 0, steps: 0, tokens: { total: 0 } });
    const left = rowsOf<{ n: number }>(
      await rt.database.db.execute(
        sql.raw(
          ROLLUP_TABLES.map((t) => `select count(*)::int as n from ${t} where bucket < '2025-03-02'`).join(
            ' union all ',
          ),
        ),
      ),
    );
    expect(left.map((r) => Number(r.n))).toEqual(ROLLUP_TABLES.map(() => 0));
  });

  it('count rows inserted in bulk, as a seed does, like rows inserted one by one', async () => {
    await rt.database.db.execute(sql`insert into runs (id, organization_id, agent_id, status, create_fingerprint, created_at, run_ns)
      select 'run-bulk-' || i, ${actor.organizationId}, 'agent-bulk-' || (i % 3), 'completed', '', '2026-02-01'::timestamptz + i * interval '7 minutes', i * 1000000
      from generate_series(1, 500) i`);
    await rt.database.db.execute(sql`insert into steps (id, organization_id, run_id, agent_id, model, provider_name, total_tokens, create_fingerprint, created_at)
      select 'step-bulk-' || i, ${actor.organizationId}, 'run-bulk-' || (i % 500 + 1), 'agent-bulk-' || ((i % 500 + 1) % 3), 'm' || (i % 4), case when i % 8 < 4 then 'P' else 'Q' end, i, '', '2026-02-01'::timestamptz + i * interval '3 minutes'
      from generate_series(1, 2000) i`);
    const raw = new PostgresAnalytics({ db: rt.database.db, mode: 'raw' });
    const auto = new PostgresAnalytics({ db: rt.database.db });
    const input = {
      from: '2026-02-01T00:00:00Z',
      to: '2026-02-08T00:00:00Z',
      bucket: 'hour' as const,
      groupBy: 'model' as const,
    };
    const a = await auto.timeseries(actor, input);
    expect(a.source).toBe('rollup');
    expect(a.points).toEqual((await raw.timeseries(actor, input)).points);
    expect(a.points.reduce((n, p) => n + p.steps, 0)).toBe(2000);
    const s = await auto.summary(actor, { from: '2026-02-01T00:30:00Z', to: '2026-02-05T10:10:00Z' });
    expect(s.source).toBe('rollup');
    const { source: _, ...expected } = await raw.summary(actor, {
      from: '2026-02-01T00:30:00Z',
      to: '2026-02-05T10:10:00Z',
    });
    expect({ ...s, source: undefined }).toEqual({ ...expected, source: undefined });
  });
});
