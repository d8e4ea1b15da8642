/**
 * The one file newcomers edit first: how a request becomes a procedure call.
 *
 * 1. `createContext` (context.ts) reads the Authorization header; nothing else about HTTP reaches a procedure.
 * 2. `publicProcedure` resolves the caller into an Actor (or UNAUTHORIZED) and maps core's domain errors to
 *    tRPC codes, in this file only.
 * 3. Routers (routers/*.ts) are plain objects of procedures that call one manager method each.
 */
import { DEFAULT_ACTOR, DomainError, type DomainErrorCode } from '@runtrace/core';
import { initTRPC, TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import type { Context } from './context.ts';
import { assertStorableInput } from './inputGuard.ts';

const TRPC_CODE: Record<DomainErrorCode, TRPC_ERROR_CODE_KEY> = {
  INVALID_ARGUMENT: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  EXPIRED: 'PRECONDITION_FAILED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  NOT_IMPLEMENTED: 'NOT_IMPLEMENTED',
  UNAVAILABLE: 'SERVICE_UNAVAILABLE',
};

interface Issue {
  path: string;
  message: string;
}

/** zod (or any Standard Schema) issues flattened to `field.path: message`. */
function issuesOf(cause: unknown): Issue[] | null {
  const issues = (cause as { issues?: unknown } | null)?.issues;
  if (!Array.isArray(issues)) return null;
  return issues.flatMap((issue: { path?: (PropertyKey | { key: PropertyKey })[]; message?: string; keys?: string[] }) => {
    const path = (issue.path ?? []).map((p) => (typeof p === 'object' && p !== null ? String(p.key) : String(p)));
    const message = issue.message ?? 'invalid';
    // An unknown key is named as the field itself, so clients can point at it.
    if (Array.isArray(issue.keys) && issue.keys.length) {
      return issue.keys.map((key) => ({ path: [...path, key].join('.'), message: `unknown key "${key}"` }));
    }
    return [{ path: path.join('.'), message }];
  });
}

function toTRPCError(cause: unknown): TRPCError | null {
  if (cause instanceof DomainError) {
    return new TRPCError({ code: TRPC_CODE[cause.code], message: cause.message, cause });
  }
  const issues = issuesOf(cause);
  if (issues) {
    const message = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
    return new TRPCError({ code: 'BAD_REQUEST', message, cause });
  }
  return null;
}

const t = initTRPC.context<Context>().create({
  // tRPC would add stacks to every error whenever isDev is true; we add them ourselves, in development only.
  isDev: false,
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

const errorMapping = t.middleware(async ({ next, ctx, path }) => {
  const result = await next();
  if (result.ok) return result;
  const mapped = result.error.cause ? toTRPCError(result.error.cause) : null;
  if (mapped) return { ...result, error: mapped };
  if (result.error.code === 'INTERNAL_SERVER_ERROR') {
    ctx.runtime.logger.error({ err: result.error.cause ?? result.error, path }, 'procedure failed');
  }
  return result;
});

const authenticated = t.middleware(async ({ next, ctx }) => {
  const header = ctx.authorization;
  if (!header) {
    if (ctx.runtime.config.auth === 'required') {
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'An API key is required: Authorization: Bearer <key>' });
    }
    return next({ ctx: { actor: DEFAULT_ACTOR } });
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'Authorization must be "Bearer <key>"' });
  }
  return next({ ctx: { actor: await ctx.runtime.auth.authenticate(match[1]) } });
});

/** Text the database cannot store is refused here, naming the field, before any schema or query sees it. */
const storableInput = t.middleware(async ({ next, getRawInput }) => {
  assertStorableInput(await getRawInput());
  return next();
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
/** Every procedure: errors mapped, caller resolved into `ctx.actor`, unstorable input refused. */
export const publicProcedure = t.procedure.use(errorMapping).use(authenticated).use(storableInput);
