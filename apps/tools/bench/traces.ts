/**
 * OpenTelemetry traces: OTLP/HTTP ingest into ClickHouse and `runs.trace`, each beside a baseline from the same run.
 *
 * Ingest: exports of 512 spans with ~1 KB of attributes each, pre-encoded (the SDK's encoding is the agent's cost),
 * posted to `/v1/traces` by concurrent exporters; beside the same rows, already serialized, going straight into the same
 * batched INSERTs (InsertBatcher with the receiver's settings), and plain INSERTs of 8,192 of them at a time. The
 * difference is what the receiver adds: HTTP, decoding, row building.
 *
 * Reads: a 1,000-span agent trace (sent over OTLP) among N seeded spans (`INSERT … SELECT … FROM numbers()`, 30 days,
 * 50-span traces, 10 % of another organization); `runs.trace` over HTTP beside the same read straight on ClickHouse,
 * with and without the trace-id lookup table.
 */
import { Worker } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import {
  DEFAULT_ACTOR,
  DEFAULT_ORGANIZATION_ID,
  InsertBatcher,
  insertSpanRows,
  otlpProtoTypes,
  otlpToRows,
  qualified,
  readTraceSpans,
  SPAN_BATCHING,
} from '@runtrace/core';
import type { BenchSection, Check } from './section.ts';
import { int, measure, measureInterleaved, ms, ratio, type Scenario, seconds, type Summary } from './stats.ts';
import { get, keepAliveAgent } from './http.ts';
import { formatTable } from './table.ts';

const SPANS_PER_EXPORT = 512;
/** Distinct export bodies; the bench cycles through them (ClickHouse does not mind repeated ids). */
const DISTINCT_EXPORTS = 48;
/** Concurrent exporters (agent processes) posting to the receiver. */
const EXPORTERS = 32;
const TARGET_SPANS = 1_000;
const DAY_NS = 86_400_000_000_000n;

const hex = (n: number, digits: number) => n.toString(16).padStart(digits, '0');
const str = (stringValue: string) => ({ stringValue });

/** One export request (OTLP/JSON shapes, hex ids) of `count` agent-like spans, ~1 KB of attributes each. */
function exportRequest(seq: number, count: number, startNs: bigint, ids: 'hex' | 'bytes' = 'hex') {
  const id = (n: number, digits: number) => (ids === 'hex' ? hex(n, digits) : Buffer.from(hex(n, digits), 'hex'));
  const names = ['agent_step', 'time_to_first_token', 'llm_request', 'LettaAgentV3._execute_tool', 'ToolExecutor.run', 'db.query'];
  return {
    resourceSpans: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: str('letta-server') },
            { key: 'service.version', value: str('0.16.0') },
            { key: 'host.name', value: str(`pod-${seq % 16}`) },
          ],
        },
        scopeSpans: [
          {
            scope: { name: 'letta.agents', version: '0.16.0' },
            spans: Array.from({ length: count }, (_, i) => {
              const start = startNs + BigInt(i) * 1_000_000n;
              return {
                traceId: id(seq * 64 + Math.floor(i / 64) + 1, 32),
                spanId: id(seq * 100_000 + i + 1, 16),
                parentSpanId: i % 64 ? id(seq * 100_000 + i, 16) : ids === 'hex' ? '' : Buffer.alloc(0),
                name: i % 64 ? (names[i % names.length] as string) : 'POST /v1/agents/{agent_id}/messages',
                kind: i % 64 ? 1 : 2,
                startTimeUnixNano: String(start),
                endTimeUnixNano: String(start + 750_000n),
                attributes: [
                  { key: 'agent.id', value: str(`agent-${hex(seq, 8)}-4000-8000-${hex(i, 12)}`) },
                  { key: 'step.id', value: str(`step-${hex(seq * 1000 + i, 8)}-4000-8000-000000000000`) },
                  { key: 'gen_ai.system', value: str('openai') },
                  { key: 'gen_ai.request.model', value: str('gpt-4o-mini-2024-07-18') },
                  { key: 'gen_ai.usage.input_tokens', value: { intValue: String(1000 + i) } },
                  { key: 'gen_ai.usage.output_tokens', value: { intValue: String(50 + (i % 200)) } },
                  { key: 'llm.temperature', value: { doubleValue: 0.7 } },
                  { key: 'tool.name', value: str(i % 2 ? 'web_search' : 'archival_memory_search') },
                  {
                    key: 'tool.arguments',
                    value: str(JSON.stringify({ query: `what did the user say about item ${i} in export ${seq}?`, limit: 10, filters: { since: '2026-01-01', tags: ['memory', 'recall', 'user'] } })),
                  },
                  {
                    key: 'http.url',
                    value: str(`https://api.openai.com/v1/chat/completions?request=${hex(seq * 100_000 + i, 16)}&region=us-east-1&retry=0`),
                  },
                  { key: 'message.preview', value: str(`Here is what I found about the topic you asked for (#${i}): `.repeat(5)) },
                ],
                status: i % 97 === 0 ? { code: 2, message: 'tool timed out' } : {},
              };
            }),
          },
        ],
      },
    ],
  };
}

