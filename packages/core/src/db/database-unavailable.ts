import { Unavailable } from '../errors.ts';

/** Socket-level failures: the server is not there (or went away) — node's errno codes. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);
/** postgres.js's own connection errors. */
const CONNECTION_LOST = new Set(['CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED']);
/**
 * SQLSTATEs that say "the server cannot serve now", not "this query is wrong": admin/crash shutdown (57P01–57P03),
 * a statement cancelled by `statement_timeout` or by our own deadline (57014), too many connections (53300), and
 * class 08, connection exceptions.
 */
const SERVER_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '57014', '53300', '53400']);

/** Raised by the query deadline in connect.ts: a query that waited for a connection and ran longer than allowed. */
export const QUERY_DEADLINE = 'RUNTRACE_QUERY_DEADLINE';

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The one place that decides whether a database failure means "Postgres is down or too slow" (CONTRACTS §2
 * Unavailable, retryable) rather than a bug. Walks the cause chain (drizzle wraps driver errors). The message never
 * carries the driver's text: callers see that the database is unavailable, the log keeps the cause.
 * @returns an Unavailable, or null when `err` is not such a failure.
 */
export function databaseUnavailable(err: unknown): Unavailable | null {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof Unavailable) return e;
    const code = codeOf(e);
    if (!code) continue;
    if (code === '57014' || code === QUERY_DEADLINE) {
      return new Unavailable('The database (Postgres) did not answer in time; retry later', { cause: err });
    }
    if (UNREACHABLE.has(code) || CONNECTION_LOST.has(code) || SERVER_UNAVAILABLE.has(code) || code.startsWith('08')) {
      return new Unavailable('The database (Postgres) is unavailable; retry later', { cause: err });
    }
  }
  return null;
}
