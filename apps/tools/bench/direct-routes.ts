import { randomUUID } from 'node:crypto';
import { spawnApi } from '@runtrace/client/testing/apiProcess';
import { get, keepAliveAgent, postJson } from './http.ts';
import type { BenchContext, BenchSection } from './section.ts';
import { defaultWarmup, int, measureInterleaved, ms, processCpuMs, ratio, type Summary } from './stats.ts';
import { formatTable } from './table.ts';

/** Issue 17: a direct route stays only while it saves at least this share of the api's CPU per call. */
const MIN_SAVING = 0.15;
const CONCURRENCY = 8;
/** runs.list's page, as the dashboard asks for it. */
const LIST_LIMIT = 100;

/** A direct route measured against tRPC's handler: the label, and one call of it by `worker` (headers added). */
interface RouteCall {
  label: string;
  path: string;
  send: (worker: number, headers: Record<string, string>) => Promise<number>;
}

/**
 * The direct routes of fast-calls.ts against tRPC's own handler for the same call, in the same run: each call as
 * httpBatchLink sends it, once as is (the direct route) and once with `trpc-accept: application/json` (any trpc-accept
 * header hands a call to tRPC's handler, and this one asks for the same plain JSON answer). `runs.appendEvents`: one
 * token per call, as a producer streaming tokens sends them; `runs.list`: the first page of 100 runs, as a dashboard
 * asks for it. The api runs in a process of its own (its CPU read from /proc); the two routes take turns in 10 rounds.
 */
export const directRoutesSection: BenchSection = {
  name: 'direct-routes',
  needsSeed: false,
  loadGeneratorOnly: true,
  async run(ctx: BenchContext) {
    const { env, options, log } = ctx;
    const api = await spawnApi(
      { DATABASE_URL: env.databaseUrl, RUNTRACE_AUTH: 'optional' },
      { nodeArgs: options.apiNodeArgs },
    );
    ctx.pinning.server(api.pid);
    const agent = keepAliveAgent(CONCURRENCY);
    try {
      const url = (path: string, query = '') => new URL(`${api.url}/trpc/${path}?batch=1${query}`);
      const create = async (input: unknown) => {
        const res = await fetch(url('runs.create'), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ 0: input }),
        });
        return ((await res.json()) as [{ result: { data: { id: string } } }])[0].result.data.id;
      };
      // One background run per worker, so appends never wait on each other's run.
      const runIds: string[] = [];
      for (let w = 0; w < CONCURRENCY; w++)
        runIds.push(await create({ agentId: `agent-${randomUUID()}`, background: true }));
      // A full page for runs.list: runs of a few agents, with metadata as producers send it.
      for (let i = 0; i < LIST_LIMIT; i++) {
        await create({ agentId: `agent-${randomUUID()}`, metadata: { source: 'bench', index: i } });
      }
      const append = url('runs.appendEvents');
      const appendBody = (worker: number) =>
        JSON.stringify({
          0: { runId: runIds[worker], events: [{ messageType: 'assistant_message', id: 'm', content: 'token' }] },
        });
      const list = url('runs.list', `&input=${encodeURIComponent(JSON.stringify({ 0: { limit: LIST_LIMIT } }))}`);
      const calls: RouteCall[] = [
        {
          label: 'runs.appendEvents, 1 event',
          path: 'runs.appendEvents',
          send: (worker, headers) => postJson(agent, append, appendBody(worker), headers),
        },
        {
          label: `runs.list, page of ${LIST_LIMIT}`,
          path: 'runs.list',
          send: (_, headers) => get(agent, list, headers),
        },
      ];
      const apiCpuMs = () => processCpuMs(api.pid);
      const n = options.requests;
      const rows: string[][] = [];
      const checks: { name: string; pass: boolean }[] = [];
      for (const call of calls) {
        log(`    ${call.path}, direct route and tRPC's handler: ${int(n)} calls each at concurrency ${CONCURRENCY} …`);
        const [direct, adapter] = (await measureInterleaved(
          [
            { name: 'direct', concurrency: CONCURRENCY, serverCpuMs: apiCpuMs, run: (_, w) => call.send(w, {}) },
            {
              name: 'adapter',
              concurrency: CONCURRENCY,
              serverCpuMs: apiCpuMs,
              run: (_, w) => call.send(w, { 'trpc-accept': 'application/json' }),
            },
          ],
          { requests: n, rounds: 10 },
        )) as [Summary, Summary];
        const saving = 1 - direct.serverCpuMsPerOp / adapter.serverCpuMsPerOp;
        const target = `saves ≥ ${MIN_SAVING * 100}% api cpu`;
        rows.push([
          call.label,
          int(n),
          ms(direct.serverCpuMsPerOp),
          ms(adapter.serverCpuMsPerOp),
          ratio(direct.serverCpuMsPerOp / adapter.serverCpuMsPerOp),
          int(direct.perSecond),
          int(adapter.perSecond),
          ms(direct.p50),
          ms(adapter.p50),
          target,
          saving >= MIN_SAVING ? 'PASS' : 'FAIL',
        ]);
        checks.push({ name: `${call.path} direct route ${target}`, pass: saving >= MIN_SAVING });
      }
      const table = formatTable(
        [
          { header: 'call', align: 'left' },
          { header: 'n' },
          { header: 'direct api cpu ms' },
          { header: 'adapter api cpu ms' },
          { header: 'cpu ratio' },
          { header: 'direct req/s' },
          { header: 'adapter req/s' },
          { header: 'direct p50 ms' },
          { header: 'adapter p50 ms' },
          { header: 'target', align: 'left' },
          { header: 'result', align: 'left' },
        ],
        rows,
      );
      return {
        title: `direct routes (fast-calls.ts) vs tRPC's handler, concurrency ${CONCURRENCY}`,
        table,
        notes: [
          "api cpu ms: the api process's CPU per call (/proc). A direct route that saves less than 15% goes back to tRPC's handler (issue 17).",
          `The two take turns in 10 rounds, each after ${defaultWarmup(n)} untimed calls.`,
        ],
        checks,
      };
    } finally {
      agent.destroy();
      await api.stop();
    }
  },
};
