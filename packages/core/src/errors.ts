import type { Logger } from './logger.ts';
/**
 * The domain error vocabulary (CONTRACTS §2). Core throws these; the api answers them in every protocol from one
 * table (apps/api/src/error-table.ts), which a new code must get a row of.
 * Anything else that escapes is a bug and is answered as an internal error with a generic message.
 */
export type DomainErrorCode =
  | 'INVALID_ARGUMENT'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'EXPIRED'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_IMPLEMENTED'
  | 'UNAVAILABLE';

export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;
  /** The input field the error is about, when there is one (e.g. `runId`, `cursor`). */
  readonly field: string | undefined;

  constructor(message: string, options?: { field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.field = options?.field;
  }
}

export class InvalidArgument extends DomainError {
  readonly code = 'INVALID_ARGUMENT';
  override name = 'InvalidArgument';
}
export class Unauthorized extends DomainError {
  readonly code = 'UNAUTHORIZED';
  override name = 'Unauthorized';
}
export class NotFound extends DomainError {
  readonly code = 'NOT_FOUND';
  override name = 'NotFound';
}
/** The answer for an organization id nobody holds (the CLI and operator tools name organizations by id). */
export function organizationNotFound(organizationId: string): NotFound {
  return new NotFound(`Organization ${organizationId} not found`, { field: 'organizationId' });
}
export class Conflict extends DomainError {
  readonly code = 'CONFLICT';
  override name = 'Conflict';
}
export class Expired extends DomainError {
  readonly code = 'EXPIRED';
  override name = 'Expired';
}
export class PayloadTooLarge extends DomainError {
  readonly code = 'PAYLOAD_TOO_LARGE';
  override name = 'PayloadTooLarge';
}
export class NotImplemented extends DomainError {
  readonly code = 'NOT_IMPLEMENTED';
  override name = 'NotImplemented';
}
export class Unavailable extends DomainError {
  readonly code = 'UNAVAILABLE';
  override name = 'Unavailable';
}

/**
 * Logs an Unavailable answer with its cause: the driver's words (e.g. ioredis's "Stream isn't writeable …") are kept
 * out of responses and belong to the operator's log. Warn, not error: an outage is expected and retried.
 */
export function logUnavailable(logger: Pick<Logger, 'warn'>, error: unknown, context: Record<string, unknown>): void {
  const cause = error instanceof Error ? error.cause : undefined;
  logger.warn({ ...context, err: cause ?? error }, error instanceof Error ? error.message : 'unavailable');
}
