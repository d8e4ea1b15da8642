import { DEFAULT_ORGANIZATION_ID, DEFAULT_USER_ID } from '@runtrace/core';
import type postgres from 'postgres';
import { int, seconds } from './stats.ts';

export interface SeedOptions {
  runs: number;
  agents: number;
  /**
   * Drop the secondary indexes of runs and run_metrics during the load and build them again afterwards from their own
   * definitions (pg_indexes.indexdef), which is several times faster than maintaining them row by row. @default true
   */
  rebuildIndexes?: boolean;
  /** Rows per INSERT … SELECT statement; progress is printed after each. @default 100,000 */
  chunk?: number;
  /** The runs' created_at spans this many days, ending an hour ago. @default 30 */
  days?: number;
}

export interface SeedResult {
  organizationId: string;
  runs: number;
  /** Agent ids in the order runs were dealt to them (run i belongs to agent i % agents). */
  agentIds: string[];
  /** Runs sharing their created_at with another run (the (created_at, id) tie-break is exercised). */
  sharedTimestamps: number;
  /** Loading the rows. */
  insertMs: number;
  /** Building the secondary indexes again (0 when they were kept). */
  indexMs: number;
  /** Everything: insert, index builds. */
  seedMs: number;
  analyzeMs: number;
}

/**
 * Seeds `runs` runs (with their run_metrics rows) and `agents` agents in the default organization, in bulk and in SQL:
 * chunks of `INSERT INTO runs … SELECT … FROM generate_series(lo, hi)` whose RETURNING rows feed the run_metrics
 * INSERT of the same statement. Primary keys and foreign keys stay in place; the secondary indexes are dropped for
 * the load and built again from their migrated definitions (unless `rebuildIndexes` is false). Then VACUUM ANALYZE.
 *
 * - ids are `run-<uuid4>` from gen_random_uuid(); run i belongs to agent i % agents;
 * - created_at rises with i over `days`; every fifth run shares the created_at of the run before it;
 * - outcomes: 85% completed/end_turn, 5% failed/error, 3% failed/llm_api_error, 3% completed/max_steps,
 *   2% cancelled, 2% still running; a quarter background, a third in a conversation.
 */
export async function seedRuns(pool: postgres.Sql, o: SeedOptions, log: (line: string) => void): Promise<SeedResult> {
  // One session, so that its settings hold for every statement.
  const sql = await pool.reserve();
  try {
    return await seed(sql, o, log);
  } finally {
    sql.release();
  }
}

