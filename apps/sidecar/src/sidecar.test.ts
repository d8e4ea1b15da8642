import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { newId } from '@runtrace/core';
import { encodeRecord, toProviderTrace, toSocketRecord } from '@runtrace/core/telemetry';
import { afterAll, describe, expect, it } from 'vitest';
import { type ClickHouseHandle, ClickHouseSink } from './clickhouse-sink.ts';
import { recoverParts } from './file-writer.ts';
import { type SidecarOptions, startSidecar } from './sidecar.ts';
import { countById, readSinkLines, scrape, until } from './test-helpers.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'runtrace-sidecar-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function place() {
  const dir = path.join(root, `case${++n}`);
  return { socketPath: path.join(dir, 'run', 'telemetry.sock'), dir: path.join(dir, 'files') };
}

function line(extra: Record<string, unknown> = {}): { id: string; text: string } {
  const trace = toProviderTrace({
    requestJson: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello — ✓' }], ...extra },
    responseJson: { choices: [{ message: { role: 'assistant', content: 'hi' } }] },
    stepId: newId('step'),
    runId: newId('run'),
  });
  return { id: trace.id, text: encodeRecord(toSocketRecord(trace)) };
}

async function start(options: Partial<SidecarOptions> = {}) {
  const where = place();
  const sidecar = await startSidecar({ ...where, gzip: false, metricsPort: 0, drainTimeoutMs: 5000, ...options });
  return { ...where, sidecar };
}

function connect(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ path: socketPath }, () => resolve(s));
    s.once('error', reject);
  });
}

function send(socket: net.Socket, data: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => socket.write(data, (err) => (err ? reject(err) : resolve())));
}

function finish(socket: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
    socket.resume();
    socket.end();
  });
}

