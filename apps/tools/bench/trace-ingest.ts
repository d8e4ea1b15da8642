/**
 * The traces bench's ingest half: exports of 512 spans with ~1 KB of attributes each, pre-encoded (the SDK's encoding
 * is the agent's cost), posted to `/v1/traces` and sent to the OTLP/gRPC receiver by concurrent exporters; beside the same rows, already serialized,
 * going straight into the same batched INSERTs (InsertBatcher with the receiver's settings), and plain INSERTs of
 * 8,192 of them at a time. The difference is what the receiver adds: HTTP, decoding, row building.
 */
import { Worker } from 'node:worker_threads';
import { gzipSync } from 'node:zlib';
import { DEFAULT_ORGANIZATION_ID } from '@runtrace/core';
import { InsertBatcher, insertSpanRows, otlpToRows, SPAN_BATCHING } from '@runtrace/core/internal';
import { exportRequest, protobufBody, SPANS_PER_EXPORT } from './otlp-requests.ts';
import type { BenchContext, Check, SectionResult } from './section.ts';
import { int, measureInterleaved, ms, ratio, type Scenario, type Summary } from './stats.ts';
import { formatTable } from './table.ts';

/** Distinct export bodies; the bench cycles through them (ClickHouse does not mind repeated ids). */
const DISTINCT_EXPORTS = 48;
/** Concurrent exporters (agent processes) posting to the receiver. */
const EXPORTERS = 32;

/** The ClickHouse the traces section runs on. */
export type BenchClickHouse = NonNullable<BenchContext['env']['runtime']['clickhouse']>;

