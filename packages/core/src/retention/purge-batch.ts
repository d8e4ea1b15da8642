import { sql } from 'drizzle-orm';
import { type Db, rowsOf } from '../db/connect.ts';
import { ACTIVE_STATUSES } from '../runs/status.ts';

/** Rows one purge statement deleted, per table (the `table` label of runtrace_retention_deleted_total). */
export interface PurgeCounts {
  runs: number;
  steps: number;
  messages: number;
  run_metrics: number;
  provider_traces: number;
  provider_trace_ids: number;
}

export const PURGED_TABLES = [
  'runs',
  'steps',
  'messages',
  'run_metrics',
  'provider_traces',
  'provider_trace_ids',
] as const satisfies readonly (keyof PurgeCounts)[];

const cutoff = (days: number) => sql`now() - make_interval(days => ${days}::int)`;
const active = sql.join(
  ACTIVE_STATUSES.map((s) => sql`${s}`),
  sql`, `,
);

const countsOf = (result: unknown): PurgeCounts => {
  const row = rowsOf<Record<keyof PurgeCounts, number | string>>(result)[0];
  const counts = {} as PurgeCounts;
  for (const table of PURGED_TABLES) counts[table] = Number(row?.[table] ?? 0);
  return counts;
};

/**
 * Deletes up to `limit` of an organization's runs created more than `days` days ago that have ended, with everything
 * keyed by them, in ONE statement: it commits whole or not at all (a shutdown or a crash between statements leaves no
 * orphan), and holds its row locks only for as long as it runs. Children are deleted by name rather than left to
 * ON DELETE CASCADE so that each table's count is known; the cascades then find nothing left. Runs locked by a
 * concurrent update are skipped (SKIP LOCKED) and taken by a later batch, so the purge never waits on a request.
 * Oldest first, over runs_org_created_idx.
 */
export async function purgeExpiredRuns(db: Db, organizationId: string, days: number, limit: number) {
  return countsOf(
    await db.execute(sql`
      with doomed as (
        select id from runs
        where organization_id = ${organizationId} and created_at < ${cutoff(days)} and status not in (${active})
        order by created_at, id
        limit ${limit}
        for update skip locked
      ),
      d_traces as (
        delete from provider_traces t using doomed d where t.organization_id = ${organizationId} and t.run_id = d.id
        returning 1
      ),
      d_ids as (
        delete from provider_trace_ids i using doomed d where i.organization_id = ${organizationId} and i.run_id = d.id
        returning 1
      ),
      d_messages as (delete from messages m using doomed d where m.run_id = d.id returning 1),
      d_steps as (delete from steps s using doomed d where s.run_id = d.id returning 1),
      d_metrics as (delete from run_metrics r using doomed d where r.id = d.id returning 1),
      d_runs as (delete from runs r using doomed d where r.id = d.id returning 1)
      select (select count(*) from d_runs) as runs, (select count(*) from d_steps) as steps,
        (select count(*) from d_messages) as messages, (select count(*) from d_metrics) as run_metrics,
        (select count(*) from d_traces) as provider_traces, (select count(*) from d_ids) as provider_trace_ids`),
  );
}

/**
 * Deletes up to `limit` of an organization's provider traces older than `days` days that belong to no stored run
 * (none named, or a run id that was never created here): traces of a kept run stay with it and go with it. Their
 * claimed ids go too, so a retry of a deleted trace is not answered with a trace that no longer exists. Over
 * provider_traces_org_created_idx.
 */
export async function purgeExpiredTraces(db: Db, organizationId: string, days: number, limit: number) {
  return countsOf(
    await db.execute(sql`
      with doomed as (
        select t.id from provider_traces t
        where t.organization_id = ${organizationId} and t.created_at < ${cutoff(days)}
          and (t.run_id is null or not exists (select 1 from runs r where r.id = t.run_id and r.organization_id = t.organization_id))
        order by t.created_at
        limit ${limit}
        for update skip locked
      ),
      d_traces as (delete from provider_traces t using doomed d where t.id = d.id returning t.id),
      d_ids as (
        delete from provider_trace_ids i using d_traces d where i.organization_id = ${organizationId} and i.id = d.id
        returning 1
      )
      select 0 as runs, 0 as steps, 0 as messages, 0 as run_metrics, (select count(*) from d_traces) as provider_traces,
        (select count(*) from d_ids) as provider_trace_ids`),
  );
}
