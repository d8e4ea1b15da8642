/**
 * Compressed answers (apps/api/src/compression.ts): for two large answers a dashboard reads — a 100-run page of
 * `runs.list` and an agent run's `runs.trace` — the bytes on the wire, the CPU per call and the throughput with
 * `Accept-Encoding` absent (identity), `gzip` and `br`, as ratios against identity; and what other qualities would
 * cost and save on the same bodies (why brotli 4 and gzip 6).
 */
import http from 'node:http';
import zlib from 'node:zlib';
import { DEFAULT_ACTOR } from '@runtrace/core';
import { get, keepAliveAgent } from './http.ts';
import { exportRequest, SPANS_PER_EXPORT } from './otlp-requests.ts';
import type { BenchContext, BenchSection, Check } from './section.ts';
import { int, measureInterleaved, ms, ratio, type Summary } from './stats.ts';
import { formatTable } from './table.ts';

const CODINGS = ['identity', 'gzip', 'br'] as const;
type Coding = (typeof CODINGS)[number];

/** What a browser sends; identity sends no Accept-Encoding at all (as the bench's other HTTP scenarios). */
const ACCEPT: Record<Coding, http.OutgoingHttpHeaders> = {
  identity: {},
  gzip: { 'accept-encoding': 'gzip' },
  br: { 'accept-encoding': 'gzip, deflate, br, zstd' },
};

interface Answer {
  label: string;
  url: URL;
  requests: number;
  /** The identity body, for the quality table. */
  body: Buffer;
}

/** Exports of the trace read back: each holds 8 traces of 64 agent-like spans (~1 KB of attributes each). */
const TRACE_EXPORTS = 2;

export const compressionSection: BenchSection = {
  name: 'compression',
  async run(ctx: BenchContext) {
    const { env, options, log } = ctx;
    // The trace's run is created first: it is the newest run, on the page runs.list reads from then on.
    const trace = await runsTraceAnswer(ctx);
    const answers = [await runsListAnswer(ctx), trace];
    const c = options.listConcurrency;
    const agent = keepAliveAgent(c);
    try {
      for (const answer of answers) await checkCodings(agent, answer);
      const scenarios = answers.flatMap((answer) =>
        CODINGS.map((coding) => ({
          name: `${answer.label} ${coding}`,
          concurrency: c,
          requests: answer.requests,
          run: () => get(agent, answer.url, ACCEPT[coding]),
        })),
      );
      log(
        `    ${answers.map((a) => `${a.label} × ${int(a.requests)}`).join(', ')} per coding (identity, gzip, br) at ` +
          `concurrency ${c}, taking turns in 5 rounds …`,
      );
      const summaries = await measureInterleaved(scenarios, { requests: options.requests, rounds: 5 });
      const wireBytes = new Map<string, number>();
      for (const answer of answers) {
        for (const coding of CODINGS)
          wireBytes.set(`${answer.label} ${coding}`, await get(agent, answer.url, ACCEPT[coding]));
      }
      const rows: string[][] = [];
      const checks: Check[] = [];
      for (const [a, answer] of answers.entries()) {
        const at = (k: number) => summaries[a * CODINGS.length + k] as Summary;
        const identity = at(0);
        const identityBytes = wireBytes.get(`${answer.label} identity`) as number;
        for (const [k, coding] of CODINGS.entries()) {
          const s = at(k);
          const bytes = wireBytes.get(`${answer.label} ${coding}`) as number;
          rows.push([
            k === 0 ? answer.label : '',
            coding,
            int(bytes),
            ratio(bytes / identityBytes),
            ms(s.cpuMsPerOp),
            ratio(s.cpuMsPerOp / identity.cpuMsPerOp),
            int(s.perSecond),
            ratio(s.perSecond / identity.perSecond),
            ms(s.p50),
            ms(s.p99),
          ]);
        }
        const br = at(2);
        const brBytes = wireBytes.get(`${answer.label} br`) as number;
        checks.push(
          {
            name: `${answer.label}: br ≤ 0.2× the identity bytes (${ratio(brBytes / identityBytes)})`,
            pass: brBytes <= identityBytes * 0.2,
          },
          {
            name: `${answer.label}: br CPU per call ≤ 1.5× identity's (${ratio(br.cpuMsPerOp / identity.cpuMsPerOp)})`,
            pass: br.cpuMsPerOp <= identity.cpuMsPerOp * 1.5,
          },
        );
      }
      const table = formatTable(
        [
          { header: 'answer', align: 'left' },
          { header: 'coding', align: 'left' },
          { header: 'bytes', align: 'right' },
          { header: 'vs identity' },
          { header: 'CPU ms/call' },
          { header: 'vs identity' },
          { header: 'calls/s' },
          { header: 'vs identity' },
          { header: 'p50 ms' },
          { header: 'p99 ms' },
        ],
        rows,
      );
      log('    the same bodies compressed at other qualities (one core, synchronously) …');
      const qualities = qualityTable(answers);
      return {
        title: 'Compressed answers: bytes on the wire, CPU per call and throughput by Accept-Encoding',
        table: `${table}\n\n${qualities}`,
        notes: [
          `GETs of the URLs httpBatchLink sends (runs.list through fast-calls.ts, runs.trace through tRPC's adapter), ` +
            `keep-alive, each answer read to its end, not decoded; each coding's answer was first checked to decode to ` +
            `the identity answer. "identity" sends no Accept-Encoding; "br" sends a browser's (gzip, deflate, br, zstd). ` +
            `Threshold ${env.runtime.config.httpCompressionMinBytes ?? 'off'} bytes (RUNTRACE_HTTP_COMPRESSION_MIN_BYTES).`,
          'CPU ms/call: this process (the api and the load generator, which only counts bytes) per call, all threads ' +
            "(bodies over 256 KB are compressed on libuv's pool); the difference from identity is what compressing " +
            'costs the api.',
          'Qualities table: zlib synchronously on the identity bodies, per body; the api uses brotli 4 and gzip 6.',
        ],
        checks,
      };
    } finally {
      agent.destroy();
    }
  },
};

