import { isTRPCClientError } from '@runtrace/client';
import type { ReactNode } from 'react';

/** The tRPC code of a failed call (`NOT_FOUND`, `UNAUTHORIZED` …), or null for a network failure. */
export function errorCode(error: unknown): string | null {
  if (!isTRPCClientError(error)) return null;
  const code = (error.data as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : null;
}

/** Worth retrying: no answer at all, or the only retryable code (CONTRACTS §2). */
export function isRetryable(error: unknown): boolean {
  const code = errorCode(error);
  return code === null || code === 'SERVICE_UNAVAILABLE';
}

const HINTS: Record<string, string> = {
  UNAUTHORIZED: 'The api refused the API key (or requires one): enter a valid key above.',
  NOT_FOUND: 'Not found in this organization: another API key may be needed.',
  NOT_IMPLEMENTED: 'This feature is switched off on the server.',
  SERVICE_UNAVAILABLE: 'A store the api needs is down; retrying may help.',
};

export function ErrorState({ error, what }: { error: unknown; what: string }) {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  return (
    <div className="state error" role="alert" data-testid="error">
      <strong>
        Could not load {what}
        {code ? ` (${code})` : ''}
      </strong>
      <div>{message}</div>
      {code && HINTS[code] && <div className="muted">{HINTS[code]}</div>}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <div className="state loading" aria-busy="true">
      Loading {what}…
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <div className="state empty" data-testid="empty">
      {children}
    </div>
  );
}