function protobufBody(request: ReturnType<typeof exportRequest>): Buffer {
  const { ExportTraceServiceRequest: T } = otlpProtoTypes();
  return Buffer.from(T.encode(T.fromObject(request)).finish());
}

/** A 1,000-span agent run: the request, then steps of 9 spans (4 of them drawn by a trace view). */
function targetTrace(traceId: string, startNs: bigint) {
  const spans: Record<string, unknown>[] = [];
  const span = (n: number, name: string, parent: number | null, offsetMs: number, durationMs: number) => {
    const start = startNs + BigInt(offsetMs) * 1_000_000n;
    spans.push({
      traceId,
      spanId: hex(n, 16),
      parentSpanId: parent === null ? '' : hex(parent, 16),
      name,
      kind: parent === null ? 2 : 1,
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(start + BigInt(durationMs) * 1_000_000n),
      attributes: [{ key: 'step.index', value: { intValue: String(n) } }, { key: 'payload', value: str('x'.repeat(600)) }],
    });
  };
  span(1, 'POST /v1/agents/{agent_id}/messages', null, 0, 60_000);
  for (let step = 0, n = 2; spans.length < TARGET_SPANS; step++) {
    const at = 100 + step * 500;
    const stepId = n;
    const children: [string, number, number][] = [
      ['time_to_first_token', 10, 40],
      ['llm_request', 5, 200],
      ['llm_response.parse', 205, 5],
      ['LettaAgentV3._execute_tool', 220, 200],
      ['ToolExecutor.run', 221, 190],
      ['db.query', 230, 20],
      ['db.query', 260, 20],
      ['http.request', 300, 100],
    ];
    span(n++, 'agent_step', 1, at, 480);
    for (const [name, offset, duration] of children) {
      if (spans.length >= TARGET_SPANS) break;
      span(n++, name, stepId, at + offset, duration);
    }
  }
  return { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: str('letta-server') }] }, scopeSpans: [{ spans }] }] };
}

