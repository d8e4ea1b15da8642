import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { ConfigError } from '../config.ts';
import { DomainError, NotImplemented, Unavailable } from '../errors.ts';

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
const MEMORY = ':memory:';
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
    if (dir === 'memory' || dir === MEMORY) return { kind: 'chdb', path: MEMORY };
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
      await ensureDatabase(client, database, true);
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
      async close() {
        if (closed) return;
        closed = true;
        await client.close();
      },
    };
  }

  const shared = await acquireChdb(target.path, variable);
  const location = target.path === MEMORY ? `chdb (in memory)/${database}` : `chdb ${target.path}/${database}`;
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

async function ensureDatabase(client: ClickHouseClient, database: string, checkFirst: boolean): Promise<void> {
  if (checkFirst) {
    // On a server the database may be provisioned by an operator who did not grant CREATE DATABASE: look first.
    const result = await client.query({
      query: 'SELECT name FROM system.databases WHERE name = {db:String}',
      query_params: { db: database },
      format: 'JSONEachRow',
    });
    if ((await result.json()).length > 0) return;
  }
  await client.command({ query: `CREATE DATABASE IF NOT EXISTS \`${database}\`` });
}

// ---- the process-wide chdb engine ------------------------------------------------------------------------------

interface SharedChdb {
  client: ClickHouseClient;
}
interface ChdbEntry {
  refs: number;
  ready: Promise<SharedChdb>;
}

/** chdb allows one data directory per process: every handle on it shares this entry. */
const chdbEngines = new Map<string, ChdbEntry>();
/** The last engine's shutdown; opening another directory waits for it (chdb requires the old one fully gone). */
let chdbClosing: Promise<void> = Promise.resolve();

async function acquireChdb(dir: string, variable: string): Promise<SharedChdb> {
  let entry = chdbEngines.get(dir);
  if (!entry) {
    const [other] = chdbEngines.keys();
    if (other !== undefined) {
      throw new ConfigError(
        `${variable}: this process already has the embedded ClickHouse open at ${other === MEMORY ? 'chdb:memory' : other}; ` +
          `chdb allows one data directory per process, so use the same one or a ClickHouse server (http(s)://…)`,
      );
    }
    const created: ChdbEntry = { refs: 0, ready: openChdb(dir, variable) };
    created.ready.catch(() => {
      if (chdbEngines.get(dir) === created) chdbEngines.delete(dir);
    });
    chdbEngines.set(dir, created);
    entry = created;
  }
  entry.refs += 1;
  try {
    return await entry.ready;
  } catch (err) {
    entry.refs -= 1;
    throw err;
  }
}

async function releaseChdb(dir: string): Promise<void> {
  const entry = chdbEngines.get(dir);
  if (!entry) return;
  entry.refs -= 1;
  if (entry.refs > 0) return;
  chdbEngines.delete(dir);
  const closing = (async () => {
    const { client } = await entry.ready;
    await client.close();
    // chdb: after close, wait until the engine has really let go before another directory may be opened.
    const { drainPending } = await import('chdb');
    await drainPending();
  })();
  chdbClosing = closing.catch(() => {});
  await closing;
}

async function openChdb(dir: string, variable: string): Promise<SharedChdb> {
  await chdbClosing;
  // Loaded only when embedded ClickHouse is used: the engine is a ~500 MB native library.
  const { createChdbConnection } = await import('chdb/connection');
  if (dir !== MEMORY) mkdirSync(dir, { recursive: true });
  let connection: ReturnType<typeof createChdbConnection>;
  try {
    connection = createChdbConnection({ path: dir });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // chdb prints the reason to stderr only; a directory held by another engine names its owner in `status`.
    const owner = dir === MEMORY ? null : lockOwner(dir);
    if (owner !== null) {
      throw new Unavailable(
        `the embedded ClickHouse at ${dir} is in use by another process (pid ${owner}); give this process its own ${variable}=chdb:<dir>, or point ${variable} at a ClickHouse server`,
        { cause: err },
      );
    }
    throw new ConfigError(`${variable}: cannot open the embedded ClickHouse at ${dir}: ${message}`);
  }
  // chdb implements @clickhouse/client-common's Connection; its declared type comes from its own copy of that package.
  const client = createClient({ connection: connection as never });
  return { client };
}

