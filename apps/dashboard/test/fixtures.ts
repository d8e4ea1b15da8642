import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { createLogger, createRuntime, DEFAULT_ORGANIZATION_ID } from '@runtrace/core';
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

/**
 * Prepares the embedded database before the api opens it (PGlite admits one process at a time): an organization with
 * an API key of its own, and `runs` finished runs of the default organization over five agents, one second apart,
 * written in one INSERT … SELECT (with their run_metrics rows) as the bench seeds them: 10,000 runs through the api
 * would take a minute on this machine, and the list's first load is what is measured, not the writes.
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
    const list = agents.map((a) => `'${a}'`).join(', ');
    await runtime.database.db.execute(
      `INSERT INTO agents (id, organization_id, last_stop_reason) SELECT unnest(ARRAY[${list}]), '${DEFAULT_ORGANIZATION_ID}', 'end_turn'`,
    );
    await runtime.database.db.execute(`
      WITH seeded AS (
        INSERT INTO runs (id, organization_id, agent_id, status, stop_reason, background, conversation_id,
                          total_duration_ns, run_ns, create_fingerprint, created_at, updated_at, completed_at)
        SELECT 'run-' || gen_random_uuid(), '${DEFAULT_ORGANIZATION_ID}', (ARRAY[${list}])[1 + i % 5],
               'completed', 'end_turn', i % 4 = 0, 'conv-' || (i % 97), 1500000000, 1500000000, 'seed',
               now() - make_interval(secs => i), now() - make_interval(secs => i), now() - make_interval(secs => i) + interval '1.5 s'
        FROM generate_series(1, ${runs}) AS i
        RETURNING id, organization_id, agent_id, created_at)
      INSERT INTO run_metrics (id, organization_id, agent_id, run_start_ns, run_ns, num_steps)
      SELECT id, organization_id, agent_id, (extract(epoch FROM created_at) * 1e9)::bigint, 1500000000, 0 FROM seeded`);
    await runtime.database.db.execute('ANALYZE runs');
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
