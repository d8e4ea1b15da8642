/**
 * Measures ClickHouseAnalytics on chdb over 1,000,000 runs and 5,000,000 steps in 30 days (100 agents, 5 models),
 * seeded directly in ClickHouse (INSERT … SELECT FROM numbers()), 10% of runs re-versioned so FINAL has work to do.
 * `pnpm --filter @runtrace/tools exec tsx --conditions=@runtrace/source ../../packages/core/scripts/measure-clickhouse-analytics.ts`
 */
import { tmpdir } from 'node:os';
import { ClickHouseAnalytics } from '../src/analytics/clickhouse/clickhouse-analytics.ts';
import { summaryInput, timeseriesInput } from '../src/analytics/schemas.ts';
import { connectClickHouse, qualified } from '../src/clickhouse/connect.ts';
import { migrateClickHouse } from '../src/clickhouse/migrate.ts';
import type { Db } from '../src/db/connect.ts';

const RUNS = Number(process.env.MEASURE_RUNS ?? 1_000_000);
const ORG = 'org-bench';
const FROM = Date.parse('2026-11-01T00:00:00Z');
const SPAN_S = 30 * 86_400;

const ch = await connectClickHouse({ url: 'chdb:memory', dataDir: tmpdir(), database: 'measure' });
await migrateClickHouse(ch, { ttlDays: 0 });
const runs = qualified(ch, 'analytics_runs');
const steps = qualified(ch, 'analytics_steps');
const at = (n: string) => `toDateTime64(${FROM / 1000} + intDiv(${n} * ${SPAN_S}, ${RUNS}), 6, 'UTC')`;
const models = "['gpt-4o','gpt-4o-mini','claude-sonnet-4','gemini-2.5-pro','o3']";
let t = performance.now();
await ch.client.command({
  query: `INSERT INTO ${runs} SELECT '${ORG}', concat('run-', toString(number)), concat('agent-', toString(number % 100)),
    ${at('number')}, ['completed','failed','running'][number % 3 + 1], ${models}[number % 5 + 1], ['openai','anthropic','google'][number % 3 + 1],
    toInt64(1e6 * (1 + number % 5000)), if(number % 7 = 0, NULL, toInt64(1e5 * (1 + number % 3000))), 1, 0
    FROM numbers(${RUNS})`,
});
await ch.client.command({
  query: `INSERT INTO ${steps} SELECT '${ORG}', concat('step-', toString(number)), concat('run-', toString(intDiv(number, 5))),
    concat('agent-', toString(intDiv(number, 5) % 100)), ${at('intDiv(number, 5)')} + toIntervalMillisecond(number % 5),
    ${models}[(intDiv(number, 5) + number % 2) % 5 + 1], ['openai','anthropic','google'][number % 3 + 1], toUInt8(number % 17 = 0),
    100 + number % 900, number % 50, number % 7, 20 + number % 300, number % 11, 180 + number % 1268,
    toInt64(1000000 * (number % 4000)), if(number % 9 = 0, 180 + number % 1268, 0), toInt64(1e6 * (number % 2000)), 1, 0
    FROM numbers(${RUNS * 5})`,
});
// a tenth of runs change status later: a newer version FINAL must prefer
await ch.client.command({
  query: `INSERT INTO ${runs} SELECT organization_id, id, agent_id, created_at, 'completed', model, provider, duration_ns, ttft_ns, 2, 0
    FROM ${runs} WHERE cityHash64(id) % 10 = 0`,
});
console.log(`seeded ${RUNS} runs, ${RUNS * 5} steps in ${Math.round(performance.now() - t)} ms`);

const db = {
  select: () => ({ from: () => ({ where: async () => [] }) }),
} as unknown as Db;
const engine = new ClickHouseAnalytics({ db, clickhouse: ch, queryTimeoutMs: 60_000 });
const actor = { organizationId: ORG, userId: 'user-x' };
const from = new Date(FROM).toISOString();
const to = new Date(FROM + SPAN_S * 1000).toISOString();

async function measure(name: string, call: () => Promise<unknown>, n = 9) {
  await call();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    t = performance.now();
    await call();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)]!.toFixed(0);
  console.log(`${name}: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms (${n} calls)`);
}

const ts = timeseriesInput.parse({ from, to, bucket: 'hour', groupBy: 'model' });
const result = await engine.timeseries(actor, ts);
console.log(`timeseries points: ${result.points.length}, runs ${result.points.reduce((a, p) => a + p.runs, 0)}`);
await measure('timeseries 30 d hourly groupBy model (FINAL)', () => engine.timeseries(actor, ts));
await measure('timeseries 30 d daily groupBy status (join)', () =>
  engine.timeseries(actor, timeseriesInput.parse({ from, to, bucket: 'day', groupBy: 'status' })),
);
await measure('summary 30 d', () => engine.summary(actor, summaryInput.parse({ from, to })));

const rawQuery = async (query: string) => (await ch.client.query({ query, format: 'JSONEachRow' })).json();
const where = `organization_id = '${ORG}'`;
await measure('steps sums hourly by model, FINAL', () =>
  rawQuery(
    `SELECT toStartOfHour(created_at) b, model, count(), sum(total_tokens), sum(toInt128(cost_pusd)) FROM ${steps} FINAL WHERE ${where} GROUP BY b, model SETTINGS do_not_merge_across_partitions_select_final = 1`,
  ),
);
await measure('steps sums hourly by model, no dedup (lower bound)', () =>
  rawQuery(
    `SELECT toStartOfHour(created_at) b, model, count(), sum(total_tokens), sum(toInt128(cost_pusd)) FROM ${steps} WHERE ${where} GROUP BY b, model`,
  ),
);
await ch.client.command({ query: `DROP DATABASE measure` });
await ch.close();
