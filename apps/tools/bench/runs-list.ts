import { createRuntraceClient } from '@runtrace/client';
import { spawnApi } from '@runtrace/client/testing/apiProcess';
import { encodeCursor, toIso } from '@runtrace/core/internal';
import type postgres from 'postgres';
import { get, keepAliveAgent } from './http.ts';
import type { BenchContext, BenchSection, Check } from './section.ts';
import {
  defaultWarmup,
  int,
  measure,
  measureInterleaved,
  ms,
  processCpuMs,
  ratio,
  type Scenario,
  type Summary,
  seconds,
} from './stats.ts';
import { formatTable } from './table.ts';

const LIMIT = 100;
/** The issue's deep page: page 10,000 of 100 (the last page of a million runs). */
const DEEP_PAGE = 10_000;
const P99_TARGET_MS = 10;
const DEEP_RATIO_TARGET = 1.5;

interface Cursor {
  key: string;
  id: string;
}

interface Row {
  label: string;
  measured: Summary;
  baselineLabel: string;
  baseline: Summary;
  target: string;
  checks: Check[];
}

/**
 * runs.list (limit 100) over HTTP at concurrency 8: first page and a deep page, with and without an agentId filter.
 * Baselines from the same run: the same keyset query straight to Postgres (what HTTP + tRPC + drizzle add), the first
 * page (what depth adds), and OFFSET pagination of the same deep page (what a naive implementation would cost).
 */
export const runsListSection: BenchSection = {
  name: 'runs.list',
  async run(ctx: BenchContext) {
    const { env, seed, options } = ctx;
    const org = seed.organizationId;
    const agentId = seed.agentIds[0] as string;
    const c = options.listConcurrency;
    const db = env.pool(c);

    const [agentCount] = await env.sql<{ n: string }[]>`
      select count(*) as n from runs where organization_id = ${org} and agent_id = ${agentId}`;
    const agentRuns = Number(agentCount?.n ?? 0);
    const deepPage = Math.min(DEEP_PAGE, Math.floor(seed.runs / LIMIT));
    const agentDeepPage = Math.floor(agentRuns / LIMIT);

    // A real cursor for page p: the last row of page p-1, found once with OFFSET, outside the timing.
    const cursorFor = async (page: number, agent: string | null): Promise<Cursor> => {
      const [row] = await env.sql<{ created_at: string; id: string }[]>`
        select created_at::text as created_at, id from runs
        where organization_id = ${org} ${agent ? env.sql`and agent_id = ${agent}` : env.sql``}
        order by created_at desc, id desc offset ${(page - 1) * LIMIT - 1} limit 1`;
      if (!row) throw new Error(`no row before page ${page}`);
      return { key: toIso(row.created_at), id: row.id };
    };
    const deep = await cursorFor(deepPage, null);
    const agentDeep = await cursorFor(agentDeepPage, agentId);
    const encode = (k: Cursor) => encodeCursor('runs', 'desc', k.key, k.id);

    // The api in a process of its own, as in production: the load generator's CPU is not the api's event loop's.
    // The seeded runs include backdated background runs without streams; the stale-run sweep must leave them be.
    const api = await spawnApi({
      DATABASE_URL: env.databaseUrl,
      RUNTRACE_AUTH: 'optional',
      RUNTRACE_STREAM_STALE_AFTER_MS: String(365 * 24 * 3600 * 1000),
      RUNTRACE_STREAM_SWEEP_INTERVAL_MS: String(24 * 3600 * 1000),
    });
    try {
      return await measureList(ctx, api, {
        org,
        agentId,
        agentRuns,
        deepPage,
        agentDeepPage,
        deep,
        agentDeep,
        encode,
        c,
        db,
      });
    } finally {
      await api.stop();
    }
  },
};

interface ListSetup {
  org: string;
  agentId: string;
  agentRuns: number;
  deepPage: number;
  agentDeepPage: number;
  deep: Cursor;
  agentDeep: Cursor;
  encode: (k: Cursor) => string;
  c: number;
  db: postgres.Sql;
}

