import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { buildServer, otlpGrpcPort } from '@runtrace/api';
import { createRuntraceClient, type RuntraceClient } from '@runtrace/client';
import { createLogger, createRuntime, type Runtime } from '@runtrace/core';
import type { ApiConfig } from '@runtrace/core/config';
import { createScratchDatabase } from '@runtrace/core/testing';
import postgres from 'postgres';

/** Where the bench runs when DATABASE_URL is unset, if a server answers there (the project's CI and dev machines). */
export const FALLBACK_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** Resources released in reverse order of creation, once, whether the bench ends, fails or is interrupted. */
export class Cleanup {
  readonly #steps: { name: string; fn: () => Promise<unknown>; timeoutMs: number }[] = [];
  #running: Promise<void> | null = null;

  /** `timeoutMs`: how long the step may take before the next one runs (it goes on in the background). */
  add(name: string, fn: () => Promise<unknown>, timeoutMs = 10_000) {
    this.#steps.push({ name, fn, timeoutMs });
  }

  run(): Promise<void> {
    this.#running ??= (async () => {
      for (const step of this.#steps.reverse()) {
        try {
          await withTimeout(step.fn(), step.timeoutMs, step.name);
        } catch (err) {
          console.error(`  cleanup: ${step.name} failed: ${(err as Error).message}`);
        }
      }
    })();
    return this.#running;
  }
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The database URL without credentials, for output. */
export function describeUrl(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/**
 * DATABASE_URL, or the fallback server when DATABASE_URL is unset and that server answers. The bench needs a real
 * Postgres: a million rows on PGlite would measure WASM, not Runtrace.
 */
export async function resolveServerUrl(config: ApiConfig, log: (line: string) => void): Promise<string> {
  if (config.databaseUrl) return config.databaseUrl;
  log(`DATABASE_URL is not set: the bench needs a Postgres server. Trying ${FALLBACK_DATABASE_URL} …`);
  const probe = postgres(FALLBACK_DATABASE_URL, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await probe`select 1`;
  } catch (err) {
    throw new Error(
      `no Postgres at ${FALLBACK_DATABASE_URL} (${(err as Error).message}). Set DATABASE_URL=postgres://… to a server where ` +
        'the bench may create and drop a scratch database.',
    );
  } finally {
    await probe.end({ timeout: 1 });
  }
  log(`  reachable: using ${FALLBACK_DATABASE_URL} (set DATABASE_URL to choose another server)`);
  return FALLBACK_DATABASE_URL;
}

export interface BenchEnvironment {
  /** The scratch database, e.g. `postgres://127.0.0.1:5432/t_0a1b2c3d4e5f`. */
  databaseUrl: string;
  /** The api listening on 127.0.0.1, in this process. */
  apiUrl: string;
  /** Its OTLP/gRPC receiver's address (`127.0.0.1:<free port>`), or null with RUNTRACE_OTLP_GRPC_PORT=off. */
  otlpGrpcAddress: string | null;
  runtime: Runtime;
  /** A pool on the scratch database for seeding and the SQL baselines (sessions in UTC). */
  sql: postgres.Sql;
  /** Opens another pool of `max` connections on the scratch database; it is closed with the environment. */
  pool(max: number): postgres.Sql;
  /** `n` independent clients: one per worker, so concurrent calls are never merged into one batched request. */
  clients(n: number): RuntraceClient[];
}

const poolOptions = { onnotice: () => {}, connection: { TimeZone: 'UTC', application_name: 'runtrace-bench' } };

/**
 * A scratch database on the server (created with core's createScratchDatabase, dropped at cleanup), migrated by
 * createRuntime, and the api built by buildServer listening on an ephemeral port.
 */
export async function openEnvironment(
  serverUrl: string,
  config: ApiConfig,
  cleanup: Cleanup,
  log: (line: string) => void,
  keep = false,
): Promise<BenchEnvironment> {
  const scratch = await createScratchDatabase(serverUrl);
  let dropped = false;
  cleanup.add(
    'drop the scratch database',
    async () => {
      if (dropped) return;
      dropped = true;
      if (keep) {
        log(`  kept scratch database ${describeUrl(scratch.url)} (--keep): drop it with DROP DATABASE … WITH (FORCE)`);
        return;
      }
      await scratch.drop();
      log(`  dropped scratch database ${describeUrl(scratch.url)}`);
      // The analytics section leaves ~6 GB: removing its files takes more than the usual 10 s on a busy disk.
    },
    300_000,
  );
  log(`  scratch database ${describeUrl(scratch.url)} (createScratchDatabase from @runtrace/core/testing)`);

  const pools: postgres.Sql[] = [];
  const pool = (max: number) => {
    const p = postgres(scratch.url, { ...poolOptions, max });
    pools.push(p);
    return p;
  };
  cleanup.add('close the SQL pools', () => Promise.all(pools.map((p) => p.end({ timeout: 2 }))));
  const sql = pool(8);

  // ClickHouse: the server CLICKHOUSE_URL names, else chdb in memory (never the data directory a real api may hold),
  // in a scratch database of its own that goes with the bench.
  const clickhouseUrl = /^https?:\/\//i.test(config.clickhouseUrl ?? '') ? config.clickhouseUrl : 'chdb:memory';
  const clickhouseDatabase = `bench_${randomBytes(6).toString('hex')}`;
  const runtime = await createRuntime({
    // The bench's own api: no keys needed, whatever RUNTRACE_AUTH says for the real one. The seeded runs are
    // backdated background runs without streams: the stale-run sweep would fail them all mid-measurement, so the
    // bench's runtime does not sweep (a day between sweeps, a year of silence allowed).
    config: {
      ...config,
      databaseUrl: scratch.url,
      auth: 'optional',
      clickhouseUrl,
      // where the api's HTTP port is, and like it a free one: 4317 may be a real api's
      host: '127.0.0.1',
      otlpGrpcPort: 0,
      streamStaleAfterMs: 365 * 24 * 3600 * 1000,
      streamSweepIntervalMs: 24 * 3600 * 1000,
      // The purge section runs a retention job of its own and times it: the runtime's must not start a pass meanwhile.
      retentionIntervalMs: 24 * 3600 * 1000,
    },
    logger: createLogger('warn', 'runtrace-bench'),
    clickhouseDatabase,
  });
  cleanup.add('close the runtime', async () => {
    // dropped while the runtime's handle keeps the (embedded) engine open, after the last spans are written
    await runtime.traces.flush();
    await runtime.clickhouse?.client.command({ query: `DROP DATABASE IF EXISTS \`${clickhouseDatabase}\`` });
    await runtime.close();
  });
  log(
    `  migrated with createRuntime (${runtime.database.location}; ClickHouse ${runtime.clickhouse?.location ?? 'off'})`,
  );

  const app = await buildServer(runtime);
  await app.listen({ host: '127.0.0.1', port: 0 });
  cleanup.add('close the api', () => app.close());
  const { port } = app.server.address() as AddressInfo;
  const apiUrl = `http://127.0.0.1:${port}`;
  const grpcPort = otlpGrpcPort(app);
  const otlpGrpcAddress = grpcPort === null ? null : `127.0.0.1:${grpcPort}`;
  log(
    `  api listening on ${apiUrl}, OTLP/gRPC on ${otlpGrpcAddress ?? 'none'} (buildServer from @runtrace/api, in this process)`,
  );

  const clientPool: RuntraceClient[] = [];
  return {
    databaseUrl: scratch.url,
    apiUrl,
    otlpGrpcAddress,
    runtime,
    sql,
    pool,
    clients(n) {
      while (clientPool.length < n) clientPool.push(createRuntraceClient({ url: apiUrl }));
      return clientPool.slice(0, n);
    },
  };
}