/** The newest 100 of the seeded runs, as a dashboard's runs view asks for them. */
async function runsListAnswer(ctx: BenchContext): Promise<Answer> {
  const input = encodeURIComponent(JSON.stringify({ 0: { limit: 100 } }));
  const url = new URL(`${ctx.env.apiUrl}/trpc/runs.list?batch=1&input=${input}`);
  const body = await identityBody(url);
  const items = (JSON.parse(body.toString()) as [{ result: { data: { items: unknown[] } } }])[0].result.data.items;
  if (items.length !== 100) throw new Error(`runs.list answered ${items.length} runs, not 100: seed more runs`);
  return { label: 'runs.list, 100 runs', url, requests: ctx.options.requests, body };
}

/** An agent run whose steps carry the trace ids of {@link TRACE_EXPORTS} OTLP exports, read with the trace view's filter. */
async function runsTraceAnswer(ctx: BenchContext): Promise<Answer> {
  const { env } = ctx;
  const seqs = Array.from({ length: TRACE_EXPORTS }, (_, k) => 900_000 + k);
  const startNs = BigInt(Date.now() - 3_600_000) * 1_000_000n;
  const traceIds = new Set<string>();
  for (const seq of seqs) {
    const request = exportRequest(seq, SPANS_PER_EXPORT, startNs);
    for (const span of request.resourceSpans[0]?.scopeSpans[0]?.spans ?? []) traceIds.add(span.traceId as string);
    const sent = await fetch(`${env.apiUrl}/v1/traces`, {
      method: 'POST',
      body: JSON.stringify(request),
      headers: { 'content-type': 'application/json' },
    });
    if (sent.status !== 200) throw new Error(`the trace export was refused: ${sent.status} ${await sent.text()}`);
  }
  await env.runtime.traces.flush();
  const run = await env.runtime.runs.create(DEFAULT_ACTOR, { agentId: 'agent-00000000-0000-4000-8000-00000000c0de' });
  for (const traceId of traceIds) await env.runtime.steps.create(DEFAULT_ACTOR, { runId: run.id, traceId });
  const input = encodeURIComponent(JSON.stringify({ 0: { runId: run.id } }));
  const url = new URL(`${env.apiUrl}/trpc/runs.trace?batch=1&input=${input}`);
  const body = await identityBody(url);
  const spans = (JSON.parse(body.toString()) as [{ result: { data: unknown[] } }])[0].result.data.length;
  return { label: `runs.trace, ${int(spans)} spans`, url, requests: ctx.options.traceQueries, body };
}

