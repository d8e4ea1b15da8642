import { TRPCClientError } from '@trpc/client';
import type { AppRouter } from './types.ts';

export { TRPCClientError };

/** Narrows an unknown error to a Runtrace API error, whose `data.code` is the tRPC code (e.g. `NOT_FOUND`). */
export function isTRPCClientError(error: unknown): error is TRPCClientError<AppRouter> {
  return error instanceof TRPCClientError;
}
