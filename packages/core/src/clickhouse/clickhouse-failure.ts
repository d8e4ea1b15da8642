import { DomainError, Unavailable } from '../errors.ts';

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