async function seed(sql: postgres.ReservedSql, o: SeedOptions, log: (line: string) => void): Promise<SeedResult> {
  const org = DEFAULT_ORGANIZATION_ID;
  const chunk = o.chunk ?? 100_000;
  const days = o.days ?? 30;
  // ms between consecutive runs, so that the newest run is an hour old
  const stepMs = (days * 86_400_000) / o.runs;
  const started = performance.now();
  await sql`set maintenance_work_mem = '512MB'`;
  await sql`set synchronous_commit = off`;

  const secondary = await sql<{ name: string; definition: string }[]>`
    select i.indexname as name, i.indexdef as definition
    from pg_indexes i
    where i.schemaname = current_schema() and i.tablename in ('runs', 'run_metrics')
      and not exists (select 1 from pg_constraint c where c.conname = i.indexname)
    order by i.indexname`;
  const rebuild = o.rebuildIndexes !== false;
  if (rebuild) {
    for (const index of secondary) await sql.unsafe(`drop index ${quoteIdent(index.name)}`);
    log(`    dropped ${secondary.length} secondary indexes for the load (kept: primary keys, foreign keys)`);
  }

  // One anchor for every chunk, so that created_at is exactly i steps apart across statements.
  const newest = new Date(Date.now() - 3_600_000).toISOString();
  const agentRows = await sql<{ id: string }[]>`
    insert into agents (id, organization_id, created_at)
    select 'agent-' || gen_random_uuid(), ${org}, ${newest}::timestamptz - make_interval(days => ${days + 1}) + a * interval '1 minute'
    from generate_series(1, ${o.agents}::int) a
    returning id`;
  const agentIds = agentRows.map((r) => r.id);

  for (let lo = 1; lo <= o.runs; lo += chunk) {
    const hi = Math.min(o.runs, lo + chunk - 1);
    await sql`
      with g as (
        select i,
          (${agentIds}::text[])[1 + i % ${o.agents}::int] as agent_id,
          random() as outcome,
          random() as spread,
          ${newest}::timestamptz
            - (${o.runs}::int - (i - (i % 5 = 1)::int)) * make_interval(secs => ${stepMs / 1000}::float8) as created_at
        from generate_series(${lo}::int, ${hi}::int) i
      ),
      s as (
        select g.*,
          case when outcome < 0.85 then 'end_turn' when outcome < 0.90 then 'error'
               when outcome < 0.93 then 'llm_api_error' when outcome < 0.96 then 'max_steps'
               when outcome < 0.98 then 'cancelled' end as stop_reason,
          (500 + spread * 59500)::int as duration_ms
        from g
      ),
      r as (
        insert into runs (id, organization_id, agent_id, status, stop_reason, background, conversation_id, metadata,
          request_config, ttft_ns, total_duration_ns, run_ns, created_by_id, create_fingerprint, created_at, updated_at, completed_at)
        select 'run-' || gen_random_uuid(), ${org}, agent_id,
          case when stop_reason is null then 'running' when stop_reason in ('end_turn', 'max_steps') then 'completed'
               when stop_reason = 'cancelled' then 'cancelled' else 'failed' end,
          stop_reason,
          case when i % 4 = 0 then true end,
          case when i % 3 = 0 then 'conv-' || (i % 50000) end,
          jsonb_build_object('source', 'bench', 'seq', i, 'env', 'prod'),
          '{"useAssistantMessage": true}'::jsonb,
          (200 + spread * 1800)::bigint * 1000000,
          case when stop_reason is not null then duration_ms::bigint * 1000000 end,
          case when stop_reason is not null then duration_ms::bigint * 1000000 end,
          ${DEFAULT_USER_ID},
          md5(i::text),
          created_at,
          created_at + case when stop_reason is not null then duration_ms * interval '1 millisecond' else interval '0' end,
          case when stop_reason is not null then created_at + duration_ms * interval '1 millisecond' end
        from s
        returning id, agent_id, created_at, run_ns
      )
      insert into run_metrics (id, organization_id, agent_id, run_start_ns, run_ns, num_steps, tools_used)
      select id, ${org}, agent_id, (extract(epoch from created_at) * 1000000)::bigint * 1000, run_ns,
        1 + abs(hashtext(id)) % 5, '["archival_memory_search", "send_message"]'::jsonb
      from r`;
    const elapsed = performance.now() - started;
    log(
      `    ${int(hi).padStart(int(o.runs).length)} / ${int(o.runs)} runs  ${seconds(elapsed)}  (${int((hi * 1000) / elapsed)} rows/s)`,
    );
  }
  const insertMs = performance.now() - started;

  let indexMs = 0;
  if (rebuild) {
    const t = performance.now();
    for (const index of secondary) {
      const t1 = performance.now();
      await sql.unsafe(index.definition);
      log(`    built ${index.name} in ${seconds(performance.now() - t1)}`);
    }
    indexMs = performance.now() - t;
  }
  const seedMs = performance.now() - started;

  const t0 = performance.now();
  await sql`vacuum (analyze) agents, runs, run_metrics`;
  const analyzeMs = performance.now() - t0;

  const [shared] = await sql<{ n: string }[]>`
    select count(*) as n from (
      select created_at from runs where organization_id = ${org} group by created_at having count(*) > 1
    ) d`;
  return {
    organizationId: org,
    runs: o.runs,
    agentIds,
    sharedTimestamps: Number(shared?.n ?? 0) * 2,
    insertMs,
    indexMs,
    seedMs,
    analyzeMs,
  };
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
