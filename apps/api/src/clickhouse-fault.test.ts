/**
 * Fault suite, "ClickHouse insert failing": a real api process with its embedded ClickHouse (chdb) in a data directory
 * of its own, whose two target tables (`otel_traces`, `provider_traces`) are made unwritable under the running
 * service (`chattr +i` on their data directories: every INSERT fails inside ClickHouse, reads go on), then writable
 * again. OTLP exports (HTTP and gRPC) and provider traces are sent before, during and after. Callers must get the
 * documented answers (OTLP: 503 + Retry-After or UNAVAILABLE, retryable; provider traces: 200, the ClickHouse copy
 * counted as failed), the service must
 * recover by itself, and every span or trace not written must be counted on /metrics, exactly.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inheritedEnvironment } from '@runtrace/core/config';
import { otlpProtoTypes } from '@runtrace/core/internal';
import { afterAll, describe, expect, it } from 'vitest';
import { grpcExportClient } from './test-grpc-export.ts';

const apiDir = fileURLToPath(new URL('..', import.meta.url));
const tsx = path.join(apiDir, 'node_modules', '.bin', 'tsx');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'runtrace-ch-fault-'));
/** The tables' data directories while they are unwritable (made writable again whatever happens). */
let frozen: string[] = [];
const chattr = (flag: '+i' | '-i', dirs: string[]) => execFileSync('chattr', [flag, ...dirs]);
let child: ChildProcess | null = null;

