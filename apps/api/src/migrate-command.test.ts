/**
 * Migrations as a step of their own: `pnpm runtrace migrate` applies what is pending in each configured store and
 * nothing the second time; an api with RUNTRACE_MIGRATE=off never migrates, is live but not ready on an unmigrated
 * schema, and ready once the command has run.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createLogger, createRuntime, type Runtime } from '@runtrace/core';
import { migrateClickHouse } from '@runtrace/core/clickhouse';
import { inheritedEnvironment, loadApiConfig } from '@runtrace/core/config';
import { createTestRuntime, type DatabaseTarget, databaseTargets } from '@runtrace/core/testing';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildServer } from './server.ts';

const apiDir = fileURLToPath(new URL('..', import.meta.url));
const tsx = path.join(apiDir, 'node_modules', '.bin', 'tsx');
/** Each case starts whole processes (tsx, PGlite, chdb): generous on a loaded 2-core machine. */
const TIMEOUT = 180_000;

interface Migrated {
  driver: string;
  database: string[];
  clickhouse: number[] | null;
}

let cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function runMigrate(env: Record<string, string>): Promise<Migrated> {
  const { stdout } = await promisify(execFile)(tsx, ['src/cli.ts', 'migrate', '--json'], {
    cwd: apiDir,
    env: { ...inheritedEnvironment(), ...env },
  });
  return JSON.parse(stdout) as Migrated;
}

async function serve(env: Record<string, string>, pgliteDir: string): Promise<{ url: string; runtime: Runtime }> {
  const runtime = await createRuntime({ config: loadApiConfig(env), logger: createLogger('silent'), pgliteDir });
  const app: FastifyInstance = await buildServer(runtime);
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanup.push(async () => {
    await app.close();
    await runtime.close();
  });
  return { url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, runtime };
}

async function probe(url: string) {
  const [live, ready] = await Promise.all([fetch(`${url}/healthz`), fetch(`${url}/readyz`)]);
  return { live: live.status, ready: ready.status, checks: ((await ready.json()) as { checks: unknown }).checks };
}

describe.each(databaseTargets())('pnpm runtrace migrate ($name)', { timeout: TIMEOUT }, (target) => {
  /** A fresh database: a scratch one on the server, or a PGlite directory of its own (the CLI is another process). */
  async function freshStores() {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'runtrace-migrate-'));
    const scratch = await target.create();
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }), scratch.drop);
    const env = { RUNTRACE_DATA_DIR: dataDir, DATABASE_URL: scratch.url ?? '', LOG_LEVEL: 'silent' };
    return { env, pgliteDir: path.join(dataDir, 'pgdata') };
  }

  it('applies every migration of Postgres/PGlite and ClickHouse on a fresh schema, and nothing the second time', async () => {
    const { env } = await freshStores();
    const clickhouse = { ...env, CLICKHOUSE_URL: `chdb:${path.join(env.RUNTRACE_DATA_DIR, 'clickhouse')}` };
    const first = await runMigrate(clickhouse);
    expect(first.driver).toBe(target.name);
    expect(first.database.length).toBeGreaterThan(0);
    expect(first.clickhouse?.length).toBeGreaterThan(0);
    expect(await runMigrate(clickhouse)).toEqual({ driver: target.name, database: [], clickhouse: [] });
    const { stdout } = await promisify(execFile)(tsx, ['src/cli.ts', 'migrate'], {
      cwd: apiDir,
      env: { ...inheritedEnvironment(), ...clickhouse },
    });
    expect(stdout).toBe(`${target.name}: up to date, nothing applied\nclickhouse: up to date, nothing applied\n`);
  });

  it('RUNTRACE_MIGRATE=off: an unmigrated schema leaves the api live but not ready, until migrate has run', async () => {
    const { env, pgliteDir } = await freshStores();
    const off = { ...env, CLICKHOUSE_URL: 'off', RUNTRACE_MIGRATE: 'off' };
    const before = await serve(off, pgliteDir);
    expect(await probe(before.url)).toEqual({ live: 200, ready: 503, checks: { postgres: 'migrations pending' } });
    if (target.name === 'pglite') {
      // PGlite admits one process: the api stops while the command runs (a server lets it keep serving).
      await cleanup.pop()?.();
    }
    const applied = await runMigrate(off);
    expect(applied.database.length).toBeGreaterThan(0);
    const after = target.name === 'pglite' ? await serve(off, pgliteDir) : before;
    expect(await probe(after.url)).toEqual({ live: 200, ready: 200, checks: { postgres: 'ok' } });
    // The default organization, which start-up creates when it migrates, exists: a call without a key is served.
    expect((await fetch(`${after.url}/trpc/runs.list`)).status).toBe(200);
  });
});

describe('RUNTRACE_MIGRATE=off with ClickHouse', () => {
  it('leaves ClickHouse unmigrated (/readyz: migrations pending) until its migrations are applied', async () => {
    const rt = await createTestRuntime(databaseTargets()[0] as DatabaseTarget, {
      CLICKHOUSE_URL: 'chdb:memory',
      RUNTRACE_MIGRATE: 'off',
    });
    cleanup.push(() => rt.dispose());
    const app = await buildServer(rt);
    cleanup.push(() => app.close());
    const pending = await app.inject({ url: '/readyz' });
    expect(pending.statusCode).toBe(503);
    expect(pending.json()).toEqual({
      status: 'unavailable',
      checks: { postgres: 'migrations pending', clickhouse: 'migrations pending' },
    });
    await migrateClickHouse(rt.clickhouse!, { ttlDays: 30 });
    expect((await app.inject({ url: '/readyz' })).json().checks.clickhouse).toBe('ok');
  });
});
