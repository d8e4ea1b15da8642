/**
 * CONTRACTS §2: how each domain error is answered, one row per code for every entrance — tRPC (trpc.ts), Letta REST
 * (rest/shared.ts), OTLP/HTTP (otlp.ts), and an OTLP/gRPC receiver when there is one. A new DomainErrorCode does not
 * compile until its row has every column.
 *
 * It lives in the api, not in core: every column is a protocol's vocabulary, and core knows no protocol (it throws
 * DomainErrors; `domainErrorOf` is as far as it goes).
 */
import type { DomainError, DomainErrorCode } from '@runtrace/core';
import { RPC_CODES } from '@runtrace/core/traces';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';

/** One domain error's answer in each protocol. */
export interface ErrorAnswer {
  /** The tRPC code; tRPC derives the HTTP status of its answers from it (EXPIRED is 412 there, 410 in REST). */
  trpc: TRPC_ERROR_CODE_KEY;
  /** The HTTP status of plain-HTTP answers (Letta REST, OTLP/HTTP). A 503 also carries `Retry-After` (server.ts). */
  http: number;
  /**
   * Letta's `{"detail": …}` text: `prefixed` is `<CODE>: <message>` (Letta's own LettaInvalidArgumentError and
   * LettaExpiredError read so), `message` the message alone.
   */
  lettaDetail: 'prefixed' | 'message';
  /**
   * The google.rpc.Code of OTLP answers: the `Status` body of OTLP/HTTP and the status of OTLP/gRPC. The OTLP
   * specification has exporters retry UNAVAILABLE (RESOURCE_EXHAUSTED only with RetryInfo, which is never sent) and
   * drop the rest, so what no retry can fix is INVALID_ARGUMENT, NOT_FOUND, CONFLICT and EXPIRED included.
   */
  grpc: number;
}

export const ERROR_TABLE = {
  INVALID_ARGUMENT: { trpc: 'BAD_REQUEST', http: 400, lettaDetail: 'prefixed', grpc: RPC_CODES.INVALID_ARGUMENT },
  UNAUTHORIZED: { trpc: 'UNAUTHORIZED', http: 401, lettaDetail: 'message', grpc: RPC_CODES.UNAUTHENTICATED },
  NOT_FOUND: { trpc: 'NOT_FOUND', http: 404, lettaDetail: 'message', grpc: RPC_CODES.INVALID_ARGUMENT },
  CONFLICT: { trpc: 'CONFLICT', http: 409, lettaDetail: 'message', grpc: RPC_CODES.INVALID_ARGUMENT },
  EXPIRED: { trpc: 'PRECONDITION_FAILED', http: 410, lettaDetail: 'prefixed', grpc: RPC_CODES.INVALID_ARGUMENT },
  PAYLOAD_TOO_LARGE: {
    trpc: 'PAYLOAD_TOO_LARGE',
    http: 413,
    lettaDetail: 'message',
    grpc: RPC_CODES.RESOURCE_EXHAUSTED,
  },
  NOT_IMPLEMENTED: { trpc: 'NOT_IMPLEMENTED', http: 501, lettaDetail: 'message', grpc: RPC_CODES.UNIMPLEMENTED },
  UNAVAILABLE: { trpc: 'SERVICE_UNAVAILABLE', http: 503, lettaDetail: 'message', grpc: RPC_CODES.UNAVAILABLE },
} as const satisfies Record<DomainErrorCode, ErrorAnswer>;

/** Letta's `detail` text of a domain error. */
export function lettaDetailOf(error: Pick<DomainError, 'code' | 'message'>): string {
  return ERROR_TABLE[error.code].lettaDetail === 'prefixed' ? `${error.code}: ${error.message}` : error.message;
}
