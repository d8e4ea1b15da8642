import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite, types } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import { type PgDatabase, PgDialect, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { QUERY_DEADLINE } from './database-unavailable.ts';
import * as schema from './schema.ts';

export type Schema = typeof schema;
/** The drizzle database both drivers produce; managers take this (or a transaction, which is one). */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface Database {
  /** Every query bounded in time (ConnectOptions): an outage answers Unavailable instead of hanging. */
  readonly db: Db;
  /** The same pool without the client-side query deadline nor statement timeout, for migrations only. */
  readonly unboundedDb: Db;
  readonly driver: 'postgres' | 'pglite';
  /** A human-readable place, without credentials, for start-up logs. */
  readonly location: string;
  /**
   * Runs `work` on one connection held for its whole duration: what session-level state needs (an advisory lock
   * taken by `pg_try_advisory_lock` is released by the same connection only). Queries keep the session's statement
   * timeout but not the client-side deadline. PGlite has one connection: `work` gets {@link db}.
   */
  withSession<T>(work: (db: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** `postgres://…` → postgres.js; absent → PGlite. */
  url?: string | undefined;
  /** PGlite's directory, or `memory`. Ignored when `url` is given. */
  pgliteDir?: string;
  /** postgres.js pool size. @default 10 */
  maxConnections?: number;
  /** Longest wait for a new connection to open. @default 5000 */
  connectTimeoutMs?: number;
  /** The sessions' `statement_timeout`. @default 10000 */
  statementTimeoutMs?: number;
  /**
   * Longest wait of a query for a pooled connection. A query (or a transaction's start) that has not completed
   * within this plus the statement timeout is abandoned (cancelled where possible) and fails as Unavailable: a
   * server that stopped answering cannot hold callers longer. @default 5000
   */
  acquireTimeoutMs?: number;
}

function deadlineError(ms: number): Error {
  return Object.assign(new Error(`the database did not answer within ${ms} ms`), { code: QUERY_DEADLINE });
}

/** `promise`, rejected with a deadline error after `ms` (then `onTimeout` runs, e.g. to cancel the query). */
function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => void = () => {}): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(deadlineError(ms));
    }, ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * postgres.js has no bound on how long a query waits for a connection, and none at all when the server stops
 * answering without closing its sockets. This gives every query drizzle sends (`unsafe`) and every transaction start
 * (`begin`) a deadline; the query stays the driver's own object, since drizzle calls `.values()` on it.
 */
function boundedSql(client: postgres.Sql, ms: number): postgres.Sql {
  const bound = (sql: postgres.Sql): postgres.Sql =>
    new Proxy(sql, {
      get(target, property, receiver) {
        if (property === 'unsafe') {
          return (...args: Parameters<postgres.Sql['unsafe']>) => {
            const query = target.unsafe(...args);
            const then = query.then;
            // Promise's catch/finally and await all go through then: the deadline starts when the query is run.
            // biome-ignore lint/suspicious/noThenProperty: the query must stay the driver's own object (drizzle calls .values() on it)
            query.then = ((onFulfilled, onRejected) =>
              withTimeout(then.call(query) as Promise<Awaited<typeof query>>, ms, () => {
                void Promise.resolve(query.cancel()).catch(() => {});
              }).then(onFulfilled, onRejected)) as typeof query.then;
            return query;
          };
        }
        if (property === 'begin') {
          return (...args: unknown[]) => {
            const body = args.pop() as (tx: postgres.TransactionSql) => unknown;
            let abandoned = false;
            let started = false;
            const transaction = (target.begin as (...a: unknown[]) => Promise<unknown>)(
              ...args,
              (tx: postgres.TransactionSql) => {
                started = true;
                // Too late: the caller has been answered; roll back rather than write behind its back.
                if (abandoned) throw deadlineError(ms);
                return body(bound(tx as unknown as postgres.Sql) as unknown as postgres.TransactionSql);
              },
            );
            let timer: NodeJS.Timeout | undefined;
            const acquiring = new Promise<never>((_, reject) => {
              timer = setTimeout(() => {
                if (started) return;
                abandoned = true;
                reject(deadlineError(ms));
              }, ms);
            });
            return Promise.race([transaction, acquiring]).finally(() => clearTimeout(timer));
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
  return bound(client);
}

/** Opens the database: a server when a URL is given, otherwise PGlite persisted in a directory (or in memory). */
export async function connectDatabase(options: ConnectOptions): Promise<Database> {
  if (options.url) {
    const statementTimeoutMs = options.statementTimeoutMs ?? 10_000;
    const client = postgres(options.url, {
      max: options.maxConnections ?? 10,
      onnotice: () => {},
      connect_timeout: (options.connectTimeoutMs ?? 5_000) / 1000,
      // The default backoff grows to 20 s between attempts: recovery would lag that far behind the server's return.
      backoff: () => 0.25,
      connection: { TimeZone: 'UTC', application_name: 'runtrace', statement_timeout: statementTimeoutMs },
    });
    const url = new URL(options.url);
    const deadlineMs = (options.acquireTimeoutMs ?? 5_000) + statementTimeoutMs;
    return {
      db: drizzlePostgres(boundedSql(client, deadlineMs), { schema }) as unknown as Db,
      unboundedDb: drizzlePostgres(client, { schema }) as unknown as Db,
      driver: 'postgres',
      location: `postgres://${url.host}${url.pathname}`,
      withSession: async (work) => {
        const reserved = await withTimeout(client.reserve(), deadlineMs);
        // drizzle sets its parsers on `options`, which a reserved connection lacks but shares with its pool (whose
        // parsers drizzle has set already): the same object, so the session parses exactly as the pool does.
        Object.assign(reserved, { options: client.options });
        try {
          return await work(drizzlePostgres(reserved, { schema }) as unknown as Db);
        } finally {
          reserved.release();
        }
      },
      close: () => client.end({ timeout: 5 }),
    };
  }
  const dir = options.pgliteDir ?? 'memory';
  const releaseLock = dir === 'memory' ? () => {} : lockDirectory(path.resolve(dir));
  // Timestamps stay text, as postgres.js gives them: a Date would drop the microseconds.
  const raw = (value: string) => value;
  const parsers = { [types.TIMESTAMP]: raw, [types.TIMESTAMPTZ]: raw, [types.DATE]: raw };
  const client = dir === 'memory' ? new PGlite({ parsers }) : new PGlite(path.resolve(dir), { parsers });
  try {
    await client.waitReady;
    await client.exec(`SET TIME ZONE 'UTC'`);
  } catch (err) {
    releaseLock();
    throw err;
  }
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    db,
    unboundedDb: db,
    driver: 'pglite',
    location: dir === 'memory' ? 'pglite (in memory)' : `pglite ${path.resolve(dir)}`,
    withSession: (work) => work(db),
    close: async () => {
      try {
        await client.close();
      } finally {
        releaseLock();
      }
    },
  };
}

/**
 * PGlite has no server to arbitrate between processes: a second process opening the same directory would corrupt
 * it. A `<dir>.lock` file holding the owner's pid refuses that with a clear message; a stale lock is taken over.
 */
function lockDirectory(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const lockPath = `${dir}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      return () => rmSync(lockPath, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(lockPath, 'utf8'));
      if (owner && owner !== process.pid && isAlive(owner)) {
        throw new Error(
          `the embedded database at ${dir} is in use by process ${owner}; stop it, or set DATABASE_URL to share a Postgres server`,
        );
      }
      rmSync(lockPath, { force: true });
    }
  }
  throw new Error(`cannot lock ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** postgres.js answers raw queries with an array, PGlite with `{ rows }`. */
const dialect = new PgDialect();

/**
 * Runs a read as a prepared statement where the driver has them (postgres.js pools; PGlite and transactions run it
 * as {@link Db.execute} does): Postgres parses and plans it once per connection, and the driver no longer asks it to
 * describe the result's columns on every call (on runs.list, a page of 100, that was a tenth of the api's CPU per page).
 * A prepared statement lives as long as its connection, one per distinct text: only queries whose text comes from a
 * small fixed set may come here.
 */
export async function executePrepared<T>(db: Db, query: SQL): Promise<T[]> {
  const client = (db as { $client?: { unsafe?: unknown } }).$client;
  if (typeof client?.unsafe !== 'function') return rowsOf<T>(await db.execute(query));
  const { sql: text, params } = dialect.sqlToQuery(query);
  return (await (client as postgres.Sql).unsafe(text, params as postgres.ParameterOrJSON<never>[], {
    prepare: true,
  })) as unknown as T[];
}

export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
