/**
 * chdb on data directories. Its own test file, hence its own process: chdb binds one data directory per process,
 * and the other ClickHouse suites use chdb:memory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Unavailable } from '../errors.ts';
import { freeTcpPort } from '../testing/free-tcp-port.ts';
import { type ClickHouse, connectClickHouse, qualified } from './connect.ts';
import { migrateClickHouse, readClickHouseMigrations } from './migrate.ts';

const root = mkdtempSync(path.join(tmpdir(), 'runtrace-chdb-'));
const packageDir = fileURLToPath(new URL('../..', import.meta.url));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function count(ch: ClickHouse, table: string): Promise<number> {
  const result = await ch.client.query({
    query: `SELECT count() AS n FROM ${qualified(ch, table)}`,
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ n: string | number }>();
  return Number(row?.n);
}

describe('chdb on a data directory', () => {
  it('defaults to <dataDir>/clickhouse, keeps data across reopen, and shares the engine between handles', async () => {
    const dataDir = path.join(root, 'data');
    const one = await connectClickHouse({ url: undefined, dataDir });
    expect(one.location).toBe(`chdb ${path.join(dataDir, 'clickhouse')}/runtrace`);
    await migrateClickHouse(one, { ttlDays: 30 });
    const two = await connectClickHouse({ url: `chdb:${path.join(dataDir, 'clickhouse')}`, dataDir: root });
    expect(two.client).toBe(one.client);
    await one.close();
    expect(await count(two, 'runtrace_migrations')).toBe(readClickHouseMigrations().length);
    await two.close();

    const again = await connectClickHouse({ url: undefined, dataDir });
    try {
      expect(await count(again, 'runtrace_migrations')).toBe(readClickHouseMigrations().length);
      expect(await migrateClickHouse(again, { ttlDays: 30 })).toEqual([]);
    } finally {
      await again.close();
    }
  });

  it('refuses a second directory in the same process, naming the variable; another opens once the first is closed', async () => {
    const first = await connectClickHouse({ url: `chdb:${path.join(root, 'first')}`, dataDir: root });
    await expect(
      connectClickHouse({
        url: `chdb:${path.join(root, 'second')}`,
        dataDir: root,
        variable: 'SIDECAR_CLICKHOUSE_URL',
      }),
    ).rejects.toThrow(/^SIDECAR_CLICKHOUSE_URL: .*one data directory per process/);
    await expect(connectClickHouse({ url: 'chdb:memory', dataDir: root })).rejects.toThrow(/^CLICKHOUSE_URL: /);
    await first.close();
    const second = await connectClickHouse({ url: `chdb:${path.join(root, 'second')}`, dataDir: root });
    expect(await count(second, 'runtrace_migrations').catch(() => 'none')).toBe('none');
    await second.close();
  });

  it('says clearly when another process holds the directory', async () => {
    const dir = path.join(root, 'held');
    const holder: ChildProcess = spawn(
      process.execPath,
      [
        '-e',
        `const { createChdbConnection } = require('chdb/connection');
         createChdbConnection({ path: ${JSON.stringify(dir)} });
         process.stdout.write('ready\\n');
         setInterval(() => {}, 1000);`,
      ],
      { cwd: packageDir, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
        holder.on('exit', (code) => reject(new Error(`the holder exited with ${code}`)));
      });
      await expect(connectClickHouse({ url: `chdb:${dir}`, dataDir: root })).rejects.toMatchObject({
        code: 'UNAVAILABLE',
        message: expect.stringMatching(/in use by another process.*CLICKHOUSE_URL/),
      });
    } finally {
      holder.kill();
    }
    // the failed attempt left nothing behind: the directory opens once the holder is gone
    await new Promise((r) => holder.once('exit', r));
    const ch = await connectClickHouse({ url: `chdb:${dir}`, dataDir: root });
    await ch.close();
  });
});

describe('a ClickHouse server that cannot be reached', () => {
  it('is Unavailable naming the kind of failure and "retry later" (not the location: for chdb a directory of the server), the driver error kept as the cause (for the log)', async () => {
    const port = await freeTcpPort();
    const failure = await connectClickHouse({ url: `http://127.0.0.1:${port}/runtrace`, dataDir: root }).catch(
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(Unavailable);
    expect((failure as Error).message).toBe('ClickHouse is unavailable (ECONNREFUSED); retry later');
    expect(String(((failure as Error).cause as Error | undefined)?.message)).toMatch(/ECONNREFUSED|connect/i);
  });
});
