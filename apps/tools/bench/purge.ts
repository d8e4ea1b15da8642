import { createRuntraceClient } from '@runtrace/client';
import { createLogger, RetentionJob } from '@runtrace/core';
import type postgres from 'postgres';
import type { BenchContext, BenchSection } from './section.ts';
import { int, ms, percentile, seconds } from './stats.ts';
import { formatTable } from './table.ts';

/** The retention the purge organization is given; the seeded expired runs are 40–100 days old. */
const RETENTION_DAYS = 30;
/** Fresh runs of the same organization, which runs.list pages through while their old neighbours go. */
const FRESH_RUNS = 20_000;
/** runs.list calls per second, started on a fixed schedule whether or not earlier calls returned (an open loop). */
const LIST_RATE = 40;
/** How long runs.list is measured without a purge, before and after it. */
const BASELINE_MS = 15_000;

/**
 * Seeds `expired` runs 40–100 days old and {@link FRESH_RUNS} from the last 10 days into `org`, each with its
 * run_metrics row, 2 steps, 3 messages and a provider trace (one in 16 also a claimed provider-trace id), then
 * `expired / 2` old provider traces of no run: chunks of
 * one INSERT … SELECT FROM generate_series whose RETURNING rows feed the children's INSERTs in the same statement.
 * Indexes stay in place: the purge must be measured on the indexes production has.
 */
async function seedPurgeRuns(sql: postgres.Sql, org: string, expired: number, log: (line: string) => void) {
  const chunk = 50_000;
  const total = expired + FRESH_RUNS;
  const started = performance.now();
  for (let lo = 1; lo <= total; lo += chunk) {
    const hi = Math.min(total, lo + chunk - 1);
    await sql`
      with g as (
        select i, 'agent-bench-' || (i % 50) as agent_id,
          case when i <= ${expired}::int then now() - interval '40 days' - (i::float8 / ${expired}::int) * interval '60 days'
               else now() - ((i - ${expired}::int)::float8 / ${FRESH_RUNS}::int) * interval '10 days' end as created_at
        from generate_series(${lo}::int, ${hi}::int) i
      ),
      r as (
        insert into runs (id, organization_id, agent_id, status, stop_reason, metadata, create_fingerprint, created_at,
          updated_at, completed_at)
        select 'run-' || gen_random_uuid(), ${org}, agent_id, 'completed', 'end_turn', '{"source": "purge-bench"}'::jsonb,
          md5(i::text), created_at, created_at, created_at
        from g
        returning id, agent_id, created_at
      ),
      m as (
        insert into run_metrics (id, organization_id, agent_id, run_start_ns, num_steps)
        select id, ${org}, agent_id, (extract(epoch from created_at) * 1e9)::bigint, 2 from r
      ),
      s as (
        insert into steps (id, organization_id, run_id, agent_id, model, prompt_tokens, completion_tokens, total_tokens,
          status, create_fingerprint, created_at)
        select 'step-' || gen_random_uuid(), ${org}, r.id, r.agent_id, 'gpt-4.1', 1200, 300, 1500, 'success', md5(r.id || k),
          r.created_at
        from r, generate_series(1, 2) k
        returning id, run_id, agent_id, created_at
      ),
      msg as (
        insert into messages (id, organization_id, run_id, agent_id, seq, message_type, date, body, created_at)
        select 'message-' || gen_random_uuid(), ${org}, r.id, r.agent_id, k, 'assistant_message', r.created_at,
          jsonb_build_object('content', 'a reply of a few words, as a run would have', 'k', k), r.created_at
        from r, generate_series(1, 3) k
      ),
      t as (
        insert into provider_traces (id, organization_id, run_id, step_id, agent_id, call_type, request_json,
          response_json, created_at)
        select 'provider_trace-' || gen_random_uuid(), ${org}, s.run_id, s.id, s.agent_id, 'agent_step',
          '{"model": "gpt-4.1", "messages": [{"role": "user", "content": "hello"}]}'::jsonb,
          '{"choices": [{"message": {"role": "assistant", "content": "hi"}}]}'::jsonb, s.created_at
        from s where right(s.id, 1) < '8'
        returning id, run_id
      )
      insert into provider_trace_ids (id, organization_id, run_id, fingerprint, trace_created_at)
      select id, ${org}, run_id, md5(id), now()::text from t where right(id, 1) = '0'`;
    const elapsed = performance.now() - started;
    log(`    ${int(hi).padStart(int(total).length)} / ${int(total)} runs with children  ${seconds(elapsed)}`);
  }
  // Traces of no run (callers may omit runId): the purge drops these by age alone, its second phase.
  for (let lo = 1; lo <= expired / 2; lo += chunk) {
    const hi = Math.min(expired / 2, lo + chunk - 1);
    await sql`
      insert into provider_traces (id, organization_id, call_type, request_json, response_json, created_at)
      select 'provider_trace-' || gen_random_uuid(), ${org}, 'summarization', '{"model": "gpt-4.1"}'::jsonb,
        '{"choices": []}'::jsonb, now() - interval '40 days' - (i::float8 / ${expired}::int) * interval '60 days'
      from generate_series(${lo}::int, ${hi}::int) i`;
  }
  log(`    + ${int(expired / 2)} expired provider traces of no run  ${seconds(performance.now() - started)}`);
  await sql`vacuum (analyze) runs, run_metrics, steps, messages, provider_traces, provider_trace_ids`;
  return performance.now() - started;
}