afterAll(async () => {
  if (frozen.length) chattr('-i', frozen);
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child?.on('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitForHealth(url: string, proc: ChildProcess, output: () => string, ms = 120_000): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (proc.exitCode !== null) throw new Error(`api exited with ${proc.exitCode}:\n${output()}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`api never answered /healthz:\n${output()}`);
}

describe('fault: ClickHouse inserts failing under a running api', { timeout: 300_000 }, () => {
  it('OTLP answers 503 + Retry-After, provider traces keep answering; losses are counted exactly; recovery by itself', async () => {
    const port = await freePort();
    const grpcPort = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let output = '';
    child = spawn(tsx, ['src/main.ts'], {
      cwd: apiDir,
      env: {
        ...inheritedEnvironment(),
        NODE_ENV: 'production',
        LOG_LEVEL: 'warn',
        PORT: String(port),
        RUNTRACE_OTLP_GRPC_PORT: String(grpcPort),
        RUNTRACE_DATA_DIR: dataDir,
        // everything embedded and owned by this test: PGlite, the in-process broker, chdb in the data directory
        DATABASE_URL: '',
        REDIS_URL: '',
        CLICKHOUSE_URL: '',
        // ClickHouse first: it is the provider traces' primary (reads come from it), Postgres the fallback
        TELEMETRY_PROVIDER_TRACE_BACKEND: 'clickhouse,postgres',
        // only the test's spans in the counts
        RUNTRACE_OTEL_SELF_TRACE: 'off',
      },
    });
    child.stdout?.on('data', (d) => {
      output += d;
    });
    child.stderr?.on('data', (d) => {
      output += d;
    });
    await waitForHealth(url, child, () => output);

    const trpc = async (procedure: string, input: unknown) => {
      const res = await fetch(`${url}/trpc/${procedure}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(input),
      });
      return { status: res.status, body: (await res.json()) as { result?: { data: unknown } } };
    };
    const query = async (procedure: string, input: unknown) => {
      const res = await fetch(`${url}/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`);
      return (await res.json()) as { result?: { data: unknown } };
    };
    const metrics = async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);
      return {
        spansWritten: value(/^runtrace_otlp_spans_total\{result="written"\} (\d+)$/m),
        spansFailed: value(/^runtrace_otlp_spans_total\{result="failed"\} (\d+)$/m),
        tracesFailed: value(/^runtrace_provider_trace_writes_total\{backend="clickhouse",result="failed"\} (\d+)$/m),
        tracesTimedOut: value(/^runtrace_provider_trace_writes_total\{backend="clickhouse",result="timeout"\} (\d+)$/m),
        tracesDropped: value(/^runtrace_provider_trace_dropped_total\{backend="clickhouse"\} (\d+)$/m),
      };
    };

    const run = (await trpc('runs.create', { agentId: 'agent-00000000-0000-4000-8000-00000000000f' })).body.result
      ?.data as { id: string };
    const now = BigInt(Date.now()) * 1_000_000n;
    let sentSpans = 0;
    /** The next export: one root span with a trace id of its own (a step of the run names it, for runs.trace). */
    const nextExport = async (ids: (hex: string) => string | Buffer) => {
      const n = ++sentSpans;
      const traceId = n.toString(16).padStart(32, 'f');
      expect((await trpc('steps.create', { runId: run.id, traceId })).status).toBe(200);
      const span = {
        traceId: ids(traceId),
        spanId: ids(n.toString(16).padStart(16, '0')),
        name: `fault export ${n}`,
        startTimeUnixNano: String(now + BigInt(n)),
        endTimeUnixNano: String(now + BigInt(n) + 1000n),
      };
      return { resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] };
    };
    const exportSpan = async () => {
      const res = await fetch(`${url}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(await nextExport((hex) => hex)),
      });
      return {
        status: res.status,
        retryAfter: res.headers.get('retry-after'),
        body: (await res.json()) as Record<string, unknown>,
      };
    };
    const grpc = grpcExportClient(grpcPort);
    /** The same over OTLP/gRPC (protobuf, ids as bytes). */
    const exportSpanOverGrpc = async () => {
      const { ExportTraceServiceRequest: T } = otlpProtoTypes();
      const request = await nextExport((hex) => Buffer.from(hex, 'hex'));
      return grpc.export(T.encode(T.fromObject(request)).finish());
    };
    let sentTraces = 0;
    const createTrace = async () => {
      sentTraces += 1;
      return trpc('providerTraces.create', {
        runId: run.id,
        requestJson: { n: sentTraces },
        responseJson: { ok: true },
      });
    };
    const burst = async <T>(n: number, send: () => Promise<T>) => {
      const results: T[] = [];
      for (let i = 0; i < n; i++) results.push(await send());
      return results;
    };

    // before: all written
    for (const r of await burst(5, exportSpan)) expect([r.status, r.body]).toEqual([200, {}]);
    for (const r of await burst(5, createTrace)) expect(r.status).toBe(200);
    const healthy = await metrics();
    expect(healthy).toMatchObject({ spansWritten: 5, spansFailed: 0, tracesFailed: 0 });

    // the fault: both tables' data directories become unwritable under the running service
    const tableDir = (table: string) => {
      const link = path.join(dataDir, 'clickhouse', 'data', 'runtrace', table);
      if (!existsSync(link)) throw new Error(`no data directory for ${table} at ${link}`);
      return realpathSync(link);
    };
    frozen = [tableDir('otel_traces'), tableDir('provider_traces')];
    chattr('+i', frozen);

    const during = await burst(10, exportSpan);
    for (const r of during) {
      expect(r).toMatchObject({ status: 503, retryAfter: expect.stringMatching(/^\d+$/), body: { code: 14 } });
      // the kind of failure, never ClickHouse's own text (file paths, C++ exceptions)
      expect(String(r.body.message)).not.toMatch(/filesystem|std::|\/tmp\//);
    }
    const duringGrpc = await burst(2, exportSpanOverGrpc);
    for (const r of duringGrpc) {
      expect(r.code).toBe('UNAVAILABLE');
      expect(r.details).not.toMatch(/filesystem|std::|\/tmp\//);
    }
    // provider traces: the caller never fails (Postgres keeps its copy), the clickhouse backend counts each failure
    for (const r of await burst(10, createTrace)) expect(r.status).toBe(200);
    const failing = await metrics();
    expect(failing).toMatchObject({ spansWritten: 5, spansFailed: 12, tracesFailed: 10 });

    // recovery: writable again, nothing restarted
    chattr('-i', frozen);
    frozen = [];
    for (const r of await burst(10, exportSpan)) expect([r.status, r.body]).toEqual([200, {}]);
    expect((await exportSpanOverGrpc()).code).toBe('OK');
    grpc.close();
    for (const r of await burst(10, createTrace)) expect(r.status).toBe(200);
    const after = await metrics();

    // what was written, read back through the api (ClickHouse is the primary for both reads)
    const spans = (await query('runs.trace', { runId: run.id, limit: 5000 })).result?.data as { spanName: string }[];
    const listed = (await query('providerTraces.list', { runId: run.id, limit: 1000 })).result?.data as
      | { items: unknown[] }
      | undefined;
    const traces = listed?.items ?? [];
    const spansLost = after.spansFailed;
    const tracesLost = after.tracesFailed + after.tracesTimedOut + after.tracesDropped;
    expect(spans).toHaveLength(sentSpans - spansLost);
    expect(spans.map((s) => s.spanName)).toEqual(
      [...Array.from({ length: 5 }, (_, i) => i + 1), ...Array.from({ length: 11 }, (_, i) => i + 18)].map(
        (n) => `fault export ${n}`,
      ),
    );
    expect(traces).toHaveLength(sentTraces - tracesLost);
    expect([spansLost, tracesLost]).toEqual([12, 10]);
    console.log(
      `fault-table | clickhouse insert failing (OTLP spans) | sent ${sentSpans} | written ${spans.length} | counted lost ${spansLost} | ` +
        `${during.length} of ${during.length} OTLP/HTTP exports during the failure got 503 + Retry-After and ${duringGrpc.length} of ${duringGrpc.length} ` +
        'OTLP/gRPC exports UNAVAILABLE (retryable); 200 / OK before and after, no restart',
    );
    console.log(
      `fault-table | clickhouse insert failing (provider traces, clickhouse backend) | sent ${sentTraces} | written ${traces.length} | ` +
        `counted lost ${tracesLost} | every caller got 200 (Postgres kept its copy); runtrace_provider_trace_writes_total{backend="clickhouse",result="failed"} counts each`,
    );
  });
});