/** The live process (other than this one) that a chdb directory's `status` file names, or null. */
function lockOwner(dir: string): number | null {
  let text: string;
  try {
    text = readFileSync(path.join(dir, 'status'), 'utf8');
  } catch {
    return null;
  }
  const pid = Number(/^PID:\s*(\d+)/m.exec(text)?.[1]);
  if (!pid || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}

// ---- errors ------------------------------------------------------------------------------------------------------

/** Transport failures (the server is down or unreachable). */
const TRANSPORT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);
/** ClickHouse answers meaning "busy or overloaded, try again later". */
const OVERLOAD_TYPES = new Set([
  'TOO_MANY_PARTS',
  'TOO_MANY_SIMULTANEOUS_QUERIES',
  'MEMORY_LIMIT_EXCEEDED',
  'TIMEOUT_EXCEEDED',
  'SOCKET_TIMEOUT',
  'NETWORK_ERROR',
  'TABLE_IS_READ_ONLY',
]);
/**
 * ClickHouse answers about its own state, not the data sent: the table or database is gone or read-only, the disk is
 * full or unwritable, the credentials no longer work. Retrying the same rows later may succeed, and splitting an
 * INSERT to find a bad row would only repeat the failure.
 */
const ENVIRONMENT_TYPES = new Set([
  'UNKNOWN_TABLE',
  'UNKNOWN_DATABASE',
  'TABLE_IS_DROPPED',
  'READONLY',
  'NOT_ENOUGH_SPACE',
  'CANNOT_CREATE_DIRECTORY',
  'CANNOT_OPEN_FILE',
  'CANNOT_WRITE_TO_FILE_DESCRIPTOR',
  'CANNOT_FSYNC',
  'FILE_DOESNT_EXIST',
  'ABORTED',
  'QUERY_WAS_CANCELLED',
  'ALL_CONNECTION_TRIES_FAILED',
  'AUTHENTICATION_FAILED',
  'REQUIRED_PASSWORD',
  'UNKNOWN_USER',
  'ACCESS_DENIED',
]);

/**
 * Normalises a ClickHouse failure: unreachable, overloaded or unable to write (its tables, disk or credentials) →
 * {@link Unavailable} (the one retryable error); anything else (a ClickHouse answer about the statement or its data,
 * such as a parse error) is returned unchanged: a bad row, or a bug.
 * ClickHouse errors are recognised by their `type`/`code` fields: chdb's are not `instanceof ClickHouseError`.
 */
export function clickhouseFailure(err: unknown): unknown {
  if (err instanceof DomainError) return err;
  const e = (err ?? {}) as { code?: unknown; type?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  const transient =
    (typeof e.type === 'string' && (OVERLOAD_TYPES.has(e.type) || ENVIRONMENT_TYPES.has(e.type))) ||
    // chdb reports a failed file operation (e.g. an unwritable table directory) as a C++ filesystem_error
    (e.type === 'STD_EXCEPTION' && /filesystem error/i.test(message)) ||
    (typeof e.code === 'string' && TRANSPORT_CODES.has(e.code)) ||
    (e.type === undefined && /timeout|socket hang up/i.test(message));
  if (!transient) return err;
  // ClickHouse's own text (file paths, driver details) stays in the cause, for the log; callers get the kind of
  // failure. Not the location either: for chdb it is a directory of the server's.
  const kind = typeof e.type === 'string' ? e.type : typeof e.code === 'string' ? e.code : 'no answer';
  return new Unavailable(`ClickHouse is unavailable (${kind}); retry later`, { cause: err });
}
