import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createLogger, createRuntime, DEFAULT_ACTOR, DEFAULT_ORGANIZATION_ID } from '@runtrace/core';
import { inheritedEnvironment, loadApiConfig } from '@runtrace/core/config';

export const DASHBOARD_DIR = fileURLToPath(new URL('..', import.meta.url));

/** Builds the dashboard from the sources under test (what the api then serves), and returns its JS gzipped, in KB. */
export function buildDashboard(): number {
  const vite = path.join(DASHBOARD_DIR, 'node_modules', 'vite', 'bin', 'vite.js');
  execFileSync(process.execPath, [vite, 'build', '--configLoader', 'runner', '--logLevel', 'warn'], {
    cwd: DASHBOARD_DIR,
    // vitest sets NODE_ENV=test, which Vite would bake into the bundle (React's development build).
    env: { ...inheritedEnvironment(), NODE_ENV: 'production' },
    stdio: 'inherit',
  });
  const assets = path.join(DASHBOARD_DIR, 'dist', 'assets');
  const bytes = readdirSync(assets)
    .filter((name) => name.endsWith('.js'))
    .reduce((sum, name) => sum + gzipSync(readFileSync(path.join(assets, name)), { level: 9 }).length, 0);
  return bytes / 1024;
}

/** The models the seeded steps call (each priced in core's pricing/default-prices.json) and their providers. */
export const SEEDED_MODELS = [
  { model: 'gpt-4.1', provider: 'openai' },
  { model: 'claude-sonnet-4', provider: 'anthropic' },
  { model: 'gemini-2.5-flash', provider: 'google_ai' },
] as const;
/** How far back the seeded runs reach: evenly spread over the overview's longest preset. */
export const SEEDED_DAYS = 30;
/** Names of the first seeded agents; the others have none (the dashboard then shows a short id). */
export const SEEDED_AGENT_NAMES = ['support-bot', 'research-agent', 'billing-assistant'] as const;

/**
 * Prepares the embedded database before the api opens it (PGlite admits one process at a time): an organization with
 * an API key of its own, and `runs` finished runs of the default organization over five agents (three named), spread
 * evenly over the last {@link SEEDED_DAYS} days, the newest a few minutes old. Runs and their steps are written in
 * one INSERT … SELECT (as the bench seeds them: 10,000 runs through the api would take a minute here), through the
 * tables' triggers, so the analytics rollups count them as they count production writes:
 *
 * - 1–3 steps per run (run i has 1 + i % 3); step k (from 1) of agent a calls model (a + k − 1) % 3 of {@link SEEDED_MODELS}, so
 *   the run's own model (its first step's) is the agent's and its later steps mix in the others;
 * - 5% of runs fail at random (their last step with `llm_api_error`), and a fifth of the fifth agent's besides;
 * - run durations log-uniform 1–25 s, time to first token 0.2–5 s, LLM time per step 0.3–4 s, tokens 500–4,000 in
 *   and 30–800 out (a third of the prompt read from cache on Anthropic and OpenAI steps).
 *
 * Costs are not computed here: prices.recompute prices every step afterwards, the code path that prices steps
 * recorded without a price, which also fills the runs' cost totals and moves the rollups by their update trigger.
 */
