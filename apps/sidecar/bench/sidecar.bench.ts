/**
 * `pnpm --filter @runtrace/sidecar bench`: the sidecar's ingest rate into its file sink (uncompressed, and gzip for
 * comparison), raw gzip speed on the same records, and the socket backend's caller cost (enqueue p50/p99) and
 * end-to-end rate. `runSidecarBench()` returns the rows for the main bench table.
 *
 * The sidecar runs as a child process (what `pnpm sidecar` runs); the clients write from this process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type Actor, newId } from '@runtrace/core';
import {
  encodeRecord,
  type ProviderTrace,
  SocketProviderTraceBackend,
  toProviderTrace,
  toSocketRecord,
} from '@runtrace/core/telemetry';
import { scrape, spawnSidecar, until } from '../src/test-helpers.ts';

export interface BenchRow {
  measure: string;
  result: string;
  target: string;
  /** null when the row has no target. */
  ok: boolean | null;
}

export interface SidecarBenchOptions {
  /** Records per ingest run. @default 300000 */
  records?: number;
  /** Client connections writing at once. @default 4 */
  connections?: number;
  /** enqueue() calls timed. @default 100000 */
  enqueues?: number;
}

const WORDS = 'the agent called a tool and the model answered with a plan to search archival memory for the user'.split(
  ' ',
);

/** ~1 KB provider traces: an OpenAI-shaped call with varied text (so gzip sees realistic, not constant, data). */
function traces(count: number, seed = 1): ProviderTrace[] {
  let s = seed;
  const rnd = () => {
    s = (s * 48271) % 2147483647;
    return s;
  };
  const text = (words: number) => Array.from({ length: words }, () => WORDS[rnd() % WORDS.length]).join(' ');
  return Array.from({ length: count }, () =>
    toProviderTrace({
      requestJson: {
        model: 'gpt-4o-mini',
        temperature: 0.7,
        messages: [
          { role: 'system', content: 'You are a helpful agent.' },
          { role: 'user', content: text(40) },
        ],
      },
      responseJson: {
        id: `chatcmpl-${rnd().toString(36)}`,
        choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text(30) } }],
        usage: { prompt_tokens: 400 + (rnd() % 300), completion_tokens: 20 + (rnd() % 80), total_tokens: 600 },
      },
      stepId: newId('step'),
      runId: newId('run'),
      agentId: newId('agent'),
      agentTags: ['bench'],
      callType: 'agent_step',
    }),
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** Writes `lines` over `connections` raw connections as fast as the sidecar reads; resolves when its files hold them all. */
async function ingest(lines: Buffer[], connections: number, gzip: boolean, root: string) {
  const where = {
    socket: path.join(root, `${gzip ? 'gz' : 'plain'}.sock`),
    dir: path.join(root, gzip ? 'gz' : 'plain'),
  };
  const sidecar = await spawnSidecar({
    TELEMETRY_SOCKET: where.socket,
    RUNTRACE_SIDECAR_DIR: where.dir,
    RUNTRACE_SIDECAR_GZIP: gzip ? '1' : '0',
  });
  try {
    const per = Math.ceil(lines.length / connections);
    const bytes = lines.reduce((sum, l) => sum + l.length, 0);
    // pre-built 256 KiB chunks: the clients cost next to nothing
    const chunksOf = (part: Buffer[]) => {
      const chunks: Buffer[] = [];
      for (let i = 0; i < part.length; ) {
        let size = 0;
        let j = i;
        while (j < part.length && size < 256 * 1024) size += (part[j++] as Buffer).length;
        chunks.push(Buffer.concat(part.slice(i, j), size));
        i = j;
      }
      return chunks;
    };
    const plans = Array.from({ length: connections }, (_, c) => chunksOf(lines.slice(c * per, (c + 1) * per)));
    const sockets = await Promise.all(
      plans.map(
        () =>
          new Promise<net.Socket>((resolve, reject) => {
            const s = net.createConnection({ path: where.socket }, () => resolve(s));
            s.once('error', reject);
          }),
      ),
    );
    const cpuKey = 'runtrace_sidecar_process_cpu_seconds_total';
    const cpuBefore = (await scrape(sidecar.metricsPort)).get(cpuKey) ?? 0;
    const started = performance.now();
    await Promise.all(
      sockets.map(async (socket, c) => {
        for (const chunk of plans[c] as Buffer[]) {
          if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
        }
        await new Promise<void>((resolve) => socket.end(resolve));
      }),
    );
    const key = 'runtrace_sidecar_sink_records_total{sink="file"}';
    await until(
      async () => (await scrape(sidecar.metricsPort)).get(key) === lines.length,
      120_000,
      'the file sink to hold every record',
    );
    const seconds = (performance.now() - started) / 1000;
    const cpu = ((await scrape(sidecar.metricsPort)).get(cpuKey) ?? 0) - cpuBefore;
    for (const s of sockets) s.destroy();
    return {
      recordsPerSecond: lines.length / seconds,
      mbPerSecond: bytes / 1e6 / seconds,
      seconds,
      /** Records per second of the sidecar's own CPU time (all its threads): the rate free of other load. */
      recordsPerCpuSecond: lines.length / cpu,
    };
  } finally {
    await sidecar.stop('SIGTERM');
  }
}

