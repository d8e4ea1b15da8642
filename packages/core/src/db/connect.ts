import { mkdirSync } from 'node:fs';
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
  if (dir !== 'memory') mkdirSync(dir, { recursive: true });
  // Timestamps stay text, as postgres.js gives them: a Date would drop the microseconds.
  const raw = (value: string) => value;
  const parsers = { [types.TIMESTAMP]: raw, [types.TIMESTAMPTZ]: raw, [types.DATE]: raw };
  const client = dir === 'memory' ? new PGlite({ parsers }) : new PGlite(path.resolve(dir), { parsers });
  await client.waitReady;
  await client.exec(`SET TIME ZONE 'UTC'`);
  return {
    db: drizzlePglite(client, { schema }) as unknown as Db,
    driver: 'pglite',
    location: dir === 'memory' ? 'pglite (in memory)' : `pglite ${path.resolve(dir)}`,
    close: () => client.close(),
  };
}