async function identityBody(url: URL): Promise<Buffer> {
  const res = await fetch(url, { headers: { 'accept-encoding': 'identity' } });
  if (res.status !== 200 || res.headers.has('content-encoding')) {
    throw new Error(`${url.pathname}: HTTP ${res.status}, content-encoding ${res.headers.get('content-encoding')}`);
  }
  return Buffer.from(await res.arrayBuffer());
}

/** Each coding's answer must be that coding (the api compresses) and decode to the identity body. */
async function checkCodings(agent: http.Agent, answer: Answer): Promise<void> {
  for (const coding of CODINGS) {
    const { headers, body } = await rawGet(agent, answer.url, ACCEPT[coding]);
    const got = headers['content-encoding'] ?? 'identity';
    if (got !== coding) {
      throw new Error(
        `${answer.label}: asked for ${coding}, got ${got} (is RUNTRACE_HTTP_COMPRESSION_MIN_BYTES off or above ${int(answer.body.length)}?)`,
      );
    }
    const decoded =
      coding === 'br' ? zlib.brotliDecompressSync(body) : coding === 'gzip' ? zlib.gunzipSync(body) : body;
    if (!decoded.equals(answer.body)) throw new Error(`${answer.label}: the ${coding} answer decodes to another body`);
  }
}

function rawGet(
  agent: http.Agent,
  url: URL,
  headers: http.OutgoingHttpHeaders,
): Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const { BROTLI_PARAM_QUALITY, BROTLI_PARAM_MODE, BROTLI_MODE_TEXT, BROTLI_PARAM_SIZE_HINT } = zlib.constants;
const SETTINGS: { label: string; compress: (body: Buffer) => Buffer }[] = [
  ...[1, 4, 5, 6, 11].map((q) => ({
    label: `br ${q}${q === 4 ? ' (api)' : q === 11 ? " (zlib's default)" : ''}`,
    compress: (body: Buffer) =>
      zlib.brotliCompressSync(body, {
        params: {
          [BROTLI_PARAM_QUALITY]: q,
          [BROTLI_PARAM_MODE]: BROTLI_MODE_TEXT,
          [BROTLI_PARAM_SIZE_HINT]: body.length,
        },
      }),
  })),
  ...[1, 6, 9].map((level) => ({
    label: `gzip ${level}${level === 6 ? ' (api)' : ''}`,
    compress: (body: Buffer) => zlib.gzipSync(body, { level }),
  })),
];

/** Bytes and CPU per body of each setting: at least 3 bodies and 300 ms of CPU each. */
function qualityTable(answers: Answer[]): string {
  const rows = SETTINGS.map((setting) => [
    setting.label,
    ...answers.flatMap((answer) => {
      let bytes = 0;
      let n = 0;
      const cpu = process.cpuUsage();
      let used = 0;
      while (n < 3 || used < 300) {
        bytes = setting.compress(answer.body).length;
        n++;
        const u = process.cpuUsage(cpu);
        used = (u.user + u.system) / 1000;
      }
      return [int(bytes), ratio(bytes / answer.body.length), ms(used / n)];
    }),
  ]);
  return formatTable(
    [
      { header: 'quality', align: 'left' },
      ...answers.flatMap((a) => [
        { header: `${a.label}: bytes (${int(a.body.length)})` },
        { header: 'ratio' },
        { header: 'CPU ms/body' },
      ]),
    ],
    rows,
  );
}