async function measureList(
  ctx: BenchContext,
  api: { url: string; pid: number },
  { org, agentId, agentRuns, deepPage, agentDeepPage, deep, agentDeep, encode, c, db }: ListSetup,
) {
  const { env, seed, options, log } = ctx;
  // The keyset pages over HTTP must be exactly the OFFSET pages, ties in created_at included.
  const client = createRuntraceClient({ url: api.url });
  for (const [page, agent, cursor] of [
    [deepPage, null, deep],
    [agentDeepPage, agentId, agentDeep],
  ] as const) {
    const viaHttp = await client.runs.list.query({
      limit: LIMIT,
      cursor: encode(cursor),
      ...(agent ? { agentId: agent } : {}),
    });
    const viaOffset = await offsetPage(env.sql, org, agent, (page - 1) * LIMIT, false);
    const same = viaHttp.items.length === LIMIT && viaHttp.items.every((r, i) => r.id === viaOffset[i]?.id);
    if (!same) throw new Error(`runs.list page ${page}${agent ? ' (agentId)' : ''} differs from the OFFSET page`);
  }
  log(`    page ${int(deepPage)} and agent page ${int(agentDeepPage)} over HTTP equal their OFFSET pages (checked)`);

  const L = {
    first: 'runs.list page 1',
    firstAgent: 'runs.list page 1, agentId',
    deep: `runs.list page ${int(deepPage)}`,
    deepAgent: `runs.list page ${int(agentDeepPage)}, agentId`,
    firstClient: 'runs.list page 1, typed client',
    sqlFirst: 'SQL keyset page 1 (no HTTP)',
    sqlFirstAgent: 'SQL keyset page 1, agentId',
    sqlDeep: `SQL keyset page ${int(deepPage)}`,
    sqlDeepAgent: `SQL keyset page ${int(agentDeepPage)}, agentId`,
    offsetDeep: `SQL OFFSET ${int((deepPage - 1) * LIMIT)} (naive)`,
    offsetDeepAgent: `SQL OFFSET ${int((agentDeepPage - 1) * LIMIT)}, agentId`,
  };
  const apiCpuMs = () => processCpuMs(api.pid);
  // Keep-alive GETs of the URL httpBatchLink sends (http.ts): the api's latency, not the client's JSON.parse.
  const agent = keepAliveAgent(c);
  const overHttp = (name: string, input: { agentId?: string; cursor?: string }): Scenario => {
    const url = new URL(
      `${api.url}/trpc/runs.list?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: { limit: LIMIT, ...input } }))}`,
    );
    return { name, concurrency: c, serverCpuMs: apiCpuMs, run: () => get(agent, url) };
  };
  // The same first page through @runtrace/client, which also parses the ~60 KB of JSON (a dashboard does that too).
  const clients = Array.from({ length: c }, () => createRuntraceClient({ url: api.url }));
  const typedClient = (name: string): Scenario => ({
    name,
    concurrency: c,
    serverCpuMs: apiCpuMs,
    run: async (_, worker) => {
      const page = await (clients[worker] ?? client).runs.list.query({ limit: LIMIT });
      if (page.items.length !== LIMIT) throw new Error(`${name}: ${page.items.length} items, expected ${LIMIT}`);
    },
  });
  const sqlKeyset = (name: string, agent: string | null, cursor: Cursor | null): Scenario => ({
    name,
    concurrency: c,
    run: async () => expectRows(name, await keysetPage(db, org, agent, cursor, false)),
  });
  const sqlOffset = (name: string, agent: string | null, offset: number): Scenario => ({
    name,
    concurrency: c,
    run: async () => expectRows(name, await offsetPage(db, org, agent, offset, false)),
  });

  const scenarios = [
    sqlKeyset(L.sqlFirst, null, null),
    overHttp(L.first, {}),
    sqlKeyset(L.sqlFirstAgent, agentId, null),
    overHttp(L.firstAgent, { agentId }),
    sqlKeyset(L.sqlDeep, null, deep),
    overHttp(L.deep, { cursor: encode(deep) }),
    sqlKeyset(L.sqlDeepAgent, agentId, agentDeep),
    overHttp(L.deepAgent, { agentId, cursor: encode(agentDeep) }),
    typedClient(L.firstClient),
  ];
  const rounds = 10;
  log(
    `    ${scenarios.length} scenarios × ${int(options.requests)} requests at concurrency ${c}, taking turns in ${rounds} rounds ` +
      `(HTTP: ${L.first}, ${L.firstAgent}, ${L.deep}, ${L.deepAgent}; SQL: the same four queries; ${L.firstClient}) …`,
  );
  const t0 = performance.now();
  const [sqlFirst, first, sqlFirstAgent, firstAgent, sqlDeep, deepM, sqlDeepAgent, deepAgent, firstClient] =
    (await measureInterleaved(scenarios, {
      requests: options.requests,
      rounds,
      onRound: (r, n) => log(`      round ${r}/${n}  ${seconds(performance.now() - t0)}`),
    })) as [Summary, Summary, Summary, Summary, Summary, Summary, Summary, Summary, Summary];
  agent.destroy();
  // No warm-up for OFFSET: at a million runs one such query scans and sorts the whole table for seconds.
  log(
    `    ${L.offsetDeep} and ${L.offsetDeepAgent}: ${int(options.offsetRequests)} queries each at concurrency ${c} …`,
  );
  const offsetDeep = await measure(sqlOffset(L.offsetDeep, null, (deepPage - 1) * LIMIT), {
    requests: options.offsetRequests,
    warmup: 0,
  });
  const offsetDeepAgent = await measure(sqlOffset(L.offsetDeepAgent, agentId, (agentDeepPage - 1) * LIMIT), {
    requests: options.offsetRequests,
    warmup: 0,
  });
  const m = {
    sqlFirst,
    first,
    sqlFirstAgent,
    firstAgent,
    sqlDeep,
    deep: deepM,
    sqlDeepAgent,
    deepAgent,
    firstClient,
    offsetDeep,
    offsetDeepAgent,
  };

  const p99Check = (label: string, s: Summary): Check => ({
    name: `${label}: p99 ≤ ${P99_TARGET_MS} ms`,
    pass: s.p99 <= P99_TARGET_MS,
  });
  const depthCheck = (label: string, s: Summary, first: Summary): Check => ({
    name: `${label}: p50 ≤ ${DEEP_RATIO_TARGET}× page 1`,
    pass: s.p50 <= DEEP_RATIO_TARGET * first.p50,
  });
  const rows: Row[] = [
    {
      label: L.first,
      measured: m.first,
      baselineLabel: L.sqlFirst,
      baseline: m.sqlFirst,
      target: `p99 ≤ ${P99_TARGET_MS} ms`,
      checks: [p99Check(L.first, m.first)],
    },
    {
      label: L.firstAgent,
      measured: m.firstAgent,
      baselineLabel: L.sqlFirstAgent,
      baseline: m.sqlFirstAgent,
      target: `p99 ≤ ${P99_TARGET_MS} ms`,
      checks: [p99Check(L.firstAgent, m.firstAgent)],
    },
    {
      label: L.deep,
      measured: m.deep,
      baselineLabel: L.first,
      baseline: m.first,
      target: `p99 ≤ ${P99_TARGET_MS} ms, p50 ≤ ${DEEP_RATIO_TARGET}×`,
      checks: [p99Check(L.deep, m.deep), depthCheck(L.deep, m.deep, m.first)],
    },
    {
      label: L.deepAgent,
      measured: m.deepAgent,
      baselineLabel: L.firstAgent,
      baseline: m.firstAgent,
      target: `p99 ≤ ${P99_TARGET_MS} ms, p50 ≤ ${DEEP_RATIO_TARGET}×`,
      checks: [p99Check(L.deepAgent, m.deepAgent), depthCheck(L.deepAgent, m.deepAgent, m.firstAgent)],
    },
    {
      label: L.deep,
      measured: m.deep,
      baselineLabel: L.sqlDeep,
      baseline: m.sqlDeep,
      target: '(HTTP cost)',
      checks: [],
    },
    {
      label: L.firstClient,
      measured: m.firstClient,
      baselineLabel: L.first,
      baseline: m.first,
      target: '(client cost)',
      checks: [],
    },
    {
      label: L.sqlDeep,
      measured: m.sqlDeep,
      baselineLabel: L.offsetDeep,
      baseline: m.offsetDeep,
      target: '(vs naive)',
      checks: [],
    },
    {
      label: L.sqlDeepAgent,
      measured: m.sqlDeepAgent,
      baselineLabel: L.offsetDeepAgent,
      baseline: m.offsetDeepAgent,
      target: '(vs naive)',
      checks: [],
    },
  ];

  const table = formatTable(
    [
      { header: 'scenario', align: 'left' },
      { header: 'n' },
      { header: 'p50 ms' },
      { header: 'p99 ms' },
      { header: 'req/s' },
      { header: 'cpu ms/req' },
      { header: 'api cpu ms/req' },
      { header: 'baseline (same run)', align: 'left' },
      { header: 'n' },
      { header: 'p50 ms' },
      { header: 'p99 ms' },
      { header: 'ratio p50' },
      { header: 'ratio p99' },
      { header: 'target', align: 'left' },
      { header: 'result', align: 'left' },
    ],
    rows.map((r) => [
      r.label,
      int(r.measured.n),
      ms(r.measured.p50),
      ms(r.measured.p99),
      int(r.measured.perSecond),
      ms(r.measured.cpuMsPerOp),
      ms(r.measured.serverCpuMsPerOp),
      r.baselineLabel,
      int(r.baseline.n),
      ms(r.baseline.p50),
      ms(r.baseline.p99),
      ratio(r.measured.p50 / r.baseline.p50),
      ratio(r.measured.p99 / r.baseline.p99),
      r.target,
      r.checks.length ? (r.checks.every((k) => k.pass) ? 'PASS' : 'FAIL') : '',
    ]),
  );

  const plans = [
    [L.sqlFirst, await explain(keysetPage(db, org, null, null, true))],
    [L.sqlDeepAgent, await explain(keysetPage(db, org, agentId, agentDeep, true))],
    [L.offsetDeep, await explain(offsetPage(db, org, null, (deepPage - 1) * LIMIT, true))],
  ];
  return {
    title: `runs.list, limit ${LIMIT}, ${int(seed.runs)} runs in one organization (agent ${agentId.slice(0, 14)}… has ${int(agentRuns)}), concurrency ${c}`,
    table,
    notes: [
      `The api in a process of its own (apps/api/src/main.ts on the scratch database). HTTP rows: keep-alive GETs of the URL the typed client's httpBatchLink sends (runs.list?batch=1&input=…), ${c} sockets, each response read to its end and its status checked, not parsed, as wrk or autocannon would; the typed-client row goes through @runtrace/client (one client per worker, so calls are never batched together), which also parses the JSON. SQL: postgres.js, ${c} connections, the query runs.list issues.`,
      "cpu ms/req: CPU time of this (load-generating) process per request; api cpu ms/req: the api process's (/proc), for the HTTP rows. The api, Postgres and the load generator share the machine's cores.",
      `The ${scenarios.length} scenarios take turns in ${rounds} rounds (a change in machine load falls on all alike), each after ${defaultWarmup(options.requests)} untimed requests.`,
      `Deep pages use a real cursor (encodeCursor of the last row of the previous page, found once with OFFSET); ratio = scenario / baseline.`,
      ...plans.map(([label, plan]) => `plan, ${label}: ${plan}`),
    ],
    checks: rows.flatMap((r) => r.checks),
  };
}

