import { databaseUnavailable } from './db/database-unavailable.ts';
import { DomainError } from './errors.ts';

/**
 * What every entrance (tRPC, REST, OTLP) answers for a thrown error: a domain error as it is, a store outage as
 * Unavailable; null for anything else, which is a bug (INTERNAL_SERVER_ERROR, logged).
 */
export function domainErrorOf(err: unknown): DomainError | null {
  if (err instanceof DomainError) return err;
  return databaseUnavailable(err);
}
