import { Transform } from 'node:stream';
import { type DomainErrorCode, Unavailable } from '@runtrace/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_TABLE } from './error-table.ts';

/** CONTRACTS §8: 1 MiB for a request body, 32 MiB where raw payloads travel. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const LARGE_BODY_LIMIT = 32 * 1024 * 1024;

export interface BodyLimitOptions {
  /** @default 1 MiB */
  defaultLimit?: number;
  /** Limits of single procedures (path after `/trpc/`), e.g. `providerTraces.create`. */
  procedureLimits?: Record<string, number>;
  /**
   * Bytes of request bodies held at once across all requests (received and not yet answered); a body that would
   * exceed it is refused with 503 and Retry-After (RUNTRACE_BODY_BUDGET_BYTES). @default no bound
   */
  budgetBytes?: number;
}

// Routes outside tRPC (e.g. POST /v1/traces) declare their own limit and answer in their own protocol.
const isTrpc = (url: string) => url.startsWith('/trpc/');

/** A tRPC-shaped error answer (an array for batched calls) for refusals made before tRPC sees the request. */
function trpcError(request: FastifyRequest, reply: FastifyReply, domainCode: DomainErrorCode, message: string) {
  const { trpc: code, http: httpStatus } = ERROR_TABLE[domainCode];
  const procedures = proceduresOf(request.url);
  const error = (path: string | undefined) => ({
    error: { message, code: -32600, data: { code, httpStatus, path, field: null, issues: null } },
  });
  const batched = /[?&]batch=1\b/.test(request.url);
  return reply.code(httpStatus).send(batched ? procedures.map(error) : error(procedures[0]));
}

const BUDGET_MESSAGE = 'The server is receiving too many request bodies at once; retry later';

/**
 * One bound on the memory that request bodies take across concurrent requests: a body's bytes count from the moment
 * they arrive (its declared Content-Length up front) until its response has gone, and a request that would exceed
 * the budget is refused as Unavailable (503, Retry-After) in its route's protocol.
 */
function registerBodyBudget(app: FastifyInstance, budget: number): void {
  let held = 0;
  const reserved = new WeakMap<FastifyRequest, { bytes: number }>();
  const refuse = (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('connection', 'close');
    if (isTrpc(request.url)) return trpcError(request, reply, 'UNAVAILABLE', BUDGET_MESSAGE);
    // Other routes answer Unavailable in their own protocol (their error handlers map domain errors).
    throw Object.assign(new Unavailable(BUDGET_MESSAGE), { statusCode: ERROR_TABLE.UNAVAILABLE.http });
  };
  const holding = (request: FastifyRequest, reply: FastifyReply) => {
    const entry = { bytes: 0 };
    reserved.set(request, entry);
    // 'close' comes for answered and for abandoned requests alike.
    reply.raw.once('close', () => {
      held -= entry.bytes;
      entry.bytes = 0;
    });
    return entry;
  };
  app.addHook('onRequest', async (request, reply) => {
    const declared = Number(request.headers['content-length']);
    if (!Number.isFinite(declared) || declared <= 0) return;
    if (held + declared > budget) return refuse(request, reply);
    holding(request, reply).bytes = declared;
    held += declared;
  });
  app.addHook('preParsing', async (request, reply, payload) => {
    // Counted up front, or no body at all (a body without Content-Length is chunked).
    if (reserved.has(request) || !request.headers['transfer-encoding']) return payload;
    const entry = holding(request, reply);
    return payload.pipe(
      new Transform({
        transform(chunk: Buffer, _enc, callback) {
          if (held + chunk.length > budget) {
            callback(Object.assign(new Unavailable(BUDGET_MESSAGE), { statusCode: ERROR_TABLE.UNAVAILABLE.http }));
            return;
          }
          entry.bytes += chunk.length;
          held += chunk.length;
          callback(null, chunk);
        },
      }),
    );
  });
}

/** The procedures of a (possibly batched, comma-joined) tRPC URL. */
export function proceduresOf(url: string): string[] {
  const path = url.split('?')[0] ?? '';
  const match = /^\/trpc\/(.+)$/.exec(path);
  return match?.[1] ? decodeURIComponent(match[1]).split(',') : [];
}

/**
 * Per-procedure body limits for the one route tRPC registers. Oversized bodies are answered 413 with a tRPC error
 * (an array for batched calls) before they are parsed; a body without Content-Length is counted as it streams.
 */
export function registerBodyLimits(app: FastifyInstance, options: BodyLimitOptions = {}): void {
  const defaultLimit = options.defaultLimit ?? DEFAULT_BODY_LIMIT;
  const limits = options.procedureLimits ?? {};
  const limitFor = (url: string) => {
    const procedures = proceduresOf(url);
    if (!procedures.length) return defaultLimit;
    return Math.min(...procedures.map((p) => limits[p] ?? defaultLimit));
  };
  const tooLarge = (request: FastifyRequest, reply: FastifyReply, limit: number) =>
    trpcError(
      request,
      reply.header('connection', 'close'),
      'PAYLOAD_TOO_LARGE',
      `Request body is larger than ${limit} bytes`,
    );
  if (options.budgetBytes !== undefined) registerBodyBudget(app, options.budgetBytes);
  app.addHook('onRequest', async (request, reply) => {
    // Most calls carry no body (queries are GETs): nothing to look up for them.
    const declared = Number(request.headers['content-length']);
    if (!(declared > 0) || !isTrpc(request.url)) return;
    const limit = limitFor(request.url);
    if (declared > limit) return tooLarge(request, reply, limit);
  });
  app.addHook('preParsing', async (request, _reply, payload) => {
    // A body with a Content-Length was checked above, and node's parser reads no more than it declares: only a
    // chunked body (no length) is counted as it streams.
    if (!request.headers['transfer-encoding'] || !isTrpc(request.url)) return payload;
    const limit = limitFor(request.url);
    let seen = 0;
    return payload.pipe(
      new Transform({
        transform(chunk: Buffer, _enc, callback) {
          seen += chunk.length;
          if (seen > limit) {
            callback(
              Object.assign(new Error(`Request body is larger than ${limit} bytes`), {
                statusCode: ERROR_TABLE.PAYLOAD_TOO_LARGE.http,
              }),
            );
            return;
          }
          callback(null, chunk);
        },
      }),
    );
  });
}