export async function runSidecarBench(options: SidecarBenchOptions = {}): Promise<BenchRow[]> {
  const count = options.records ?? 300_000;
  const connections = options.connections ?? 4;
  const root = mkdtempSync(path.join(os.tmpdir(), 'runtrace-sidecar-bench-'));
  const rows: BenchRow[] = [];
  try {
    const source = traces(5_000);
    const lines = Array.from({ length: count }, (_, i) => {
      const t = source[i % source.length] as ProviderTrace;
      return Buffer.from(encodeRecord(toSocketRecord({ ...t, id: newId('providerTrace') })));
    });
    const avg = lines.reduce((s, l) => s + l.length, 0) / lines.length;

    const plain = await ingest(lines, connections, false, root);
    rows.push({
      measure: `sidecar ingest → file sink, uncompressed (${fmt(count)} records of ~${fmt(avg)} B, ${connections} connections)`,
      result: `${fmt(plain.recordsPerSecond)} records/s (${plain.mbPerSecond.toFixed(0)} MB/s); ${fmt(plain.recordsPerCpuSecond)} per sidecar CPU-second`,
      target: '≥ 100,000 records/s',
      ok: plain.recordsPerSecond >= 100_000,
    });
    const gz = await ingest(lines, connections, true, root);
    rows.push({
      measure: 'sidecar ingest → file sink, gzip level 1 (writer thread)',
      result: `${fmt(gz.recordsPerSecond)} records/s (${gz.mbPerSecond.toFixed(0)} MB/s in); ${fmt(gz.recordsPerCpuSecond)} per sidecar CPU-second`,
      target: '(printed; the default)',
      ok: null,
    });
    const sample = Buffer.concat(lines.slice(0, 20_000));
    const t0 = performance.now();
    let compressed = 0;
    for (let off = 0; off < sample.length; off += 1024 * 1024) {
      compressed += gzipSync(sample.subarray(off, off + 1024 * 1024), { level: 1 }).length;
    }
    const gzSeconds = (performance.now() - t0) / 1000;
    rows.push({
      measure: 'zlib gzip level 1 on these records, one core',
      result: `${(sample.length / 1e6 / gzSeconds).toFixed(0)} MB/s in, ratio ${(sample.length / compressed).toFixed(1)}`,
      target: '—',
      ok: null,
    });

    // the socket backend: the caller's cost, and the whole path into the files
    const enqueues = options.enqueues ?? 100_000;
    const socket = path.join(root, 'backend.sock');
    const dir = path.join(root, 'backend');
    const sidecar = await spawnSidecar({
      TELEMETRY_SOCKET: socket,
      RUNTRACE_SIDECAR_DIR: dir,
      RUNTRACE_SIDECAR_GZIP: '0',
    });
    try {
      const backend = new SocketProviderTraceBackend({ socketPath: socket, maxRecords: enqueues + 1 });
      const actor: Actor = { organizationId: newId('organization'), userId: newId('user') };
      const payloads = traces(enqueues, 7);
      const times = new Float64Array(enqueues);
      const started = performance.now();
      for (let i = 0; i < enqueues; i += 500) {
        for (let j = i; j < Math.min(enqueues, i + 500); j++) {
          const a = performance.now();
          backend.enqueue(actor, payloads[j] as ProviderTrace);
          times[j] = performance.now() - a;
        }
        await new Promise((r) => setImmediate(r)); // let the backend write, as a real caller's event loop would
      }
      await backend.close();
      const key = 'runtrace_sidecar_sink_records_total{sink="file"}';
      await until(async () => (await scrape(sidecar.metricsPort)).get(key) === enqueues, 60_000, 'delivery');
      const seconds = (performance.now() - started) / 1000;
      const sorted = Array.from(times).sort((x, y) => x - y);
      const p50 = percentile(sorted, 50) * 1000;
      const p99 = percentile(sorted, 99) * 1000;
      rows.push({
        measure: `socket backend enqueue() (~${fmt(avg)} B records, sidecar connected)`,
        result: `p50 ${p50.toFixed(1)} µs, p99 ${p99.toFixed(1)} µs, max ${((sorted[sorted.length - 1] as number) * 1000).toFixed(0)} µs`,
        target: 'p99 ≤ 50 µs',
        ok: p99 <= 50,
      });
      rows.push({
        measure: 'socket backend → sidecar → file, end to end',
        result: `${fmt(enqueues / seconds)} records/s (dropped ${backend.stats().dropped})`,
        target: '—',
        ok: null,
      });
    } finally {
      await sidecar.stop('SIGTERM');
    }
    return rows;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function formatRows(rows: BenchRow[]): string {
  const header = ['measure', 'result', 'target', ''];
  const body = rows.map((r) => [r.measure, r.result, r.target, r.ok === null ? '' : r.ok ? 'ok' : 'MISSED']);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await runSidecarBench();
  process.stdout.write(`${formatRows(rows)}\n`);
  process.exit(rows.some((r) => r.ok === false) ? 1 : 0);
}