/** Ingest over OTLP/HTTP beside the direct inserts into `table`: its table, notes and checks. */
export async function measureTraceIngest(
  ctx: BenchContext,
  ch: BenchClickHouse,
  table: string,
): Promise<Omit<SectionResult, 'title'>> {
  const { env, options, log } = ctx;
  const checks: Check[] = [];
  const notes: string[] = [];
  const exportsPerScenario = options.otlpExports;
  log(
    `    ${DISTINCT_EXPORTS} distinct exports of ${SPANS_PER_EXPORT} spans, encoded once (protobuf, protobuf+gzip, JSON) …`,
  );
  const base = BigInt(Date.now() - 3_600_000) * 1_000_000n;
  const requests = Array.from({ length: DISTINCT_EXPORTS }, (_, i) =>
    exportRequest(i, SPANS_PER_EXPORT, base + BigInt(i) * 1_000_000_000n),
  );
  const json = requests.map((r) => Buffer.from(JSON.stringify(r)));
  const proto = requests.map((_, i) =>
    protobufBody(exportRequest(i, SPANS_PER_EXPORT, base + BigInt(i) * 1_000_000_000n, 'bytes')),
  );
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
      grpcAddress: env.otlpGrpcAddress,
      maxSockets: EXPORTERS,
      scenarios: {
        protobuf: { bodies: proto, type: 'application/x-protobuf', gzip: false },
        grpc: { bodies: proto, type: 'application/x-protobuf', gzip: false, transport: 'grpc' },
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
    (scenario: 'protobuf' | 'grpc' | 'gzip' | 'json'): Scenario['run'] =>
    (index) =>
      new Promise<void>((resolve, reject) => {
        const id = ++exportId;
        waiting.set(id, ({ status, error }) =>
          status === 200
            ? resolve()
            : reject(new Error(`the ${scenario} export answered ${status}${error ? `: ${error}` : ''}`)),
        );
        exporters.postMessage({ id, scenario, index });
      });
  const raw = new InsertBatcher({
    ...SPAN_BATCHING,
    location: ch.location,
    rowsName: 'spans',
    insert: (body) => insertSpanRows(ch, body),
  });
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
    await ch.client.insert({
      table,
      values: clientBatches[i % clientBatches.length] as Record<string, unknown>[],
      format: 'JSONEachRow',
    });
  };
  // The same rows already as JSONEachRow text: what ClickHouse alone costs, in the receiver's batches, and in plain
  // INSERTs of 8,192 one after the other.
  const batchBodies: string[] = [];
  for (let i = 0; i < lines.length; i += 16) batchBodies.push(`${lines.slice(i, i + 16).join('\n')}\n`);
  const exportsToInserts = (spansPerInsert: number) =>
    Math.max(5, Math.round((exportsPerScenario * SPANS_PER_EXPORT) / spansPerInsert));
  if (!env.otlpGrpcAddress)
    throw new Error('the traces section needs the OTLP/gRPC receiver (RUNTRACE_OTLP_GRPC_PORT)');
  const scenarios: Scenario[] = [
    { name: 'protobuf', concurrency: EXPORTERS, run: post('protobuf') },
    { name: 'grpc', concurrency: EXPORTERS, run: post('grpc') },
    { name: 'protobuf+gzip', concurrency: EXPORTERS, run: post('gzip') },
    { name: 'json', concurrency: EXPORTERS, run: post('json') },
    { name: 'client insert', concurrency: 1, run: insertObjects, requests: exportsToInserts(5_000), warmup: 2 },
    {
      name: 'text batched',
      concurrency: EXPORTERS,
      run: (i) => raw.add(lines[i % lines.length] as string, SPANS_PER_EXPORT),
    },
    {
      name: 'text plain',
      concurrency: 1,
      run: (i) => insertSpanRows(ch, batchBodies[i % batchBodies.length] as string),
      requests: exportsToInserts(8_192),
      warmup: 2,
    },
  ];
  log(
    `    OTLP/HTTP and OTLP/gRPC (${EXPORTERS} exporters) and the same rows inserted directly: ${int(exportsPerScenario * SPANS_PER_EXPORT)} ` +
      'spans each, taking turns in 5 rounds …',
  );
  const [protoS, grpcS, gzipS, jsonS, clientS, textS, plainS] = (await measureInterleaved(scenarios, {
    requests: exportsPerScenario,
    rounds: 5,
    warmup: 32,
    onRound: (r, n) => log(`      round ${r}/${n}`),
  })) as [Summary, Summary, Summary, Summary, Summary, Summary, Summary];
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
      ingestRow(`OTLP/gRPC, ${EXPORTERS} exporters (a connection each)`, grpcS),
      ingestRow(`OTLP/HTTP protobuf+gzip, ${EXPORTERS} exporters`, gzipS),
      ingestRow(`OTLP/HTTP JSON, ${EXPORTERS} exporters`, jsonS),
      ingestRow('raw insert: client.insert of the row objects, 5,000/INSERT', clientS, 5_000, 'INSERT'),
      ingestRow("rows pre-serialized, the receiver's batched INSERTs", textS),
      ingestRow('rows pre-serialized, plain INSERT of 8,192', plainS, 8_192, 'INSERT'),
    ],
  );
  const protoRate = spansPerS(protoS);
  const grpcRate = spansPerS(grpcS);
  checks.push(
    { name: `OTLP protobuf ingest ≥ 25,000 spans/s (${int(protoRate)})`, pass: protoRate >= 25_000 },
    {
      name: `OTLP protobuf ingest ≥ 0.8× the raw insert (${ratio(protoRate / rawRate)})`,
      pass: protoRate >= 0.8 * rawRate,
    },
    {
      name: `OTLP/gRPC ingest ≥ 0.8× the raw insert (${ratio(grpcRate / rawRate)})`,
      pass: grpcRate >= 0.8 * rawRate,
    },
  );
  notes.push(
    'The raw insert is what the target refers to (a chdb insert of OTel-shaped rows as JSONEachRow through ' +
      "@clickhouse/client, Node serialization included, the client's default settings); the pre-serialized rows show " +
      "ClickHouse's own cost through the receiver's INSERT (on chdb parsed by one thread, input_format_parallel_parsing = 0), the floor.",
    `Receiver batches: ${SPAN_BATCHING.minBatchRows}–${SPAN_BATCHING.maxBatchRows} spans per INSERT, ${SPAN_BATCHING.maxConcurrentInserts} in flight, ` +
      `${SPAN_BATCHING.flushIntervalMs} ms at most; an export is answered once its spans are written. The exporters post from a ` +
      'worker thread of this process (node:http, keep-alive; @grpc/grpc-js over HTTP/2 with a connection per exporter; their ' +
      'CPU counts in cpu µs/span); 32 untimed exports warm each ' +
      'OTLP scenario.',
  );
  return { table: ingestTable, notes, checks };
}
