/**
 * The traces bench's read half: a 1,000-span agent trace (sent over OTLP) among N seeded spans (`INSERT … SELECT …
 * FROM numbers()`, 30 days, 50-span traces, 10 % of another organization); `runs.trace` over HTTP beside the same read
 * straight on ClickHouse, with and without the trace-id lookup table.
 */
import { DEFAULT_ACTOR, DEFAULT_ORGANIZATION_ID } from '@runtrace/core';
import { readTraceSpans } from '@runtrace/core/traces';
import { get, keepAliveAgent } from './http.ts';
import { TARGET_SPANS, targetTrace } from './otlp-requests.ts';
import type { BenchContext, Check, SectionResult } from './section.ts';
import { int, measure, measureInterleaved, ms, ratio, type Summary, seconds } from './stats.ts';
import { formatTable } from './table.ts';
import type { BenchClickHouse } from './trace-ingest.ts';

const DAY_NS = 86_400_000_000_000n;

/** `runs.trace` among `options.traceTableSpans` seeded spans in `table`: its table, notes and checks. */
export async function measureTraceReads(
  ctx: BenchContext,
  ch: BenchClickHouse,
  table: string,
): Promise<Omit<SectionResult, 'title'>> {
  const { env, options, log } = ctx;
  const checks: Check[] = [];
  const notes: string[] = [];
  const total = options.traceTableSpans;
  const spanNs = (30n * DAY_NS) / BigInt(Math.max(1, total));
  const seedBase = BigInt(Date.now() - 31 * 86_400_000) * 1_000_000n;
  log(`    seeding ${int(total)} spans (INSERT … SELECT … FROM numbers(), 1,000,000 per statement) …`);
  const seedStarted = performance.now();
  for (let from = 0; from < total; from += 1_000_000) {
    const n = Math.min(1_000_000, total - from);
    await ch.client.command({
      query: `INSERT INTO ${table} (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName,
          ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, Duration, StatusCode)
        SELECT fromUnixTimestamp64Nano(toInt64(${seedBase} + number * ${spanNs})),
          lower(hex(MD5(concat('seed-trace-', toString(intDiv(number, 50)))))),
          substring(lower(hex(MD5(toString(number)))), 1, 16),
          if(number % 50 = 0, '', substring(lower(hex(MD5(toString(number - 1)))), 1, 16)),
          ['agent_step', 'LettaAgentV3._execute_tool', 'llm_request', 'time_to_first_token', 'db.query', 'http.request',
           'embedding', 'ToolExecutor.run'][number % 8 + 1],
          'Internal', concat('agent-', toString(number % 8)),
          map('service.name', concat('agent-', toString(number % 8)), 'host.name', concat('pod-', toString(number % 64)),
              'runtrace.organization_id', if(number % 10 = 0, 'org-bench-other', {org:String})),
          'letta.agents', '0.16.0',
          map('gen_ai.request.model', 'gpt-4o-mini', 'step.index', toString(number % 50),
              'agent.id', concat('agent-', toString(intDiv(number, 5000))),
              'message.preview', concat(repeat('Here is what I found about the topic you asked for. ', 14), toString(number))),
          number % 1000000000, if(number % 97 = 0, 'Error', 'Unset')
        FROM numbers(${from}, ${n})`,
      query_params: { org: DEFAULT_ORGANIZATION_ID },
    });
    log(`      ${int(from + n)} spans in ${seconds(performance.now() - seedStarted)}`);
  }
  const seedMs = performance.now() - seedStarted;

  // The run's trace, 15 days back, through the receiver.
  const traceId = 'feedfacecafebeef0123456789abcdef';
  const targetStart = BigInt(Date.now() - 15 * 86_400_000) * 1_000_000n;
  const sent = await fetch(`${env.apiUrl}/v1/traces`, {
    method: 'POST',
    body: JSON.stringify(targetTrace(traceId, targetStart)),
    headers: { 'content-type': 'application/json' },
  });
  if (sent.status !== 200) throw new Error(`the target trace was refused: ${sent.status} ${await sent.text()}`);
  const run = await env.runtime.runs.create(DEFAULT_ACTOR, { agentId: 'agent-00000000-0000-4000-8000-0000000000be' });
  for (let i = 0; i < 5; i++) await env.runtime.steps.create(DEFAULT_ACTOR, { runId: run.id, traceId });
  const [stats] = await (
    await ch.client.query({
      query: `SELECT sum(rows) AS rows, count() AS parts, sum(data_compressed_bytes) AS compressed
        FROM system.parts WHERE database = {db:String} AND table = 'otel_traces' AND active`,
      query_params: { db: ch.database },
      format: 'JSONEachRow',
    })
  ).json<{ rows: string | number; parts: string | number; compressed: string | number }>();

  const [client] = env.clients(1);
  if (!client) throw new Error('no client');
  const viaApi = await client.runs.trace.query({ runId: run.id });
  const read = (useLookup: boolean) =>
    readTraceSpans(ch, { organizationId: DEFAULT_ORGANIZATION_ID, traceIds: [traceId], limit: 1000, useLookup });
  const direct = await read(true);
  if (
    JSON.stringify(direct) !== JSON.stringify(viaApi) ||
    JSON.stringify(await read(false)) !== JSON.stringify(direct)
  ) {
    throw new Error('runs.trace, the direct read and the read without the lookup table disagree');
  }
  const queries = options.traceQueries;
  // Over HTTP as a load generator reads it (http.ts: the typed client's very GET, the body read, not parsed), and
  // through @runtrace/client, which also parses the ~400 KB answer on this process's event loop (the api's).
  const agent = keepAliveAgent(1);
  const traceUrl = new URL(
    `${env.apiUrl}/trpc/runs.trace?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: { runId: run.id } }))}`,
  );
  log(
    `    runs.trace over HTTP, through the typed client and the direct read with the lookup table: ${int(queries)} each, ` +
      'taking turns in 5 rounds …',
  );
  const [apiS, typedS, lookupS] = (await measureInterleaved(
    [
      { name: 'runs.trace', concurrency: 1, run: () => get(agent, traceUrl) },
      { name: 'runs.trace, typed client', concurrency: 1, run: () => client.runs.trace.query({ runId: run.id }) },
      { name: 'lookup', concurrency: 1, run: () => read(true) },
    ],
    { requests: queries, rounds: 5 },
  )) as [Summary, Summary, Summary];
  agent.destroy();
  const scans = Math.max(10, Math.round(queries / 5));
  log(`    the direct read without the lookup table: ${int(scans)} …`);
  const scanS = await measure({ name: 'scan', concurrency: 1, run: () => read(false) }, { requests: scans });
  const readRow = (label: string, s: Summary) => [
    label,
    int(s.n),
    ms(s.p50),
    ms(s.p99),
    ms(s.mean),
    ratio(s.p99 / apiS.p99),
  ];
  const readTable = formatTable(
    [
      {
        header: `read a ${int(TARGET_SPANS)}-span trace among ${int(Number(stats?.rows ?? total))} spans`,
        align: 'left',
      },
      { header: 'n' },
      { header: 'p50 ms' },
      { header: 'p99 ms' },
      { header: 'mean ms' },
      { header: 'p99 vs runs.trace' },
    ],
    [
      readRow('runs.trace over HTTP (trace ids from Postgres, lookup table)', apiS),
      readRow('runs.trace through @runtrace/client (answer parsed)', typedS),
      readRow('baseline: the same read on ClickHouse, lookup table', lookupS),
      readRow('baseline: the same read on ClickHouse, no lookup table', scanS),
    ],
  );
  checks.push({ name: `runs.trace p99 ≤ 100 ms (${ms(apiS.p99)} ms)`, pass: apiS.p99 <= 100 });
  notes.push(
    `Seeded ${int(total)} spans in ${seconds(seedMs)} (${int((total * 1000) / seedMs)} spans/s); otel_traces has ` +
      `${int(Number(stats?.rows))} rows in ${stats?.parts} parts, ${int(Number(stats?.compressed) / 2 ** 20)} MiB compressed. ` +
      `runs.trace returns ${viaApi.length} of the trace's ${TARGET_SPANS} spans (the trace view's filter), 15 days back in 30.`,
    'runs.trace over HTTP: keep-alive GETs of the URL httpBatchLink sends, each answer read to its end and its status ' +
      'checked, not parsed (bench/http.ts); the api runs in this process (chdb serves one process only).',
  );
  return { table: readTable, notes, checks };
}
