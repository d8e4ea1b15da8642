import path from 'node:path';
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { ConfigError } from '../config.ts';
import { NotImplemented } from '../errors.ts';
import { acquireChdb, CHDB_MEMORY, releaseChdb } from './chdb-engines.ts';
import { clickhouseFailure } from './clickhouse-failure.ts';
import { CLUSTER_NAME } from './render-migration.ts';

/** Where CLICKHOUSE_URL (or SIDECAR_CLICKHOUSE_URL) points. */
export type ClickHouseTarget =
  /** Embedded ClickHouse (chdb) in this process: an absolute directory, or `:memory:`. */
  | { kind: 'chdb'; path: string }
  /** A ClickHouse server over HTTP(S). `url` carries no credentials. */
  | { kind: 'server'; url: string; username: string; password: string; database: string | undefined }
  /** ClickHouse switched off: its features answer NOT_IMPLEMENTED (see {@link clickhouseOff}). */
  | { kind: 'off' };

export interface ParseClickHouseUrlOptions {
  /** RUNTRACE_DATA_DIR: an unset URL means chdb in `<dataDir>/clickhouse`. */
  dataDir: string;
  /** Relative `chdb:<dir>` paths are resolved from here. @default process.cwd() */
  cwd?: string;
  /** The variable named in errors. @default 'CLICKHOUSE_URL' */
  variable?: string;
}

/** The database Runtrace's tables live in when the URL names none. */
export const DEFAULT_CLICKHOUSE_DATABASE = 'runtrace';
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const FORMS = 'chdb:<dir>, chdb:memory, http(s)://user:password@host:port/database or off';

/** `http://u:secret@h` → `http://u:***@h`, so a password never reaches a log through an error message. */
function redact(value: string): string {
  return value.replace(/\/\/([^/@:]*):[^/@]*@/, '//$1:***@');
}

/** Parses a ClickHouse URL (CONTRACTS §1). Throws {@link ConfigError} naming the variable when it is not one of the forms. */
export function parseClickHouseUrl(value: string | undefined, options: ParseClickHouseUrlOptions): ClickHouseTarget {
  const variable = options.variable ?? 'CLICKHOUSE_URL';
  const fail = (why: string): never => {
    throw new ConfigError(`${variable}: ${why} (got "${redact(value ?? '')}"; expected ${FORMS})`);
  };
  const raw = value?.trim() ?? '';
  if (raw === '') return { kind: 'chdb', path: path.resolve(options.dataDir, 'clickhouse') };
  if (raw === 'off') return { kind: 'off' };
  if (raw.startsWith('chdb:')) {
    const dir = raw.slice('chdb:'.length);
    if (dir === 'memory' || dir === CHDB_MEMORY) return { kind: 'chdb', path: CHDB_MEMORY };
    if (!dir) return fail('chdb: needs a directory or `memory`');
    return { kind: 'chdb', path: path.resolve(options.cwd ?? process.cwd(), dir) };
  }
  if (!/^https?:\/\//i.test(raw)) return fail('unknown form');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return fail('not a valid URL');
  }
  if (!url.hostname) return fail('no host');
  if (url.search || url.hash) return fail('query parameters and fragments are not supported');
  const database = decodeURIComponent(url.pathname.replace(/^\/+|\/+$/g, ''));
  if (database && !IDENTIFIER.test(database)) return fail(`"${database}" is not a plain database name`);
  const secure = url.protocol === 'https:';
  const port = url.port || (secure ? '8443' : '8123');
  return {
    kind: 'server',
    // WHATWG keeps IPv6 hosts bracketed in `hostname`.
    url: `${url.protocol}//${url.hostname}:${port}`,
    username: decodeURIComponent(url.username) || 'default',
    password: decodeURIComponent(url.password),
    database: database || undefined,
  };
}

/**
 * The error a ClickHouse feature raises when CLICKHOUSE_URL=off.
 * @example if (target.kind === 'off') throw clickhouseOff('the clickhouse provider-trace backend');
 */
export function clickhouseOff(feature = 'ClickHouse', variable = 'CLICKHOUSE_URL'): NotImplemented {
  return new NotImplemented(
    `${feature} is not available: ClickHouse is switched off (${variable}=off); set ${variable} to chdb:<dir>, chdb:memory or http(s)://user:password@host:port/database`,
  );
}

