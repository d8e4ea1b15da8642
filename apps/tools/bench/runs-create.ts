import { createHash } from 'node:crypto';
import { DEFAULT_USER_ID, newId } from '@runtrace/core';
import type { BenchContext, BenchSection } from './section.ts';
import { defaultWarmup, int, measureInterleaved, ms, ratio, type Scenario, type Summary } from './stats.ts';
import { formatTable } from './table.ts';

/**
 * runs.create throughput over HTTP (the real client, one per worker) at each concurrency, beside the same number of
 * raw single-row INSERTs into runs through postgres.js at the same concurrency: what one run costs the database at
 * its cheapest, against what the api does per run (validate, fingerprint, agent upsert + runs + run_metrics in one
 * transaction, HTTP and tRPC both ways).
 */
export const runsCreateSection: BenchSection = {
  name: 'runs.create',
  async run(ctx: BenchContext) {
    const { env, seed, options, log } = ctx;
    const org = seed.organizationId;
    const agents = seed.agentIds;
    const n = options.creates;
    const input = (i: number) => ({
      agentId: agents[i % agents.length] as string,
      background: i % 4 === 0 ? true : null,
      metadata: { source: 'bench', seq: i, env: 'prod' },
      requestConfig: { useAssistantMessage: true },
    });

    const rows: { c: number; http: Summary; insert: Summary }[] = [];
    for (const c of options.createConcurrency) {
      const db = env.pool(c);
      const clients = env.clients(c);
      const insert: Scenario = {
        name: `INSERT runs, c=${c}`,
        concurrency: c,
        run: async (i) => {
          const run = input(i);
          const fingerprint = createHash('sha256').update(JSON.stringify(run)).digest('base64url');
          await db`
            insert into runs (id, organization_id, agent_id, background, metadata, request_config, created_by_id, create_fingerprint)
            values (${newId('run')}, ${org}, ${run.agentId}, ${run.background}, ${db.json(run.metadata)},
              ${db.json(run.requestConfig)}, ${DEFAULT_USER_ID}, ${fingerprint})`;
        },
      };
      const http: Scenario = {
        name: `runs.create, c=${c}`,
        concurrency: c,
        run: async (i, worker) => {
          const client = clients[worker];
          if (!client) throw new Error('no client');
          await client.runs.create.mutate(input(i));
        },
      };
      log(
        `    runs.create over HTTP and single-row INSERT INTO runs: ${int(n)} each at concurrency ${c}, taking turns in 5 rounds …`,
      );
      const [i, h] = (await measureInterleaved([insert, http], { requests: n, rounds: 5 })) as [Summary, Summary];
      rows.push({ c, http: h, insert: i });
    }

    const table = formatTable(
      [
        { header: 'scenario', align: 'left' },
        { header: 'n' },
        { header: 'runs/s' },
        { header: 'p50 ms' },
        { header: 'p99 ms' },
        { header: 'cpu ms/run' },
        { header: 'baseline (same run)', align: 'left' },
        { header: 'runs/s' },
        { header: 'p50 ms' },
        { header: 'p99 ms' },
        { header: 'ratio runs/s' },
        { header: 'ratio p50' },
        { header: 'ratio p99' },
      ],
      rows.map((r) => [
        `runs.create over HTTP, c=${r.c}`,
        int(r.http.n),
        int(r.http.perSecond),
        ms(r.http.p50),
        ms(r.http.p99),
        ms(r.http.cpuMsPerOp),
        `INSERT runs 1 row/stmt, c=${r.c}`,
        int(r.insert.perSecond),
        ms(r.insert.p50),
        ms(r.insert.p99),
        ratio(r.http.perSecond / r.insert.perSecond),
        ratio(r.http.p50 / r.insert.p50),
        ratio(r.http.p99 / r.insert.p99),
      ]),
    );
    return {
      title: `runs.create into the same ${int(seed.runs)}-run table (${agents.length} existing agents)`,
      table,
      notes: [
        'Each create is its own autocommit transaction (synchronous_commit as the server has it); the baseline writes runs only, the api writes agents (upsert), runs and run_metrics.',
        `The two take turns in 5 rounds, each after ${defaultWarmup(n)} untimed calls. No target was set for create throughput; the ratio is the figure to watch.`,
      ],
      checks: [],
    };
  },
};