function expectRows(label: string, rows: readonly unknown[]) {
  if (rows.length < LIMIT) throw new Error(`${label}: ${rows.length} rows, expected ${LIMIT}`);
}

/** The columns RunManager's reads select: no join (runs.run_ns mirrors run_metrics.run_ns), bigints as text. */
const RUN_COLUMNS = `id, agent_id, status, stop_reason, background, conversation_id, base_template_id, metadata, request_config,
  callback_url, callback_sent_at, callback_status_code, callback_error, ttft_ns::text, total_duration_ns::text, run_ns::text,
  created_at, updated_at, completed_at`;

/** The query RunManager.list issues (keyset over (created_at, id)). */
function keysetPage(db: postgres.Sql, org: string, agent: string | null, cursor: Cursor | null, explain: boolean) {
  return db<{ id: string }[]>`
    ${explain ? db`explain (format json)` : db``}
    select ${db.unsafe(RUN_COLUMNS)} from runs
    where runs.organization_id = ${org}
      ${agent ? db`and runs.agent_id = ${agent}` : db``}
      ${cursor ? db`and (runs.created_at, runs.id) < (${cursor.key}::timestamptz, ${cursor.id})` : db``}
    order by runs.created_at desc, runs.id desc
    limit ${LIMIT + 1}`;
}

