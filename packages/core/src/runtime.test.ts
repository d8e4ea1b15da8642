/**
 * createRuntime failing halfway closes what it had opened. Its own test file, hence its own process: the proof for
 * ClickHouse is chdb's one data directory per process (another directory opens only once every handle on the first
 * is closed), which the other suites' chdb:memory would spoil.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { connectClickHouse } from './clickhouse/connect.ts';
import { loadApiConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { createRuntime } from './runtime.ts';
import { freeTcpPort } from './testing/free-tcp-port.ts';
import { databaseTargets } from './testing/index.ts';

const root = mkdtempSync(path.join(tmpdir(), 'runtrace-runtime-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const logger = createLogger('silent');
let directories = 0;

/** A chdb directory not used before in this process. */
const chdbUrl = () => `chdb:${path.join(root, `chdb-${++directories}`)}`;

/** Resolves only when no chdb engine is left open in this process: it opens (and closes) one on a new directory. */
async function noChdbLeftOpen(): Promise<void> {
  const other = await connectClickHouse({ url: chdbUrl(), dataDir: root });
  await other.close();
}

/** Nothing listens there: connecting is refused at once. */
const closedRedisUrl = async () => `redis://127.0.0.1:${await freeTcpPort()}`;

describe.each(databaseTargets())('createRuntime failing after $name is open', (target) => {
  it('closes the database, ClickHouse and the telemetry backends when Redis cannot be reached, then throws', async () => {
    const scratch = await target.create();
    const pgliteDir = scratch.url ? 'memory' : path.join(root, `pgdata-${++directories}`);
    const env = {
      ...(scratch.url ? { DATABASE_URL: scratch.url } : {}),
      RUNTRACE_DATA_DIR: root,
      CLICKHOUSE_URL: chdbUrl(),
      TELEMETRY_PROVIDER_TRACE_BACKEND: 'postgres,clickhouse',
    };
    try {
      // Without the runtime's own ClickHouse (as the CLI opens it), the clickhouse backend opens its own handle: only
      // closing the telemetry backends releases it.
      await expect(
        createRuntime({
          config: loadApiConfig({ ...env, REDIS_URL: await closedRedisUrl() }),
          logger,
          pgliteDir,
          clickhouse: false,
        }),
      ).rejects.toThrow(/cannot connect to Redis/);
      await noChdbLeftOpen();

      // With it (as the api opens it): the runtime's handle, shared with the backend, is released as well.
      env.CLICKHOUSE_URL = chdbUrl();
      await expect(
        createRuntime({ config: loadApiConfig({ ...env, REDIS_URL: await closedRedisUrl() }), logger, pgliteDir }),
      ).rejects.toThrow(/cannot connect to Redis/);
      await noChdbLeftOpen();

      if (scratch.url) {
        expect(await sessionsOn(scratch.url)).toBe(0);
      }
      // The same database (for PGlite, the same data directory) serves a runtime that starts.
      const runtime = await createRuntime({
        config: loadApiConfig({ ...env, CLICKHOUSE_URL: 'off', TELEMETRY_PROVIDER_TRACE_BACKEND: 'postgres' }),
        logger,
        pgliteDir,
      });
      try {
        expect((await runtime.readiness()).ready).toBe(true);
      } finally {
        await runtime.close();
      }
    } finally {
      await scratch.drop();
    }
  });
});

describe('createRuntime whose database cannot be reached', () => {
  it('closes the ClickHouse it opened meanwhile, then throws the database error', async () => {
    const config = loadApiConfig({
      DATABASE_URL: `postgres://postgres@127.0.0.1:${await freeTcpPort()}/nothing`,
      RUNTRACE_DB_CONNECT_TIMEOUT_MS: '2000',
      RUNTRACE_DATA_DIR: root,
      CLICKHOUSE_URL: chdbUrl(),
    });
    await expect(createRuntime({ config, logger })).rejects.toThrow();
    await noChdbLeftOpen();
  });
});

/** Sessions connected to the database `url` names, other than the one asking; waits a moment for closing ones. */
async function sessionsOn(url: string): Promise<number> {
  const name = new URL(url).pathname.slice(1);
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    let count = Number.NaN;
    for (let attempt = 0; attempt < 20; attempt++) {
      const [row] =
        await sql`select count(*)::int as n from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`;
      count = row?.n as number;
      if (count === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return count;
  } finally {
    await sql.end();
  }
}
