import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';
import { int, seconds } from './stats.ts';

/** The models the seeded agents call, each with a price in pricing/default-prices.json, and their providers. */
export const SEEDED_MODELS = [
  { model: 'gpt-4o', provider: 'openai' },
  { model: 'gpt-4o-mini', provider: 'openai' },
  { model: 'claude-sonnet-4-5', provider: 'anthropic' },
  { model: 'gemini-2.5-flash', provider: 'google_ai' },
  { model: 'o3', provider: 'openai' },
] as const;
/** Steps per seeded run: four of the agent's model, and a fifth of gpt-4o-mini (a summariser), so runs mix models. */
export const STEPS_PER_RUN = 5;

export interface AnalyticsSeed {
  organizationId: string;
  agentIds: string[];
  runs: number;
  steps: number;
  /** The seeded runs' creation times span [from, to). */
  from: string;
  to: string;
  seedMs: number;
}

/**
 * Seeds `runs` runs of `agents` named agents over the last `days` days into `org`, each with {@link STEPS_PER_RUN}
 * steps, in chunks of one INSERT … SELECT FROM generate_series statement each: the steps' RETURNING rows are summed
 * into their runs' totals in the same statement, as steps.create keeps them. Every row goes through the tables'
 * triggers (the analytics rollups), as production writes do. Costs are left to prices.recompute, which the section
 * times.
 *
 * - agent a calls model a % 5 (OpenAI, Anthropic, Google, with cache reads, cache writes and reasoning tokens);
 * - 95% of runs complete, 4% fail (their last step fails), 1% are cancelled;
 * - durations and times to first token are log-uniform (run 1–25 s, TTFT 0.2–5 s), LLM time per step 0.3–4 s.
 */
export async function seedAnalytics(
  sql: postgres.Sql,
  o: { org: string; runs: number; agents: number; days: number; chunk?: number },
  log: (line: string) => void,
): Promise<AnalyticsSeed> {
  const agentIds = Array.from({ length: o.agents }, () => `agent-${randomUUID()}`);
  await sql`
    insert into agents (id, organization_id, name)
    select id, ${o.org}, 'bench agent ' || n from unnest(${agentIds}::text[]) with ordinality as a(id, n)`;
  const models = SEEDED_MODELS.map((m) => m.model);
  const providers = SEEDED_MODELS.map((m) => m.provider);
  const to = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
  const from = new Date(to.getTime() - o.days * 86_400_000);
  const chunk = o.chunk ?? 20_000;
  const started = performance.now();
  for (let lo = 0; lo < o.runs; lo += chunk) {
    const hi = Math.min(o.runs, lo + chunk) - 1;
    await sql`
      with g as (
        select i, 'run-' || gen_random_uuid() as run_id,
          (${agentIds}::text[])[1 + i % ${o.agents}::int] as agent_id,
          1 + (i % ${o.agents}::int) % 5 as m,
          ${from.toISOString()}::timestamptz + (i::float8 / ${o.runs}::int) * ${`${o.days} days`}::interval as created_at,
          random() as outcome
        from generate_series(${lo}::int, ${hi}::int) i
      ),
      s as (
        insert into steps (id, organization_id, run_id, agent_id, provider_name, model, prompt_tokens,
          completion_tokens, total_tokens, prompt_tokens_details, completion_tokens_details, status, error_type,
          llm_request_ns, step_ns, create_fingerprint, created_at)
        select 'step-' || gen_random_uuid(), ${o.org}, run_id, agent_id, p.provider, p.model, t.prompt, t.completion,
          t.prompt + t.completion,
          case when p.provider = 'anthropic'
            then jsonb_build_object('cache_read_tokens', t.cached, 'cache_creation_tokens', t.prompt / 10)
            else jsonb_build_object('cached_tokens', t.cached) end,
          case when p.model = 'o3' then jsonb_build_object('reasoning_tokens', t.completion * 6 / 10) end,
          case when k = ${STEPS_PER_RUN}::int and outcome >= 0.95 and outcome < 0.99 then 'failed' else 'success' end,
          case when k = ${STEPS_PER_RUN}::int and outcome >= 0.95 and outcome < 0.99 then 'llm_api_error' end,
          (3e8 * exp(random() * ln(13.0)))::bigint, (5e8 * exp(random() * ln(10.0)))::bigint,
          md5(run_id || k), created_at + k * interval '700 milliseconds'
        from g, generate_series(1, ${STEPS_PER_RUN}::int) k,
          lateral (select case when k = ${STEPS_PER_RUN}::int then 2 else g.m end as mi) pick,
          lateral (select (${models}::text[])[pick.mi] as model, (${providers}::text[])[pick.mi] as provider) p,
          -- g.i and k make each draw its own: an uncorrelated subquery would be computed once for every row.
          lateral (select 500 + (random() * 3500 + 0 * g.i + 0 * k)::int as prompt,
            30 + (random() * 770 + 0 * k)::int as completion) t0,
          lateral (select t0.prompt as prompt, t0.completion as completion,
            (t0.prompt * random() * 0.6)::int as cached) t
        returning run_id, model, provider_name, total_tokens, llm_request_ns, status, created_at
      ),
      totals as (
        select run_id, count(*)::int as step_count, count(*) filter (where status = 'failed')::int as step_errors,
          sum(total_tokens)::bigint as total_tokens, sum(llm_request_ns)::bigint as llm_ns,
          (array_agg(model order by created_at))[1] as model,
          (array_agg(provider_name order by created_at))[1] as provider
        from s group by run_id
      )
      insert into runs (id, organization_id, agent_id, status, stop_reason, create_fingerprint, created_at, updated_at,
        completed_at, run_ns, ttft_ns, model, provider, step_count, step_errors, total_tokens, unpriced_tokens, llm_ns)
      select g.run_id, ${o.org}, g.agent_id,
        case when outcome < 0.95 then 'completed' when outcome < 0.99 then 'failed' else 'cancelled' end,
        case when outcome < 0.95 then 'end_turn' when outcome < 0.99 then 'llm_api_error' else 'cancelled' end,
        md5(g.run_id), g.created_at, g.created_at, g.created_at + interval '30 seconds',
        (1e9 * exp(random() * ln(25.0)))::bigint, (2e8 * exp(random() * ln(25.0)))::bigint,
        totals.model, totals.provider, totals.step_count, totals.step_errors, totals.total_tokens, totals.total_tokens,
        totals.llm_ns
      from g join totals using (run_id)`;
    const done = hi + 1;
    if (done % (chunk * 10) === 0 || done === o.runs) {
      const elapsed = performance.now() - started;
      log(
        `    ${int(done).padStart(int(o.runs).length)} / ${int(o.runs)} runs with ${STEPS_PER_RUN} steps each  ${seconds(elapsed)}`,
      );
    }
  }
  await sql`vacuum (analyze) runs, steps, agents`;
  return {
    organizationId: o.org,
    agentIds,
    runs: o.runs,
    steps: o.runs * STEPS_PER_RUN,
    from: from.toISOString(),
    to: to.toISOString(),
    seedMs: performance.now() - started,
  };
}