/** runs.list at {@link LIST_RATE}/s until `until` resolves (or `forMs` passes); the latencies in ms. */
async function listAtConstantRate(list: () => Promise<unknown>, stop: { forMs?: number; until?: Promise<unknown> }) {
  const latencies: number[] = [];
  const inFlight = new Set<Promise<void>>();
  let done = false;
  void stop.until?.finally(() => {
    done = true;
  });
  const started = performance.now();
  for (let i = 0; !done && (stop.forMs === undefined || performance.now() - started < stop.forMs); i++) {
    const due = started + (i * 1000) / LIST_RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t0 = performance.now();
    const call: Promise<void> = list().then(() => {
      latencies.push(performance.now() - t0);
      inFlight.delete(call);
    });
    inFlight.add(call);
  }
  await Promise.all(inFlight);
  return latencies;
}

/** Polls pg_stat_activity every 50 ms: the longest any backend of the database has been waiting on a lock. */
function watchLockWaits(sql: postgres.Sql) {
  let longestMs = 0;
  let stopped = false;
  const polling = (async () => {
    while (!stopped) {
      const [row] = await sql<{ ms: number | null }[]>`
        select max(extract(epoch from clock_timestamp() - query_start) * 1000)::float8 as ms from pg_stat_activity
        where datname = current_database() and wait_event_type = 'Lock'`;
      longestMs = Math.max(longestMs, row?.ms ?? 0);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await polling;
      return longestMs;
    },
  };
}

/**
 * The retention job deleting `--purge-runs` expired runs (with 2 steps, 3 messages, metrics and a provider trace
 * each) while runs.list of the same organization is served at a constant rate: the list's p99 during the purge beside
 * its p99 without it (before and after, same run), the purge's throughput, its longest statement (how long it holds
 * row locks) and the longest lock wait any backend showed.
 */
export const purgeSection: BenchSection = {
  name: 'purge',
  needsSeed: false,
  async run({ env, options, log }: BenchContext) {
    const expired = options.purgeRuns;
    const { runtime } = env;
    const org = await runtime.auth.createOrganization('purge bench');
    await runtime.retention.setFor(org.id, { days: RETENTION_DAYS });
    const client = createRuntraceClient({
      url: env.apiUrl,
      apiKey: (await runtime.auth.createApiKey(org.id, 'bench')).key,
    });
    const list = () => client.runs.list.query({ limit: 50 });

    log(
      `  seeding ${int(expired)} expired + ${int(FRESH_RUNS)} fresh runs, each with 2 steps, 3 messages, metrics, provider traces …`,
    );
    const seedMs = await seedPurgeRuns(env.sql, org.id, expired, log);
    const [rows] = await env.sql<{ n: string; size: string }[]>`
      select (select count(*) from runs) + (select count(*) from steps) + (select count(*) from messages)
        + (select count(*) from run_metrics) + (select count(*) from provider_traces)
        + (select count(*) from provider_trace_ids) as n, pg_size_pretty(pg_database_size(current_database())) as size`;
    log(
      `  seeded ${int(Number(rows?.n))} rows in ${seconds(seedMs)} (${int((Number(rows?.n) * 1000) / seedMs)} rows/s); database ${rows?.size}`,
    );

    for (let i = 0; i < 200; i++) await list(); // warm-up: connections, plans, JIT of the api
    log(`  runs.list at ${LIST_RATE}/s for ${seconds(BASELINE_MS)} without a purge …`);
    const before = await listAtConstantRate(list, { forMs: BASELINE_MS });

    let longestStatementMs = 0;
    let last = performance.now();
    let purged = 0;
    let tracesStarted = 0;
    let looseTraces = 0;
    const job = new RetentionJob({
      database: runtime.database,
      logger: createLogger('warn', 'purge-bench'),
      defaultDays: null,
      intervalMs: 3_600_000,
      batchSize: runtime.config.retentionBatchSize,
      onBatch: (_org, counts) => {
        const now = performance.now();
        longestStatementMs = Math.max(longestStatementMs, now - last);
        purged += counts.runs;
        if (counts.runs === 0 && counts.provider_traces > 0) {
          // the second phase: traces of no run, dropped by age
          if (!looseTraces) tracesStarted = last;
          looseTraces += counts.provider_traces;
        }
        if (purged % 100_000 < counts.runs) log(`    purged ${int(purged)} runs`);
        last = now;
      },
    });
    log(
      `  purging with the retention job (batches of ${int(runtime.config.retentionBatchSize)} runs) while runs.list is served …`,
    );
    const locks = watchLockWaits(env.pool(1));
    const t0 = performance.now();
    last = t0;
    const purging = job.runOnce();
    const during = await listAtConstantRate(list, { until: purging });
    const pass = await purging;
    const purgeMs = performance.now() - t0;
    const runsMs = (tracesStarted || performance.now()) - t0;
    const tracesMs = tracesStarted ? last - tracesStarted : Number.NaN;
    const lockWaitMs = await locks.stop();
    await job.close();
    log(`  runs.list at ${LIST_RATE}/s for ${seconds(BASELINE_MS)} after the purge …`);
    const after = await listAtConstantRate(list, { forMs: BASELINE_MS });
    const [left] = await env.sql<{ n: string }[]>`select count(*) as n from runs where organization_id = ${org.id}`;

    const row = (name: string, l: number[]) => [
      name,
      int(l.length),
      ms(percentile(l, 50)),
      ms(percentile(l, 99)),
      ms(Math.max(...l)),
    ];
    const table = formatTable(
      [
        { header: `runs.list (limit 50) at ${LIST_RATE}/s`, align: 'left' },
        { header: 'calls' },
        { header: 'p50 ms' },
        { header: 'p99 ms' },
        { header: 'max ms' },
      ],
      [row('before the purge', before), row('during the purge', during), row('after the purge', after)],
    );
    const d = pass.deleted;
    return {
      title: `Retention purge: ${int(expired)} expired runs with their children, runs.list served meanwhile`,
      table,
      notes: [
        `purge: ${int(d.runs)} runs in ${seconds(runsMs)} = ${int((d.runs * 1000) / runsMs)} runs/s ` +
          `(${int(d.steps)} steps, ${int(d.messages)} messages, ${int(d.run_metrics)} run_metrics, ` +
          `${int(d.provider_traces)} provider traces, ${int(d.provider_trace_ids)} claimed ids; ${int(pass.batches)} statements)`,
        `then ${int(looseTraces)} provider traces of no run in ${seconds(tracesMs)} = ${int((looseTraces * 1000) / tracesMs)} traces/s (batch DELETEs by age); whole pass ${seconds(purgeMs)}`,
        `longest purge statement (its row locks held that long at most): ${ms(longestStatementMs)} ms; ` +
          `longest lock wait seen in pg_stat_activity (sampled every 50 ms): ${ms(lockWaitMs)} ms`,
        `runs left in the organization: ${int(Number(left?.n))} (the ${int(FRESH_RUNS)} fresh ones); seeding took ${seconds(seedMs)}`,
      ],
      checks: [{ name: 'purge deleted every expired run', pass: d.runs === expired && Number(left?.n) === FRESH_RUNS }],
    };
  },
};
