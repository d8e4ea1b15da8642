import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite, types } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from './schema.ts';

export type Schema = typeof schema;
/** The drizzle database both drivers produce; managers take this (or a transaction, which is one). */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface Database {
  readonly db: Db;
  readonly driver: 'postgres' | 'pglite';
  /** A human-readable place, without credentials, for start-up logs. */
  readonly location: string;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** `postgres://…` → postgres.js; absent → PGlite. */
  url?: string | undefined;
  /** PGlite's directory, or `memory`. Ignored when `url` is given. */
  pgliteDir?: string;
  /** postgres.js pool size. @default 10 */
  maxConnections?: number;
}

/** Opens the database: a server when a URL is given, otherwise PGlite persisted in a directory (or in memory). */
export async function connectDatabase(options: ConnectOptions): Promise<Database> {
  if (options.url) {
    const client = postgres(options.url, {
      max: options.maxConnections ?? 10,
      onnotice: () => {},
      connection: { TimeZone: 'UTC', application_name: 'runtrace' },
    });
    const url = new URL(options.url);
    return {
      db: drizzlePostgres(client, { schema }) as unknown as Db,
      driver: 'postgres',
      location: `postgres://${url.host}${url.pathname}`,
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
  return {
    db: drizzlePglite(client, { schema }) as unknown as Db,
    driver: 'pglite',
    location: dir === 'memory' ? 'pglite (in memory)' : `pglite ${path.resolve(dir)}`,
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
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
