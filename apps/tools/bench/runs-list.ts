import { createRuntraceClient, type RuntraceClient } from '@runtrace/client';
import { spawnApi } from '@runtrace/client/testing/apiProcess';
import { encodeCursor, toIso } from '@runtrace/core/internal';
import { type FloorProcess, startFloor } from './floor-process.ts';
import { type ListSetup, measureListScenarios } from './measure-list-scenarios.ts';
import { RUNS_LIST_FLOOR_SCRIPT } from './runs-list-floor.ts';
import { type Cursor, explain, keysetPage, LIMIT, offsetPage } from './runs-list-sql.ts';
import { floorTable, listLabels, runsListTable } from './runs-list-table.ts';
import type { BenchContext, BenchSection } from './section.ts';
import { defaultWarmup, int } from './stats.ts';

/** The issue's deep page: page 10,000 of 100 (the last page of a million runs). */
const DEEP_PAGE = 10_000;

/**
 * runs.list (limit 100) over HTTP at concurrency 8: first page and a deep page, with and without an agentId filter.
 * Baselines from the same run: the same keyset query straight to Postgres (what HTTP + tRPC + drizzle add), the first
 * page (what depth adds), and OFFSET pagination of the same deep page (what a naive implementation would cost).
 */
export const runsListSection: BenchSection = {
  name: 'runs.list',
  loadGeneratorOnly: true,
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
    const api = await spawnApi(
      {
        DATABASE_URL: env.databaseUrl,
        RUNTRACE_AUTH: 'optional',
        RUNTRACE_STREAM_STALE_AFTER_MS: String(365 * 24 * 3600 * 1000),
        RUNTRACE_STREAM_SWEEP_INTERVAL_MS: String(24 * 3600 * 1000),
      },
      { nodeArgs: options.apiNodeArgs },
    );
    let floor: FloorProcess | null = null;
    try {
      // The floor: the same keyset query through postgres.js and JSON.stringify, on a pool as large as the workers.
      floor = await startFloor(RUNS_LIST_FLOOR_SCRIPT, [env.databaseUrl, org, String(c)], options.apiNodeArgs);
      ctx.pinning.server(api.pid);
      ctx.pinning.server(floor.pid);
      return await measureList(ctx, api, floor, {
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
      await floor?.stop();
      await api.stop();
    }
  },
};

async function measureList(
  ctx: BenchContext,
  api: { url: string; pid: number },
  floor: FloorProcess,
  setup: ListSetup,
) {
  const { seed, options } = ctx;
  const { org, agentId, agentRuns, deepPage, agentDeepPage, agentDeep, c, db } = setup;
  const client = createRuntraceClient({ url: api.url });
  await checkKeysetPagesMatchOffset(ctx, client, setup);
  const bytes = await checkFloorPagesMatchApi(api.url, floor.url, setup);
  ctx.log(
    `    the floor answers the api's very bytes for page 1, page 1 with agentId and the deep page (checked): ${bytes.map((b) => `${int(b)} B`).join(', ')}`,
  );
  const L = listLabels(deepPage, agentDeepPage, LIMIT);
  const { m, scenarios, rounds, ...floorMeasurements } = await measureListScenarios(ctx, api, floor, client, L, setup);
  const capacity = floorTable(L, m, floorMeasurements);
  const baselines = runsListTable(L, m);
  const table = `${capacity.table}\n\nat saturation (closed loop, concurrency ${c}), beside the SQL and OFFSET baselines:\n${baselines.table}`;
  const checks = [...capacity.checks, ...baselines.checks];
  const plans = [
    [L.sqlFirst, await explain(keysetPage(db, org, null, null, true))],
    [L.sqlDeepAgent, await explain(keysetPage(db, org, agentId, agentDeep, true))],
    [L.offsetDeep, await explain(offsetPage(db, org, null, (deepPage - 1) * LIMIT, true))],
  ];
  return {
    title: `runs.list, limit ${LIMIT}, ${int(seed.runs)} runs in one organization (agent ${agentId.slice(0, 14)}… has ${int(agentRuns)}), concurrency ${c}`,
    table,
    notes: [
      `Issue 17's method. Capacity: req/s at saturation (closed loop, ${c} workers) and the server process's CPU per page (/proc/<pid>/stat, 10 ms ticks over the whole phase), the api beside the floor: bench/runs-list-floor.ts, a node:http server in a process of its own answering the same URL with the same keyset SQL through postgres.js (${c} connections) and JSON.stringify of the same page (each row shaped as core's toRun shapes it, nextCursor, tRPC's batch envelope), no tRPC, no validation, no auth, no drizzle; checked to answer the api's very bytes. Latency: p50/p99 under an open-loop constant-rate load at 50% of the capacity each server just showed, counted from each request's scheduled time (wrk2's way), ${int(options.requests)} requests per page and server. ${ctx.pinning.enabled ? `Pinning: api and floor on CPU ${ctx.pinning.serverCpus}, this load generator on CPU ${ctx.pinning.loadCpus}; Postgres unpinned.` : 'No pinning.'}`,
      `The api in a process of its own (apps/api/src/main.ts on the scratch database). HTTP rows: keep-alive GETs of the URL the typed client's httpBatchLink sends (runs.list?batch=1&input=…), ${c} sockets, each response read to its end and its status checked, not parsed, as wrk or autocannon would; the typed-client row goes through @runtrace/client (one client per worker, so calls are never batched together), which also parses the JSON. SQL: postgres.js, ${c} connections, the query runs.list issues.`,
      "cpu ms/req: CPU time of this (load-generating) process per request; api cpu ms/req: the api process's (/proc), for the HTTP rows. The api, Postgres and the load generator share the machine's cores.",
      `The ${scenarios} scenarios take turns in ${rounds} rounds (a change in machine load falls on all alike), each after ${defaultWarmup(options.requests)} untimed requests.`,
      `Deep pages use a real cursor (encodeCursor of the last row of the previous page, found once with OFFSET); ratio = scenario / baseline.`,
      ...plans.map(([label, plan]) => `plan, ${label}: ${plan}`),
    ],
    checks,
  };
}

/** The keyset pages over HTTP must be exactly the OFFSET pages, ties in created_at included. */
async function checkKeysetPagesMatchOffset(
  ctx: BenchContext,
  client: RuntraceClient,
  { org, agentId, deepPage, agentDeepPage, deep, agentDeep, encode }: ListSetup,
) {
  const { env, log } = ctx;
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
}

/** The floor must answer the api's very bytes for each page, or it measures other work. Answers the sizes. */
async function checkFloorPagesMatchApi(
  apiUrl: string,
  floorUrl: string,
  { agentId, deep, encode }: ListSetup,
): Promise<number[]> {
  const sizes: number[] = [];
  for (const input of [{}, { agentId }, { cursor: encode(deep) }]) {
    const query = `/trpc/runs.list?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: { limit: LIMIT, ...input } }))}`;
    const answer = async (base: string) => (await fetch(`${base}${query}`)).text();
    const [viaApi, viaFloor] = await Promise.all([answer(apiUrl), answer(floorUrl)]);
    if (viaApi !== viaFloor) {
      let at = 0;
      while (viaApi[at] === viaFloor[at]) at++;
      throw new Error(
        `the runs.list floor's answer for ${JSON.stringify(input)} differs from the api's at character ${at}: ` +
          `api …${viaApi.slice(Math.max(0, at - 80), at + 80)}… floor …${viaFloor.slice(Math.max(0, at - 80), at + 80)}…`,
      );
    }
    sizes.push(Buffer.byteLength(viaApi));
  }
  return sizes;
}