/** One ClickHouse for Runtrace: a client plus the database its tables live in. */
export interface ClickHouse {
  /**
   * The @clickhouse/client API, for chdb and servers alike. chdb ignores the client's `database`, so every statement
   * names its tables with {@link ClickHouse.database}.
   */
  readonly client: ClickHouseClient;
  readonly kind: 'chdb' | 'server';
  /** A plain identifier (checked), safe to quote into statements. */
  readonly database: string;
  /** A human-readable place, without credentials, for logs and errors. */
  readonly location: string;
  /**
   * The cluster the tables are created ON (RUNTRACE_CLICKHOUSE_CLUSTER), servers only; undefined → a single node.
   * See render-migration.ts for what changes.
   */
  readonly cluster?: string;
  /** Releases this handle; the shared chdb engine closes with its last handle. Idempotent. */
  close(): Promise<void>;
}

export interface ConnectClickHouseOptions extends ParseClickHouseUrlOptions {
  /** CLICKHOUSE_URL as read by config (undefined → chdb in the data directory). */
  url: string | undefined;
  /**
   * The database to use and create when missing. Tests give each case its own (all chdb `:memory:` handles of one
   * process share one engine). @default the URL's database, else 'runtrace'
   */
  database?: string;
  /** RUNTRACE_CLICKHOUSE_CLUSTER: render the tables for this cluster (servers only). @default a single node */
  cluster?: string;
}

/** `db`.`table`, for a database name checked by {@link connectClickHouse}. */
export function qualified(ch: Pick<ClickHouse, 'database'>, table: string): string {
  return `\`${ch.database}\`.\`${table}\``;
}

/**
 * Connects to ClickHouse as CLICKHOUSE_URL says: chdb (embedded, in this process) or a server. Creates the database
 * when it is missing. chdb binds one data directory per process, so every handle on the same directory shares one
 * engine (reference-counted); a second directory in the same process is refused with a clear error.
 * `off` throws {@link clickhouseOff}.
 */
export async function connectClickHouse(options: ConnectClickHouseOptions): Promise<ClickHouse> {
  const variable = options.variable ?? 'CLICKHOUSE_URL';
  const target = parseClickHouseUrl(options.url, options);
  if (target.kind === 'off') throw clickhouseOff('ClickHouse', variable);
  const database =
    options.database ?? (target.kind === 'server' ? target.database : undefined) ?? DEFAULT_CLICKHOUSE_DATABASE;
  if (!IDENTIFIER.test(database)) throw new ConfigError(`${variable}: "${database}" is not a plain database name`);
  const cluster = options.cluster;
  if (cluster !== undefined && !CLUSTER_NAME.test(cluster)) {
    throw new ConfigError(`RUNTRACE_CLICKHOUSE_CLUSTER: "${cluster}" is not a plain cluster name`);
  }
  if (cluster !== undefined && target.kind !== 'server') {
    throw new ConfigError(`RUNTRACE_CLICKHOUSE_CLUSTER needs a ClickHouse server in ${variable} (chdb is one node)`);
  }

  if (target.kind === 'server') {
    const client = createClient({
      url: target.url,
      username: target.username,
      password: target.password,
      database,
      application: 'runtrace',
    });
    const location = `${target.url}/${database}`;
    try {
      await ensureDatabase(client, database, true, cluster);
    } catch (err) {
      await client.close();
      throw clickhouseFailure(err);
    }
    let closed = false;
    return {
      client,
      kind: 'server',
      database,
      location,
      ...(cluster === undefined ? {} : { cluster }),
      async close() {
        if (closed) return;
        closed = true;
        await client.close();
      },
    };
  }

  const shared = await acquireChdb(target.path, variable);
  const location = target.path === CHDB_MEMORY ? `chdb (in memory)/${database}` : `chdb ${target.path}/${database}`;
  try {
    await ensureDatabase(shared.client, database, false);
  } catch (err) {
    await releaseChdb(target.path);
    throw err;
  }
  let closed = false;
  return {
    client: shared.client,
    kind: 'chdb',
    database,
    location,
    async close() {
      if (closed) return;
      closed = true;
      await releaseChdb(target.path);
    },
  };
}

async function ensureDatabase(
  client: ClickHouseClient,
  database: string,
  checkFirst: boolean,
  cluster?: string,
): Promise<void> {
  if (checkFirst) {
    // On a server the database may be provisioned by an operator who did not grant CREATE DATABASE: look first.
    const result = await client.query({
      query: 'SELECT name FROM system.databases WHERE name = {db:String}',
      query_params: { db: database },
      format: 'JSONEachRow',
    });
    if ((await result.json()).length > 0) return;
  }
  const onCluster = cluster === undefined ? '' : ` ON CLUSTER \`${cluster}\``;
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS \`${database}\`${onCluster}` });
}
