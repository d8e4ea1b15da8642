import type { DomainErrorCode } from '@runtrace/core';

/** CONTRACTS §2: the HTTP status of each domain error, for every entry point that answers plain HTTP (REST, OTLP). */
export const HTTP_STATUS: Record<DomainErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  CONFLICT: 409,
  EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  NOT_IMPLEMENTED: 501,
  UNAVAILABLE: 503,
};