describe('sidecar (in process)', () => {
  it('reads many connections, each carrying many lines cut at arbitrary chunk boundaries', async () => {
    const { dir, socketPath, sidecar } = await start();
    const connections = 16;
    const perConnection = 400;
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: connections }, async (_, c) => {
        const lines = Array.from({ length: perConnection }, () => line({ c }));
        for (const l of lines) ids.push(l.id);
        const all = Buffer.from(lines.map((l) => l.text).join(''));
        const socket = await connect(socketPath);
        let at = 0;
        let seed = c + 1;
        while (at < all.length) {
          seed = (seed * 48271) % 2147483647;
          const size = 1 + (seed % 3000);
          await send(socket, all.subarray(at, at + size));
          at += size;
        }
        await finish(socket);
      }),
    );
    await until(() => sidecar.stats().accepted === connections * perConnection);
    await sidecar.close();
    const counts = countById(dir);
    expect(counts.size).toBe(ids.length);
    expect(ids.every((id) => counts.get(id) === 1)).toBe(true);
    expect(sidecar.stats()).toMatchObject({
      connections,
      activeConnections: 0,
      received: ids.length,
      rejected: { malformed: 0, unsupported_version: 0, too_large: 0 },
    });
    expect(sidecar.stats().file.records).toBe(ids.length);
  });

  it('rejects and counts malformed JSON, other protocol versions and over-long lines, keeping the connection’s other records', async () => {
    const { dir, socketPath, sidecar } = await start({ maxLineBytes: 4096 });
    const good = Array.from({ length: 6 }, () => line());
    const v2 = JSON.parse(line().text);
    v2.protocol_version = 2;
    const missingField = JSON.parse(line().text);
    delete missingField.request;
    const tooLong = line({ blob: 'z'.repeat(8000) });
    const socket = await connect(socketPath);
    const stream = [
      good[0]?.text,
      '{"protocol_version": 1, "provider_trace_id": \n',
      good[1]?.text,
      `${JSON.stringify(v2)}\n`,
      good[2]?.text,
      tooLong.text,
      good[3]?.text,
      `${JSON.stringify(missingField)}\n`,
      good[4]?.text,
      'not json at all\n',
      good[5]?.text,
    ].join('');
    // in two pieces, the over-long line straddling them
    const cut = stream.indexOf(tooLong.text) + 3000;
    await send(socket, stream.slice(0, cut));
    await send(socket, stream.slice(cut));
    await finish(socket);
    await until(() => sidecar.stats().received === 11);
    const metrics = await scrape(sidecar.metricsPort as number);
    await sidecar.close();
    expect(sidecar.stats()).toMatchObject({
      accepted: 6,
      rejected: { malformed: 3, unsupported_version: 1, too_large: 1 },
    });
    expect([...countById(dir).keys()]).toEqual(good.map((g) => g.id));
    expect(metrics.get('runtrace_sidecar_records_rejected_total{reason="malformed"}')).toBe(3);
    expect(metrics.get('runtrace_sidecar_records_rejected_total{reason="unsupported_version"}')).toBe(1);
    expect(metrics.get('runtrace_sidecar_records_rejected_total{reason="too_large"}')).toBe(1);
    expect(metrics.get('runtrace_sidecar_records_accepted_total')).toBe(6);
    expect(metrics.get('runtrace_sidecar_records_received_total')).toBe(11);
  });

  it('accepts a ~1 MiB line under the default 128 MiB cap', async () => {
    const { dir, socketPath, sidecar } = await start();
    const big = line({ blob: 'b'.repeat(1024 * 1024) });
    const socket = await connect(socketPath);
    await send(socket, big.text);
    await finish(socket);
    await until(() => sidecar.stats().accepted === 1);
    await sidecar.close();
    const [stored] = readSinkLines(dir);
    expect(stored?.length).toBe(big.text.length - 1);
    expect(JSON.parse(stored as string).request.blob).toHaveLength(1024 * 1024);
  });

  it('restricts the socket to its owner by default (0600), or to the configured mode', async () => {
    const a = await start();
    expect(statSync(a.socketPath).mode & 0o777).toBe(0o600);
    await a.sidecar.close();
    const b = await start({ socketMode: 0o660 });
    expect(statSync(b.socketPath).mode & 0o777).toBe(0o660);
    await b.sidecar.close();
    expect(() => statSync(b.socketPath)).toThrow(); // removed at stop
  });

  it('replaces a stale socket file, refuses a live one and anything that is not a socket', async () => {
    const first = await start();
    // a live sidecar on the path
    await expect(startSidecar({ socketPath: first.socketPath, dir: first.dir, metricsPort: null })).rejects.toThrow(
      /another process is listening/,
    );
    await first.sidecar.close();
    // a stale socket: bound by a process that died without removing it
    const died = spawnSync(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(first.socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    expect(died.signal).toBe('SIGKILL');
    expect(statSync(first.socketPath).isSocket()).toBe(true);
    const again = await startSidecar({ socketPath: first.socketPath, dir: first.dir, metricsPort: null });
    await again.close();
    // a regular file where the socket should be
    const plain = place();
    await startSidecar({ ...plain, metricsPort: null }).then((s) => s.close());
    writeFileSync(plain.socketPath, 'not a socket');
    await expect(startSidecar({ ...plain, metricsPort: null })).rejects.toThrow(/is not a socket/);
    // a socket directory that cannot be created
    const blocked = place();
    await startSidecar({ ...blocked, metricsPort: null }).then((s) => s.close());
    const fileAsDir = path.join(blocked.dir, 'a-file');
    writeFileSync(fileAsDir, '');
    await expect(
      startSidecar({ socketPath: path.join(fileAsDir, 'sub', 'x.sock'), dir: blocked.dir, metricsPort: null }),
    ).rejects.toThrow(/socket directory .* does not exist and cannot be created .*TELEMETRY_SOCKET/);
  });

  it('gzips when asked, rotating by size and by age; every record once', async () => {
    const { dir, socketPath, sidecar } = await start({ gzip: true, rotateBytes: 64 * 1024, flushMs: 10 });
    const lines = Array.from({ length: 1000 }, () => line());
    const socket = await connect(socketPath);
    for (let i = 0; i < lines.length; i += 50) {
      await send(
        socket,
        lines
          .slice(i, i + 50)
          .map((l) => l.text)
          .join(''),
      );
      await new Promise((r) => setTimeout(r, 2));
    }
    await finish(socket);
    await until(() => sidecar.stats().file.records === 1000);
    await sidecar.close();
    const files = readdirSync(dir).sort();
    expect(files.length).toBeGreaterThan(2);
    expect(files.every((f) => /^runtrace-\d{8}T\d{6}\.\d{3}Z-\d+-\d{6}\.ndjson\.gz$/.test(f))).toBe(true);
    expect(readFileSync(path.join(dir, files[0] as string)).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    const counts = countById(dir);
    expect(lines.every((l) => counts.get(l.id) === 1)).toBe(true);
    expect(sidecar.stats().file.rotations).toBe(files.length);

    const aged = await start({ rotateMs: 100, flushMs: 10 });
    const s2 = await connect(aged.socketPath);
    await send(s2, line().text);
    await until(() => readdirSync(aged.dir).some((f) => f.endsWith('.ndjson')), 5000, 'a file completed by age');
    await send(s2, line().text);
    await finish(s2);
    await aged.sidecar.close();
    expect(readdirSync(aged.dir).filter((f) => f.endsWith('.ndjson'))).toHaveLength(2);
  });

  it('serves Prometheus text on GET /metrics and 404 elsewhere', async () => {
    const { sidecar, socketPath } = await start();
    const socket = await connect(socketPath);
    await send(socket, line().text);
    await finish(socket);
    await until(() => sidecar.stats().file.records === 1);
    const res = await fetch(`http://127.0.0.1:${sidecar.metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    for (const name of [
      'runtrace_sidecar_records_received_total 1',
      'runtrace_sidecar_records_accepted_total 1',
      'runtrace_sidecar_bytes_received_total',
      'runtrace_sidecar_connections_total 1',
      'runtrace_sidecar_connections_active 0',
      'runtrace_sidecar_sink_records_total{sink="file"} 1',
      'runtrace_sidecar_sink_writes_total{sink="file"} 1',
      'runtrace_sidecar_sink_failures_total{sink="file"} 0',
      'runtrace_sidecar_file_rotations_total 0',
    ]) {
      expect(text).toContain(name);
    }
    expect((await fetch(`http://127.0.0.1:${sidecar.metricsPort}/other`)).status).toBe(404);
    await sidecar.close();
  });
});

describe('file recovery', () => {
  it('completes the .part files of a process that is gone (plain and gzip, cut mid-line and mid-member)', () => {
    const dir = path.join(root, 'recovery');
    mkdirSync(dir, { recursive: true });
    const dead = 2 ** 22 + 12345; // above the default pid_max: no such process
    const a = line().text;
    const b = line().text;
    writeFileSync(path.join(dir, `runtrace-20260101T000000.000Z-${dead}-000000.ndjson.part`), `${a}${b}{"protocol_ver`);
    const whole = gzipSync(Buffer.from(a + b), { level: 1 });
    const cut = gzipSync(Buffer.from(line().text), { level: 1 }).subarray(0, 20);
    writeFileSync(
      path.join(dir, `runtrace-20260101T000001.000Z-${dead}-000001.ndjson.gz.part`),
      Buffer.concat([whole, cut]),
    );
    writeFileSync(path.join(dir, `runtrace-20260101T000002.000Z-${dead}-000002.ndjson.part`), '{"partial');
    const mine = `runtrace-20260101T000003.000Z-${process.pid}-000003.ndjson.part`;
    writeFileSync(path.join(dir, mine), a);
    expect(recoverParts(dir, 'runtrace').sort()).toEqual([
      `runtrace-20260101T000000.000Z-${dead}-000000.ndjson`,
      `runtrace-20260101T000001.000Z-${dead}-000001.ndjson.gz`,
    ]);
    expect(readdirSync(dir).sort()).toEqual([
      `runtrace-20260101T000000.000Z-${dead}-000000.ndjson`,
      `runtrace-20260101T000001.000Z-${dead}-000001.ndjson.gz`,
      mine, // a live process's file is left alone
    ]);
    expect(readSinkLines(dir)).toEqual([a.trim(), b.trim(), a.trim(), b.trim()]);
  });
});

describe('ClickHouse sink', () => {
  function fakeClickHouse(failFirst = false) {
    const inserts: { table: string; values: unknown[] }[] = [];
    const commands: string[] = [];
    let closed = false;
    let fail = failFirst;
    const handle: ClickHouseHandle = {
      database: 'runtrace',
      location: 'http://clickhouse:8123/runtrace',
      client: {
        command: async ({ query }: { query: string }) => {
          commands.push(query);
          return {} as never;
        },
        insert: async ({ table, values }: { table: string; values: unknown }) => {
          if (fail) {
            fail = false;
            throw new Error('connection refused');
          }
          inserts.push({ table, values: values as unknown[] });
          return {} as never;
        },
      } as unknown as ClickHouseHandle['client'],
      close: async () => {
        closed = true;
      },
    };
    return { handle, inserts, commands, isClosed: () => closed };
  }

  it('creates its table and inserts records in batches, request and response as JSON text', async () => {
    const fake = fakeClickHouse();
    const sink = await ClickHouseSink.start(fake.handle, { batchRows: 100, flushMs: 20 });
    expect(fake.commands[0]).toMatch(/CREATE TABLE IF NOT EXISTS `runtrace`.`sidecar_provider_traces`/);
    const records = Array.from({ length: 250 }, () => JSON.parse(line().text));
    records[3].response = null;
    records[3].error = 'Rate limit exceeded';
    for (const r of records) sink.add(r);
    await sink.close();
    expect(fake.inserts.map((i) => i.values.length)).toEqual([100, 100, 50]);
    const rows = fake.inserts.flatMap((i) => i.values) as Record<string, unknown>[];
    expect(rows[0]).toMatchObject({
      provider_trace_id: records[0].provider_trace_id,
      request: JSON.stringify(records[0].request),
      response: JSON.stringify(records[0].response),
      error: null,
      timestamp: records[0].timestamp,
    });
    expect(rows[3]).toMatchObject({ response: null, error: 'Rate limit exceeded' });
    expect(sink.stats).toMatchObject({ records: 250, writes: 3, failures: 0, lostRecords: 0, pendingRows: 0 });
    expect(fake.isClosed()).toBe(true);
  });

  it('counts a failed insert and goes on', async () => {
    const fake = fakeClickHouse(true);
    const sink = await ClickHouseSink.start(fake.handle, { batchRows: 10, flushMs: 20 });
    for (let i = 0; i < 25; i++) sink.add(JSON.parse(line().text));
    await sink.close();
    expect(sink.stats).toMatchObject({ records: 15, failures: 1, lostRecords: 10 });
  });
});