/** (`needsSeed`: it reads no seeded runs, so `--only traces` skips the million-run seed.) */
export const tracesSection: BenchSection & { needsSeed: boolean } = {
  name: 'traces',
  needsSeed: false,
  async run(ctx) {
    const { env, options, log } = ctx;
    const ch = env.runtime.clickhouse;
    if (!ch) throw new Error('the traces section needs ClickHouse (CLICKHOUSE_URL is off)');
    const checks: Check[] = [];
    const notes: string[] = [];

    const table = qualified(ch, 'otel_traces');

    // ---- ingest ----------------------------------------------------------------------------------------------
    const exportsPerScenario = options.otlpExports;
    log(`    ${DISTINCT_EXPORTS} distinct exports of ${SPANS_PER_EXPORT} spans, encoded once (protobuf, protobuf+gzip, JSON) …`);
    const base = BigInt(Date.now() - 3_600_000) * 1_000_000n;
    const requests = Array.from({ length: DISTINCT_EXPORTS }, (_, i) => exportRequest(i, SPANS_PER_EXPORT, base + BigInt(i) * 1_000_000_000n));
    const json = requests.map((r) => Buffer.from(JSON.stringify(r)));
    const proto = requests.map((_, i) => protobufBody(exportRequest(i, SPANS_PER_EXPORT, base + BigInt(i) * 1_000_000_000n, 'bytes')));
    const gzipped = proto.map((b) => gzipSync(b, { level: 1 }));
    // The rows the receiver makes of them, for the baselines (what the decoding would give: checked here).
    const lines = json.map((b) => otlpToRows(b, 'json', DEFAULT_ORGANIZATION_ID).lines);
    if (otlpToRows(proto[0] as Buffer, 'protobuf', DEFAULT_ORGANIZATION_ID).lines !== lines[0]) {
      throw new Error('protobuf and JSON exports decode to different rows');
    }
    const perSpan = (bodies: Buffer[]) => bodies.reduce((s, b) => s + b.length, 0) / bodies.length / SPANS_PER_EXPORT;
    const rowBytes = lines.reduce((s, l) => s + l.length, 0) / lines.length / SPANS_PER_EXPORT;
    notes.push(
      `Export bodies: ${int(perSpan(proto))} B/span protobuf, ${int(perSpan(gzipped))} B/span gzipped, ${int(perSpan(json))} B/span JSON; ` +
        `rows ${int(rowBytes)} B/span as JSONEachRow.`,
    );

    // The exporters run on a thread of their own (agents export from their own processes), so that the api's event
    // loop serves only the receiver; each operation here is one export posted there and answered.
    const exporters = new Worker(new URL('./otlp-exporters.worker.mjs', import.meta.url), {
      workerData: {
        url: new URL('/v1/traces', env.apiUrl).href,
        maxSockets: EXPORTERS,
        scenarios: {
          protobuf: { bodies: proto, type: 'application/x-protobuf', gzip: false },
          gzip: { bodies: gzipped, type: 'application/x-protobuf', gzip: true },
          json: { bodies: json, type: 'application/json', gzip: false },
        },
      },
    });
    const waiting = new Map<number, (answer: { status: number; error?: string }) => void>();
    exporters.on('message', (answer: { id: number; status: number; error?: string }) => {
      waiting.get(answer.id)?.(answer);
      waiting.delete(answer.id);
    });
    let exportId = 0;
    const post =
      (scenario: 'protobuf' | 'gzip' | 'json'): Scenario['run'] =>
      (index) =>
        new Promise<void>((resolve, reject) => {
          const id = ++exportId;
          waiting.set(id, ({ status, error }) =>
            status === 200 ? resolve() : reject(new Error(`/v1/traces answered ${status}${error ? `: ${error}` : ''}`)),
          );
          exporters.postMessage({ id, scenario, index });
        });
    const raw = new InsertBatcher({ ...SPAN_BATCHING, location: ch.location, rowsName: 'spans', insert: (body) => insertSpanRows(ch, body) });
    // The raw insert the targets refer to: the same rows as objects, through @clickhouse/client's insert
    // (JSONEachRow, its own serialization), 5,000 per INSERT, one at a time. Timestamps as `seconds.nanoseconds`
    // strings: JSON numbers would round the nanoseconds.
    const rowObjects = lines.flatMap((l) =>
      l.split('\n').map((line) => {
        const row = JSON.parse(line) as Record<string, unknown>;
        const ns = /"Timestamp":(\d+)/.exec(line)?.[1] ?? '0';
        return { ...row, Timestamp: `${ns.slice(0, -9)}.${ns.slice(-9)}` };
      }),
    );
    const clientBatches: Record<string, unknown>[][] = [];
    for (let i = 0; i < rowObjects.length; i += 5_000) clientBatches.push(rowObjects.slice(i, i + 5_000));
    const insertObjects = async (i: number) => {
      await ch.client.insert({ table, values: clientBatches[i % clientBatches.length] as Record<string, unknown>[], format: 'JSONEachRow' });
    };
    // The same rows already as JSONEachRow text: what ClickHouse alone costs, in the receiver's batches, and in plain
    // INSERTs of 8,192 one after the other.
    const batchBodies: string[] = [];
    for (let i = 0; i < lines.length; i += 16) batchBodies.push(`${lines.slice(i, i + 16).join('\n')}\n`);
    const exportsToInserts = (spansPerInsert: number) => Math.max(5, Math.round((exportsPerScenario * SPANS_PER_EXPORT) / spansPerInsert));
    const scenarios: Scenario[] = [
      { name: 'protobuf', concurrency: EXPORTERS, run: post('protobuf') },
      { name: 'protobuf+gzip', concurrency: EXPORTERS, run: post('gzip') },
      { name: 'json', concurrency: EXPORTERS, run: post('json') },
      { name: 'client insert', concurrency: 1, run: insertObjects, requests: exportsToInserts(5_000), warmup: 2 },
      { name: 'text batched', concurrency: EXPORTERS, run: (i) => raw.add(lines[i % lines.length] as string, SPANS_PER_EXPORT) },
      {
        name: 'text plain',
        concurrency: 1,
        run: (i) => insertSpanRows(ch, batchBodies[i % batchBodies.length] as string),
        requests: exportsToInserts(8_192),
        warmup: 2,
      },
    ];
    log(
      `    OTLP/HTTP (${EXPORTERS} exporters) and the same rows inserted directly: ${int(exportsPerScenario * SPANS_PER_EXPORT)} ` +
        'spans each, taking turns in 5 rounds …',
    );
    const [protoS, gzipS, jsonS, clientS, textS, plainS] = (await measureInterleaved(scenarios, {
      requests: exportsPerScenario,
      rounds: 5,
      warmup: 32,
      onRound: (r, n) => log(`      round ${r}/${n}`),
    })) as [Summary, Summary, Summary, Summary, Summary, Summary];
    await raw.close();
    await exporters.terminate();
    const spansPerS = (s: Summary, spansPerOp = SPANS_PER_EXPORT) => s.perSecond * spansPerOp;
    const rawRate = spansPerS(clientS, 5_000);
    const ingestRow = (label: string, s: Summary, spansPerOp = SPANS_PER_EXPORT, opLabel = 'export') => [
      label,
      int(s.n * spansPerOp),
      int(spansPerS(s, spansPerOp)),
      ms(s.p50),
      ms(s.p99),
      ((s.cpuMsPerOp * 1000) / spansPerOp).toFixed(1),
      opLabel,
      ratio(spansPerS(s, spansPerOp) / rawRate),
    ];
    const ingestTable = formatTable(
      [
        { header: 'ingest', align: 'left' },
        { header: 'spans' },
        { header: 'spans/s' },
        { header: 'p50 ms' },
        { header: 'p99 ms' },
        { header: 'cpu µs/span' },
        { header: 'latency of', align: 'left' },
        { header: 'vs raw insert' },
      ],
      [
        ingestRow(`OTLP/HTTP protobuf, ${EXPORTERS} exporters`, protoS),
        ingestRow(`OTLP/HTTP protobuf+gzip, ${EXPORTERS} exporters`, gzipS),
        ingestRow(`OTLP/HTTP JSON, ${EXPORTERS} exporters`, jsonS),
        ingestRow('raw insert: client.insert of the row objects, 5,000/INSERT', clientS, 5_000, 'INSERT'),
        ingestRow('rows pre-serialized, the receiver\'s batched INSERTs', textS),
        ingestRow('rows pre-serialized, plain INSERT of 8,192', plainS, 8_192, 'INSERT'),
      ],
    );
    const protoRate = spansPerS(protoS);
    checks.push(
      { name: `OTLP protobuf ingest ≥ 25,000 spans/s (${int(protoRate)})`, pass: protoRate >= 25_000 },
      { name: `OTLP protobuf ingest ≥ 0.8× the raw insert (${ratio(protoRate / rawRate)})`, pass: protoRate >= 0.8 * rawRate },
    );
    notes.push(
      'The raw insert is what the target refers to (a chdb insert of OTel-shaped rows as JSONEachRow through ' +
        '@clickhouse/client, Node serialization included); the pre-serialized rows show ClickHouse\'s own cost, the floor.',
      `Receiver batches: ${SPAN_BATCHING.minBatchRows}–${SPAN_BATCHING.maxBatchRows} spans per INSERT, ${SPAN_BATCHING.maxConcurrentInserts} in flight, ` +
        `${SPAN_BATCHING.flushIntervalMs} ms at most; an export is answered once its spans are written. The exporters post from a ` +
        'worker thread of this process (node:http, keep-alive; their CPU counts in cpu µs/span); 32 untimed exports warm each ' +
        'OTLP scenario.',
    );

    // ---- runs.trace among many spans -------------------------------------------------------------------------
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
    if (JSON.stringify(direct) !== JSON.stringify(viaApi) || JSON.stringify(await read(false)) !== JSON.stringify(direct)) {
      throw new Error('runs.trace, the direct read and the read without the lookup table disagree');
    }
    const queries = options.traceQueries;
    // Over HTTP as a load generator reads it (http.ts: the typed client's very GET, the body read, not parsed), and
    // through @runtrace/client, which also parses the ~400 KB answer on this process's event loop (the api's).
    const agent = keepAliveAgent(1);
    const traceUrl = new URL(`${env.apiUrl}/trpc/runs.trace?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: { runId: run.id } }))}`);
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
    const readRow = (label: string, s: Summary) => [label, int(s.n), ms(s.p50), ms(s.p99), ms(s.mean), ratio(s.p99 / apiS.p99)];
    const readTable = formatTable(
      [
        { header: `read a ${int(TARGET_SPANS)}-span trace among ${int(Number(stats?.rows ?? total))} spans`, align: 'left' },
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
    return {
      title: 'OpenTelemetry traces: OTLP ingest and runs.trace',
      table: `${ingestTable}\n\n${readTable}`,
      notes,
      checks,
    };
  },
};
