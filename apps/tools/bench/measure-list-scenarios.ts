import { createRuntraceClient, type RuntraceClient } from '@runtrace/client';
import type postgres from 'postgres';
import { get, keepAliveAgent } from './http.ts';
import { type Cursor, expectRows, keysetPage, LIMIT, offsetPage } from './runs-list-sql.ts';
import type { ListLabels, ListMeasurements } from './runs-list-table.ts';
import type { BenchContext } from './section.ts';
import { int, measure, measureInterleaved, processCpuMs, type Scenario, type Summary, seconds } from './stats.ts';

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
  client: RuntraceClient,
  L: ListLabels,
  { org, agentId, deepPage, agentDeepPage, deep, agentDeep, encode, c, db }: ListSetup,
): Promise<{ m: ListMeasurements } & ListRounds> {
  const { options, log } = ctx;
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
  return { m, scenarios: scenarios.length, rounds };
}