/** What a naive implementation does for the same page: skip `offset` rows. */
function offsetPage(db: postgres.Sql, org: string, agent: string | null, offset: number, explain: boolean) {
  return db<{ id: string }[]>`
    ${explain ? db`explain (format json)` : db``}
    select ${db.unsafe(RUN_COLUMNS)} from runs
    where runs.organization_id = ${org}
      ${agent ? db`and runs.agent_id = ${agent}` : db``}
    order by runs.created_at desc, runs.id desc
    limit ${LIMIT + 1} offset ${offset}`;
}

interface PlanNode {
  'Node Type': string;
  'Scan Direction'?: string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

/** A one-line plan: `Limit > Index Scan Backward runs_org_created_idx`. */
async function explain(query: PromiseLike<unknown>): Promise<string> {
  const result = (await query) as { 'QUERY PLAN': { Plan: PlanNode }[] }[];
  const root = result[0]?.['QUERY PLAN'][0]?.Plan;
  const describe = (node: PlanNode): string => {
    const type = node['Scan Direction'] === 'Backward' ? `${node['Node Type']} Backward` : node['Node Type'];
    const name = `${type}${node['Index Name'] ? ` ${node['Index Name']}` : node['Relation Name'] ? ` ${node['Relation Name']}` : ''}`;
    const children = node.Plans ?? [];
    if (!children.length) return name;
    if (children.length === 1) return `${name} > ${describe(children[0] as PlanNode)}`;
    return `${name} > [${children.map(describe).join(', ')}]`;
  };
  return root ? describe(root) : '(no plan)';
}
