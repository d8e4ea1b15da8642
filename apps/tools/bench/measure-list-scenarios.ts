import { createRuntraceClient, type RuntraceClient } from '@runtrace/client';
import type postgres from 'postgres';
import type { FloorProcess } from './floor-process.ts';
import { get, keepAliveAgent } from './http.ts';
import { type Cursor, expectRows, keysetPage, LIMIT, offsetPage } from './runs-list-sql.ts';
import type { ListLabels, ListMeasurements } from './runs-list-table.ts';
import type { BenchContext } from './section.ts';
import {
  int,
  measure,
  measureInterleaved,
  openLoop,
  percentile,
  processCpuMs,
  type Scenario,
  type Summary,
  seconds,
} from './stats.ts';

/** What runsListSection finds before the api starts: the agent filtered on, its deep pages and their cursors. */
export interface ListSetup {
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

/** A page's latency under an open-loop load at half the capacity its server just showed. */
export interface OpenLoopLatency {
  /** Requests per second sent (half the closed loop's). */
  rate: number;
  n: number;
  p50: number;
  p99: number;
}

/** The pages measured against the floor, by the labels' keys. */
export const FLOOR_PAGES = ['first', 'firstAgent', 'deep', 'deepAgent'] as const;
export type FloorPage = (typeof FLOOR_PAGES)[number];

/** The floor server's closed-loop figures, and the open-loop latency of both servers, per page. */
export interface FloorMeasurements {
  floor: Record<FloorPage, Summary>;
  apiOpen: Record<FloorPage, OpenLoopLatency>;
  floorOpen: Record<FloorPage, OpenLoopLatency>;
}

/** How many scenarios take turns, and in how many rounds (for the notes). */
export interface ListRounds {
  scenarios: number;
  rounds: number;
}

/**
 * The HTTP and SQL keyset scenarios, taking turns in rounds, then the OFFSET baselines on their own.
 * `client` serves a worker that has no typed client of its own.
 */
export async function measureListScenarios(
  ctx: BenchContext,
  api: { url: string; pid: number },
  floorServer: FloorProcess,
  client: RuntraceClient,
  L: ListLabels,
  { org, agentId, deepPage, agentDeepPage, deep, agentDeep, encode, c, db }: ListSetup,
): Promise<{ m: ListMeasurements } & FloorMeasurements & ListRounds> {
  const { options, log } = ctx;
  const apiCpuMs = () => processCpuMs(api.pid);
  const floorCpuMs = () => processCpuMs(floorServer.pid);
  // Keep-alive GETs of the URL httpBatchLink sends (http.ts): the api's latency, not the client's JSON.parse.
  const agent = keepAliveAgent(c);
  const pageInputs: Record<FloorPage, { agentId?: string; cursor?: string }> = {
    first: {},
    firstAgent: { agentId },
    deep: { cursor: encode(deep) },
    deepAgent: { agentId, cursor: encode(agentDeep) },
  };
  const listUrl = (base: string, input: { agentId?: string; cursor?: string }) =>
    new URL(
      `${base}/trpc/runs.list?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: { limit: LIMIT, ...input } }))}`,
    );
  const overHttp = (name: string, input: { agentId?: string; cursor?: string }): Scenario => {
    const url = listUrl(api.url, input);
    return { name, concurrency: c, serverCpuMs: apiCpuMs, run: () => get(agent, url) };
  };
  const onFloor = (page: FloorPage): Scenario => {
    const url = listUrl(floorServer.url, pageInputs[page]);
    return { name: `floor ${L[page]}`, concurrency: c, serverCpuMs: floorCpuMs, run: () => get(agent, url) };
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
    ...FLOOR_PAGES.map(onFloor),
  ];
  const rounds = 10;
  log(
    `    ${scenarios.length} scenarios × ${int(options.requests)} requests at concurrency ${c}, taking turns in ${rounds} rounds ` +
      `(HTTP: ${L.first}, ${L.firstAgent}, ${L.deep}, ${L.deepAgent}; SQL: the same four queries; ${L.firstClient}; ` +
      'the floor server: the four pages) …',
  );
  const t0 = performance.now();
  const results = await measureInterleaved(scenarios, {
    requests: options.requests,
    rounds,
    onRound: (r, n) => log(`      round ${r}/${n}  ${seconds(performance.now() - t0)}`),
  });
  const [sqlFirst, first, sqlFirstAgent, firstAgent, sqlDeep, deepM, sqlDeepAgent, deepAgent, firstClient] =
    results as [Summary, Summary, Summary, Summary, Summary, Summary, Summary, Summary, Summary];
  const [floorFirst, floorFirstAgent, floorDeep, floorDeepAgent] = results.slice(9) as [
    Summary,
    Summary,
    Summary,
    Summary,
  ];
  const capacity: Record<FloorPage, Summary> = { first, firstAgent, deep: deepM, deepAgent };
  const floor: Record<FloorPage, Summary> = {
    first: floorFirst,
    firstAgent: floorFirstAgent,
    deep: floorDeep,
    deepAgent: floorDeepAgent,
  };

  // Latency at a stated load: each server at half the capacity it just showed, open loop (counted from each
  // request's scheduled time), the api's and the floor's runs taking turns page by page.
  const atHalf = async (base: string, page: FloorPage, s: Summary): Promise<OpenLoopLatency> => {
    const url = listUrl(base, pageInputs[page]);
    const rate = s.perSecond / 2;
    const latencies = await openLoop(rate, options.requests, () => get(agent, url));
    return { rate, n: latencies.length, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  };
  const apiOpen = {} as Record<FloorPage, OpenLoopLatency>;
  const floorOpen = {} as Record<FloorPage, OpenLoopLatency>;
  for (const page of FLOOR_PAGES) {
    log(
      `    open loop at 50% of capacity, ${L[page]}: api at ${int(capacity[page].perSecond / 2)}/s, ` +
        `floor at ${int(floor[page].perSecond / 2)}/s, ${int(options.requests)} requests each …`,
    );
    apiOpen[page] = await atHalf(api.url, page, capacity[page]);
    floorOpen[page] = await atHalf(floorServer.url, page, floor[page]);
  }
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
  return { m, floor, apiOpen, floorOpen, scenarios: scenarios.length, rounds };
}
