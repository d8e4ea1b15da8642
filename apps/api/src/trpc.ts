/**
 * The one file newcomers edit first: how a request becomes a procedure call.
 *
 * 1. `createContext` (context.ts) reads the Authorization header; nothing else about HTTP reaches a procedure.
 * 2. `publicProcedure` resolves the caller into an Actor (or UNAUTHORIZED) and maps core's domain errors to
 *    tRPC codes (their column of error-table.ts), in this file only — also errors thrown while a subscription is
 *    streaming, which tRPC would otherwise send as INTERNAL_SERVER_ERROR, a code its client retries forever.
 * 3. Routers (routers/*.ts) are plain objects of procedures that call one manager method each.
 */
import { type Actor, assertStorableInput, DomainError, domainErrorOf, logUnavailable } from '@runtrace/core';
import { initTRPC, TRPCError } from '@trpc/server';
import { actorFor } from './auth.ts';
import type { Context } from './context.ts';
import { ERROR_TABLE } from './error-table.ts';
import type { OpenSubscription } from './subscriptions.ts';

/** Exported because routers' declarations (the AppRouter type a client is built against) name it. */
export interface Issue {
  path: string;
  message: string;
}

/** zod (or any Standard Schema) issues flattened to `field.path: message`. */
function issuesOf(cause: unknown): Issue[] | null {
  const issues = (cause as { issues?: unknown } | null)?.issues;
  if (!Array.isArray(issues)) return null;
  return issues.flatMap(
    (issue: { path?: (PropertyKey | { key: PropertyKey })[]; message?: string; keys?: string[] }) => {
      const path = (issue.path ?? []).map((p) => (typeof p === 'object' && p !== null ? String(p.key) : String(p)));
      const message = issue.message ?? 'invalid';
      // An unknown key is named as the field itself, so clients can point at it.
      if (Array.isArray(issue.keys) && issue.keys.length) {
        return issue.keys.map((key) => ({ path: [...path, key].join('.'), message: `unknown key "${key}"` }));
      }
      return [{ path: path.join('.'), message }];
    },
  );
}

function toTRPCError(cause: unknown): TRPCError | null {
  const domain = domainErrorOf(cause);
  if (domain) return new TRPCError({ code: ERROR_TABLE[domain.code].trpc, message: domain.message, cause: domain });
  const issues = issuesOf(cause);
  if (issues) {
    const message = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
    return new TRPCError({ code: 'BAD_REQUEST', message, cause });
  }
  return null;
}

/**
 * Server-Sent Events (subscriptions): tRPC's own ping comment every 10 s keeps idle connections open through
 * proxies, and tells the client to reconnect (resuming from its last event id) when it has heard nothing for 25 s.
 */
export const SSE_OPTIONS = {
  ping: { enabled: true, intervalMs: 10_000 },
  client: { reconnectAfterInactivityMs: 25_000 },
} as const;

const t = initTRPC.context<Context>().create({
  // tRPC would add stacks to every error whenever isDev is true; we add them ourselves, in development only.
  isDev: false,
  sse: SSE_OPTIONS,
  errorFormatter({ shape, error, ctx }) {
    const issues = issuesOf(error.cause);
    const internal = error.code === 'INTERNAL_SERVER_ERROR';
    const field = error.cause instanceof DomainError ? (error.cause.field ?? null) : (issues?.[0]?.path ?? null);
    return {
      ...shape,
      message: internal ? 'Internal server error' : shape.message,
      data: {
        ...shape.data,
        field,
        issues,
        ...(ctx?.runtime.config.nodeEnv === 'development' ? { stack: error.stack } : {}),
      },
    };
  },
});

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}

/**
 * A subscription's events with the same error mapping as everything else: tRPC sees errors thrown during iteration
 * only after the middlewares have returned, and sends them as a `serialized-error` event. When the server shuts down
 * the subscription ends with SERVICE_UNAVAILABLE, so the client reconnects and resumes instead of taking it for the
 * stream's end.
 */
async function* streaming<T>(
  events: AsyncIterable<T>,
  subscription: OpenSubscription,
  ctx: Context,
): AsyncGenerator<T, void> {
  try {
    yield* events;
  } catch (cause) {
    if (!ctx.subscriptions.closing) {
      if (isAbortError(cause)) throw cause; // the subscriber left: tRPC ends the stream quietly
      const mapped = toTRPCError(cause);
      if (mapped?.code === 'SERVICE_UNAVAILABLE')
        logUnavailable(ctx.runtime.logger, mapped.cause, { subscription: true });
      throw mapped ?? cause;
    }
  } finally {
    subscription.release();
  }
  if (ctx.subscriptions.closing) {
    throw new TRPCError({
      code: 'SERVICE_UNAVAILABLE',
      message: 'The server is shutting down: reconnect to resume the stream',
    });
  }
}

/**
 * Every procedure's one middleware (one, not three: each middleware level costs tRPC a context merge and a call
 * chain, and runs.list is served hundreds of times a second):
 * - resolves the caller into `ctx.actor` (auth.ts; UNAUTHORIZED);
 * - refuses text the database cannot store, naming the field, before any schema or query sees it;
 * - gives the procedure `ctx.signal`, which for a subscription aborts when the client leaves or the server shuts down;
 * - maps domain errors to tRPC codes, at setup and, for subscriptions, during iteration.
 */
const procedureMiddleware = t.middleware(async ({ next, ctx, path, type, signal, getRawInput }) => {
  const subscription = type === 'subscription' ? ctx.subscriptions.open(signal, `trpc:${path}`) : null;
  let actor: Actor;
  try {
    actor = await actorFor(ctx.runtime, ctx.authorization);
    assertStorableInput(await getRawInput());
  } catch (cause) {
    subscription?.release();
    throw mapError(ctx, cause, path) ?? cause;
  }
  // next() does not throw: an error of the procedure comes back as the result.
  const result = await next({ ctx: { actor, signal: subscription?.signal ?? signal ?? new AbortController().signal } });
  if (result.ok) {
    if (subscription) {
      if (isAsyncIterable(result.data)) return { ...result, data: streaming(result.data, subscription, ctx) };
      subscription.release();
    }
    return result;
  }
  subscription?.release();
  const mapped = result.error.cause ? mapError(ctx, result.error.cause, path) : null;
  // Internal errors are logged once, by the server's onError (server.ts), whichever route the call took.
  return mapped ? { ...result, error: mapped } : result;
});

/** A domain or validation error as the tRPC error it answers (an outage logged as such); null for anything else. */
function mapError(ctx: Context, cause: unknown, path: string): TRPCError | null {
  const mapped = toTRPCError(cause);
  if (mapped?.code === 'SERVICE_UNAVAILABLE') logUnavailable(ctx.runtime.logger, mapped.cause, { path });
  return mapped;
}

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
/** Every procedure: errors mapped, caller resolved into `ctx.actor`, unstorable input refused. */
export const publicProcedure = t.procedure.use(procedureMiddleware);
