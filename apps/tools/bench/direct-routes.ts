import { randomUUID } from 'node:crypto';
import { spawnApi } from '@runtrace/client/testing/apiProcess';
import { keepAliveAgent, postJson } from './http.ts';
import type { BenchContext, BenchSection } from './section.ts';
import { defaultWarmup, int, measureInterleaved, ms, processCpuMs, ratio, type Summary } from './stats.ts';
import { formatTable } from './table.ts';

/** Issue 17: a direct route stays only while it saves at least this share of the api's CPU per call. */
const MIN_SAVING = 0.15;
const CONCURRENCY = 8;

/**
 * The direct routes of fast-calls.ts against tRPC's own handler for the same call, in the same run: `runs.appendEvents`
 * (one token per call, as a producer streaming tokens sends them) batched as httpBatchLink sends it, once as is (the
 * direct route) and once with `trpc-accept: application/json` (any trpc-accept header hands a call to tRPC's handler,
 * and this one asks for the same plain JSON answer). The api runs in a process of its own (its CPU read from /proc);
 * the two take turns in 10 rounds.
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
      const url = (path: string) => new URL(`${api.url}/trpc/${path}?batch=1`);
      // One background run per worker, so appends never wait on each other's run.
      const runIds: string[] = [];
      for (let w = 0; w < CONCURRENCY; w++) {
        const res = await fetch(url('runs.create'), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ 0: { agentId: `agent-${randomUUID()}`, background: true } }),
        });
        runIds.push(((await res.json()) as [{ result: { data: { id: string } } }])[0].result.data.id);
      }
      const body = (worker: number) =>
        JSON.stringify({
          0: { runId: runIds[worker], events: [{ messageType: 'assistant_message', id: 'm', content: 'token' }] },
        });
      const append = url('runs.appendEvents');
      const apiCpuMs = () => processCpuMs(api.pid);
      const n = options.requests;
      log(
        `    runs.appendEvents, direct route and tRPC's handler: ${int(n)} calls each at concurrency ${CONCURRENCY} …`,
      );
      const [direct, adapter] = (await measureInterleaved(
        [
          {
            name: 'direct',
            concurrency: CONCURRENCY,
            serverCpuMs: apiCpuMs,
            run: (_, worker) => postJson(agent, append, body(worker)),
          },
          {
            name: 'adapter',
            concurrency: CONCURRENCY,
            serverCpuMs: apiCpuMs,
            run: (_, worker) => postJson(agent, append, body(worker), { 'trpc-accept': 'application/json' }),
          },
        ],
        { requests: n, rounds: 10 },
      )) as [Summary, Summary];
      const saving = 1 - direct.serverCpuMsPerOp / adapter.serverCpuMsPerOp;
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
        [
          [
            'runs.appendEvents, 1 event',
            int(n),
            ms(direct.serverCpuMsPerOp),
            ms(adapter.serverCpuMsPerOp),
            ratio(direct.serverCpuMsPerOp / adapter.serverCpuMsPerOp),
            int(direct.perSecond),
            int(adapter.perSecond),
            ms(direct.p50),
            ms(adapter.p50),
            `saves ≥ ${MIN_SAVING * 100}% api cpu`,
            saving >= MIN_SAVING ? 'PASS' : 'FAIL',
          ],
        ],
      );
      return {
        title: `direct routes (fast-calls.ts) vs tRPC's handler, concurrency ${CONCURRENCY}`,
        table,
        notes: [
          "api cpu ms: the api process's CPU per call (/proc). A direct route that saves less than 15% goes back to tRPC's handler (issue 17).",
          `The two take turns in 10 rounds, each after ${defaultWarmup(n)} untimed calls.`,
        ],
        checks: [
          { name: `runs.appendEvents direct route saves ≥ ${MIN_SAVING * 100}% api cpu`, pass: saving >= MIN_SAVING },
        ],
      };
    } finally {
      agent.destroy();
      await api.stop();
    }
  },
};