export async function prepareDatabase(dataDir: string, runs: number): Promise<{ apiKey: string }> {
  const config = loadApiConfig({
    ...inheritedEnvironment(),
    RUNTRACE_DATA_DIR: dataDir,
    DATABASE_URL: '',
    REDIS_URL: '',
    CLICKHOUSE_URL: 'off',
  });
  const runtime = await createRuntime({ config, logger: createLogger('warn', 'dashboard-e2e'), clickhouse: false });
  try {
    const org = await runtime.auth.createOrganization('dashboard-e2e');
    const { key } = await runtime.auth.createApiKey(org.id, 'dashboard');
    const agents = Array.from({ length: 5 }, () => `agent-${crypto.randomUUID()}`);
    const quoted = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');
    const list = quoted(agents);
    const names = agents.map((_, i) => (SEEDED_AGENT_NAMES[i] ? `'${SEEDED_AGENT_NAMES[i]}'` : 'NULL')).join(', ');
    await runtime.database.db.execute(
      `INSERT INTO agents (id, organization_id, name, last_stop_reason)
       SELECT unnest(ARRAY[${list}]), '${DEFAULT_ORGANIZATION_ID}', unnest(ARRAY[${names}]::text[]), 'end_turn'`,
    );
    const models = quoted(SEEDED_MODELS.map((m) => m.model));
    const providers = quoted(SEEDED_MODELS.map((m) => m.provider));
    const spacingSeconds = (SEEDED_DAYS * 86_400) / runs;
    const to = new Date();
    await runtime.database.db.execute(`
      WITH g AS (
        SELECT i, 'run-' || gen_random_uuid() AS run_id, i % 5 AS a, (ARRAY[${list}])[1 + i % 5] AS agent_id,
               1 + i % 3 AS n, now() - make_interval(secs => i * ${spacingSeconds}) AS created_at,
               (random() < 0.05 OR (i % 5 = 4 AND random() < 0.2)) AS failed,
               (1e9 * exp(random() * ln(25.0)))::bigint AS run_ns
        FROM generate_series(1, ${runs}) AS i),
      s AS (
        INSERT INTO steps (id, organization_id, run_id, agent_id, provider_name, model, prompt_tokens, completion_tokens,
                           total_tokens, prompt_tokens_details, status, error_type, llm_request_ns, step_ns,
                           create_fingerprint, created_at)
        SELECT 'step-' || gen_random_uuid(), '${DEFAULT_ORGANIZATION_ID}', g.run_id, g.agent_id, m.provider, m.model,
               t.prompt, t.completion, t.prompt + t.completion,
               CASE WHEN m.provider = 'google_ai' THEN NULL ELSE jsonb_build_object('cached_tokens', t.prompt / 3) END,
               CASE WHEN g.failed AND k = g.n THEN 'failed' ELSE 'success' END,
               CASE WHEN g.failed AND k = g.n THEN 'llm_api_error' END,
               (3e8 * exp(random() * ln(13.0)))::bigint, (5e8 * exp(random() * ln(10.0)))::bigint,
               'seed', g.created_at + (k - 1) * interval '700 milliseconds'
        FROM g, generate_series(1, g.n) AS k,
          LATERAL (SELECT (ARRAY[${models}])[1 + (g.a + k - 1) % 3] AS model,
                          (ARRAY[${providers}])[1 + (g.a + k - 1) % 3] AS provider) m,
          -- k in each draw: an uncorrelated subquery would be computed once for every row.
          LATERAL (SELECT 500 + (random() * 3500 + 0 * k)::int AS prompt, 30 + (random() * 770 + 0 * k)::int AS completion) t
        RETURNING run_id, model, provider_name, total_tokens, llm_request_ns, status, created_at),
      totals AS (
        SELECT run_id, count(*)::int AS step_count, count(*) FILTER (WHERE status = 'failed')::int AS step_errors,
               sum(total_tokens)::bigint AS total_tokens, sum(llm_request_ns)::bigint AS llm_ns,
               (array_agg(model ORDER BY created_at))[1] AS model,
               (array_agg(provider_name ORDER BY created_at))[1] AS provider
        FROM s GROUP BY run_id),
      seeded AS (
        INSERT INTO runs (id, organization_id, agent_id, status, stop_reason, background, conversation_id,
                          total_duration_ns, run_ns, ttft_ns, model, provider, step_count, step_errors, total_tokens,
                          unpriced_tokens, llm_ns, create_fingerprint, created_at, updated_at, completed_at)
        SELECT g.run_id, '${DEFAULT_ORGANIZATION_ID}', g.agent_id,
               CASE WHEN g.failed THEN 'failed' ELSE 'completed' END,
               CASE WHEN g.failed THEN 'llm_api_error' ELSE 'end_turn' END,
               g.i % 4 = 0, 'conv-' || (g.i % 97), g.run_ns, g.run_ns, (2e8 * exp(random() * ln(25.0)))::bigint,
               totals.model, totals.provider, totals.step_count, totals.step_errors, totals.total_tokens,
               totals.total_tokens, totals.llm_ns, 'seed', g.created_at, g.created_at,
               g.created_at + make_interval(secs => g.run_ns / 1e9)
        FROM g JOIN totals USING (run_id)
        RETURNING id, organization_id, agent_id, created_at, run_ns, step_count)
      INSERT INTO run_metrics (id, organization_id, agent_id, run_start_ns, run_ns, num_steps)
      SELECT id, organization_id, agent_id, (extract(epoch FROM created_at) * 1e9)::bigint, run_ns, step_count
      FROM seeded`);
    // Every step priced by the shipped default prices, the runs' cost totals with them.
    // One range for every call: the same (from, to) resumes the recompute where its last batch stopped.
    const span = { from: new Date(to.getTime() - (SEEDED_DAYS + 1) * 86_400_000).toISOString(), to: to.toISOString() };
    while (!(await runtime.prices.recompute(DEFAULT_ACTOR, span)).done) {}
    await runtime.database.db.execute('ANALYZE runs');
    await runtime.database.db.execute('ANALYZE steps');
    return { apiKey: key };
  } finally {
    await runtime.close();
  }
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

export interface ExportedSpan {
  name: string;
  spanId: string;
}

/**
 * Exports a run's trace as an OpenTelemetry SDK would (OTLP/HTTP JSON to /v1/traces): a root request span, two
 * agent steps, a tool execution and time to first token (what the trace view shows), and a database span the view
 * filters out.
 */
export async function exportRunTrace(baseUrl: string, apiKey: string, traceId: string): Promise<ExportedSpan[]> {
  const t0 = BigInt(Date.now()) * 1_000_000n;
  const ms = (n: number) => String(t0 + BigInt(Math.round(n * 1_000_000)));
  const root = hex(8);
  const step1 = hex(8);
  const step2 = hex(8);
  const spans = [
    {
      spanId: root,
      parentSpanId: '',
      name: 'POST /v1/agents/{agent_id}/messages',
      start: 0,
      end: 1200,
      attrs: { 'http.method': 'POST' },
    },
    {
      spanId: step1,
      parentSpanId: root,
      name: 'agent_step',
      start: 20,
      end: 640,
      attrs: { 'step.index': '0', model: 'gpt-4.1' },
    },
    {
      spanId: hex(8),
      parentSpanId: step1,
      name: 'time_to_first_token',
      start: 25,
      end: 310,
      attrs: { 'ttft.ms': '285' },
    },
    {
      spanId: hex(8),
      parentSpanId: step1,
      name: 'LettaAgentV3._execute_tool',
      start: 400,
      end: 620,
      attrs: { 'tool.name': 'web_search' },
    },
    {
      spanId: step2,
      parentSpanId: root,
      name: 'agent_step',
      start: 660,
      end: 1180,
      attrs: { 'step.index': '1', model: 'gpt-4.1' },
    },
    { spanId: hex(8), parentSpanId: step2, name: 'db.query', start: 700, end: 720, attrs: {} },
  ];
  const body = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'letta-server' } }] },
        scopeSpans: [
          {
            scope: { name: 'letta' },
            spans: spans.map((s) => ({
              traceId,
              spanId: s.spanId,
              parentSpanId: s.parentSpanId,
              name: s.name,
              kind: 1,
              startTimeUnixNano: ms(s.start),
              endTimeUnixNano: ms(s.end),
              attributes: Object.entries(s.attrs).map(([key, value]) => ({ key, value: { stringValue: value } })),
              status: { code: 1 },
            })),
          },
        ],
      },
    ],
  };
  const res = await fetch(`${baseUrl}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`OTLP export answered ${res.status}: ${await res.text()}`);
  return spans.filter((s) => s.name !== 'db.query').map((s) => ({ name: s.name, spanId: s.spanId }));
}

/** The nearest-rank percentile of some numbers. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}
