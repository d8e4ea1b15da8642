import { Transform } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** CONTRACTS §8: 1 MiB for a request body, 32 MiB where raw payloads travel. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const LARGE_BODY_LIMIT = 32 * 1024 * 1024;

export interface BodyLimitOptions {
  /** @default 1 MiB */
  defaultLimit?: number;
  /** Limits of single procedures (path after `/trpc/`), e.g. `providerTraces.create`. */
  procedureLimits?: Record<string, number>;
}

/** The procedures of a (possibly batched, comma-joined) tRPC URL. */
function proceduresOf(url: string): string[] {
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
  const tooLarge = (request: FastifyRequest, reply: FastifyReply, limit: number) => {
    const procedures = proceduresOf(request.url);
    const error = (path: string | undefined) => ({
      error: {
        message: `Request body is larger than ${limit} bytes`,
        code: -32600,
        data: { code: 'PAYLOAD_TOO_LARGE', httpStatus: 413, path, field: null, issues: null },
      },
    });
    const batched = /[?&]batch=1\b/.test(request.url);
    return reply
      .code(413)
      .header('connection', 'close')
      .send(batched ? procedures.map(error) : error(procedures[0]));
  };
  // Routes outside tRPC (e.g. POST /v1/traces) declare their own limit and answer in their own protocol.
  const isTrpc = (url: string) => url.startsWith('/trpc/');
  app.addHook('onRequest', async (request, reply) => {
    if (!isTrpc(request.url)) return;
    const limit = limitFor(request.url);
    const declared = Number(request.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return tooLarge(request, reply, limit);
  });
  app.addHook('preParsing', async (request, _reply, payload) => {
    if (!isTrpc(request.url)) return payload;
    const limit = limitFor(request.url);
    let seen = 0;
    return payload.pipe(
      new Transform({
        transform(chunk: Buffer, _enc, callback) {
          seen += chunk.length;
          if (seen > limit) {
            callback(Object.assign(new Error(`Request body is larger than ${limit} bytes`), { statusCode: 413 }));
            return;
          }
          callback(null, chunk);
        },
      }),
    );
  });
}
