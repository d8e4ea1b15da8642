import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { connectClickHouse } from '../clickhouse/connect.ts';
import { loadApiConfig, loadToolConfig } from '../config.ts';
import { createLogger } from '../logger.ts';
import { createRuntime, type Runtime } from '../runtime.ts';
import { MemoryRunStream } from '../streams/memory.ts';
import { RedisRunStream } from '../streams/redis-run-stream.ts';
import { streamKey } from '../streams/redis-scripts.ts';
import type { RunStream, RunStreamOptions } from '../streams/run-stream.ts';

/** A database a suite can run against: embedded PGlite always, a real Postgres when DATABASE_URL is set. */
export interface DatabaseTarget {
  name: 'pglite' | 'postgres';
  /** A fresh, empty database for one suite; `drop` removes it. */
  create(): Promise<{ url: string | undefined; pgliteDir: string; drop(): Promise<void> }>;
}

/** The test process's own configuration (DATABASE_URL, REDIS_URL, RUNTRACE_REQUIRE_SERVICES). */
export const testConfig = loadToolConfig();

/**
 * The drivers every database suite runs on (CONTRACTS: both drivers, one suite).
 * Without DATABASE_URL only PGlite runs, unless RUNTRACE_REQUIRE_SERVICES=1, which makes the absence an error.
 */
export function databaseTargets(): DatabaseTarget[] {
  const targets: DatabaseTarget[] = [
    { name: 'pglite', create: async () => ({ url: undefined, pgliteDir: 'memory', drop: async () => {} }) },
  ];
  const serverUrl = testConfig.databaseUrl;
  if (serverUrl) {
    targets.push({ name: 'postgres', create: () => createScratchDatabase(serverUrl) });
  } else if (testConfig.requireServices) {
    throw new Error('RUNTRACE_REQUIRE_SERVICES=1 but DATABASE_URL is not set: the Postgres suites cannot run');
  }
  return targets;
}

/** `CREATE DATABASE t_<random>` on the server, dropped WITH (FORCE) afterwards. */
export async function createScratchDatabase(serverUrl: string) {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } catch (err) {
    await admin.end();
    throw new Error(`cannot create a test database on ${new URL(serverUrl).host}: ${(err as Error).message}`);
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    pgliteDir: 'memory',
    async drop() {
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}

export interface TestRuntime extends Runtime {
  /** Closes the runtime and drops its scratch database. */
  dispose(): Promise<void>;
}

/**
 * A Runtime on a fresh database of `target`, with silent logs, callbacks allowed to reach loopback, and the OTLP/gRPC
 * receiver of a server built on it on a free port.
 */
export async function createTestRuntime(
  target: DatabaseTarget,
  overrides: Record<string, string> = {},
): Promise<TestRuntime> {
  const scratch = await target.create();
  const config = loadApiConfig({
    RUNTRACE_CALLBACK_ALLOW_PRIVATE: '1',
    // ClickHouse only where a suite asks for it (e.g. CLICKHOUSE_URL: 'chdb:memory', see clickhouseTargets()).
    CLICKHOUSE_URL: 'off',
    // The OTLP/gRPC receiver on a free port: test files run side by side (4317 would be taken by the first).
    RUNTRACE_OTLP_GRPC_PORT: '0',
    ...overrides,
    ...(scratch.url ? { DATABASE_URL: scratch.url } : {}),
  });
  // Every runtime gets a database of its own: all chdb `:memory:` handles of a process share one engine.
  const clickhouseDatabase = config.clickhouseUrl === 'off' ? undefined : `t_${randomBytes(6).toString('hex')}`;
  const runtime = await createRuntime({
    config: { ...config, databaseUrl: scratch.url },
    logger: createLogger(overrides.LOG_LEVEL ?? 'silent'),
    pgliteDir: scratch.pgliteDir,
    clickhouseDatabase,
  });
  return {
    ...runtime,
    async dispose() {
      // A second handle keeps the (shared) engine open past the runtime's close, to drop the scratch database.
      const keeper =
        runtime.clickhouse &&
        (await connectClickHouse({ url: config.clickhouseUrl, dataDir: config.dataDir, database: clickhouseDatabase }));
      await runtime.close();
      await scratch.drop();
      if (keeper) {
        try {
          await keeper.client.command({ query: `DROP DATABASE IF EXISTS \`${keeper.database}\`` });
        } finally {
          await keeper.close();
        }
      }
    },
  };
}

/** A run-stream store a suite can run against: the in-process broker always, Redis when REDIS_URL is set. */
export interface StreamTarget {
  name: 'memory' | 'redis';
  /** Environment for {@link createTestRuntime} selecting this store. */
  env: Record<string, string>;
  /** A fresh store (the suite closes it). */
  create(options?: RunStreamOptions): Promise<RunStream>;
  /** Loses a run's stream as a Redis restart would (memory: drop it; Redis: DEL the key). */
  lose(stream: RunStream, runId: string): Promise<void>;
  /** How many reads the store holds resources for (memory: waiting readers; Redis: runs its hub reads). */
  held(stream: RunStream): number;
  /** The store hands out events with the JSON it read them from (serializedRunEvent). */
  keepsJson?: boolean;
}

/** Redis at `url` as a stream target; `cluster`: `url` is a node of a Redis Cluster (RUNTRACE_REDIS_CLUSTER). */
export function redisStreamTarget(url: string, cluster = false): StreamTarget {
  return {
    name: 'redis',
    env: cluster ? { REDIS_URL: url, RUNTRACE_REDIS_CLUSTER: '1' } : { REDIS_URL: url },
    keepsJson: true,
    create: (options) => RedisRunStream.connect({ url, cluster, ...options }),
    lose: async (stream, runId) => {
      if (!(stream instanceof RedisRunStream)) throw new Error('not a Redis stream');
      await stream.client.del(streamKey(runId));
    },
    held: (stream) => {
      if (!(stream instanceof RedisRunStream)) throw new Error('not a Redis stream');
      return stream.stats().hubRuns;
    },
  };
}

/**
 * The stores every stream suite runs on. Without REDIS_URL only memory runs, unless RUNTRACE_REQUIRE_SERVICES=1,
 * which makes the absence an error.
 */
export function streamTargets(): StreamTarget[] {
  const targets: StreamTarget[] = [
    {
      name: 'memory',
      env: {},
      create: async (options) => new MemoryRunStream(options),
      lose: async (stream, runId) => {
        if (!(stream instanceof MemoryRunStream)) throw new Error('not a memory stream');
        stream.drop(runId);
      },
      held: (stream) => {
        if (!(stream instanceof MemoryRunStream)) throw new Error('not a memory stream');
        return stream.stats().waitingReaders;
      },
    },
  ];
  const url = testConfig.redisUrl;
  if (url) {
    targets.push(redisStreamTarget(url));
  } else if (testConfig.requireServices) {
    throw new Error('RUNTRACE_REQUIRE_SERVICES=1 but REDIS_URL is not set: the Redis stream suites cannot run');
  }
  return targets;
}

export * from '../clickhouse/testing.ts';
/** Well-formed ids for tests. */
export { newId } from '../ids.ts';
export * from './ai-sdk-fixtures.ts';
export * from './free-tcp-port.ts';
export * from './otlp-spans.ts';
export * from './private-redis.ts';
export * from './sample-traces.ts';
