import {
  type AnyTRPCRouter,
  callTRPCProcedure,
  getTRPCErrorFromUnknown,
  getTRPCErrorShape,
  type TRPCError,
  transformTRPCResponse,
} from '@trpc/server';
import { type FastifyTRPCPluginOptions, fastifyRequestHandler } from '@trpc/server/adapters/fastify';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Direct routes for hot procedures — `runs.appendEvents` (a producer streaming tokens appends many times a second),
 * `runs.list` (dashboards page through runs) — speaking tRPC's HTTP protocol for the one shape its clients send each
 * in: a mutation as `POST /trpc/<path>` with a JSON body, a query as `GET /trpc/<path>?input=<json>`, batched
 * (`?batch=1`, `{"0": input}` → `[{ result }]`) or not. Every other shape goes to tRPC's own handler.
 *
 * The procedure is called with `callTRPCProcedure` (input parsing, every middleware, the error mapping of trpc.ts)
 * and errors are shaped by the root formatter, exactly as through the adapter; what is skipped is the adapter's
 * per-request machinery (a web Request and Response around each call, a body stream, combined abort signals), which
 * cost more api CPU per append than the call itself (`pnpm bench`, streams section).
 */
export interface FastCallOptions<TRouter extends AnyTRPCRouter> {
  router: TRouter;
  prefix: string;
  /** Query and mutation paths served here, e.g. `runs.appendEvents`. */
  paths: string[];
  createContext: (request: FastifyRequest) => unknown;
  onError?: (opts: { error: TRPCError; path: string }) => void;
  /** tRPC's own handler options, for the requests handed over. */
  trpcOptions: FastifyTRPCPluginOptions<TRouter>['trpcOptions'];
}

export async function registerFastCalls<TRouter extends AnyTRPCRouter>(
  app: FastifyInstance,
  options: FastCallOptions<TRouter>,
): Promise<void> {
  await app.register(async (scope) => {
    // As in tRPC's plugin: the body stays a string (tRPC parses it; so do we, the same way).
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    for (const path of options.paths) {
      const type = procedureType(options.router, path);
      const url = `${options.prefix}/${path}`;
      if (type === 'query') scope.get(url, (request, reply) => call(request, reply, path, type, options));
      else scope.post(url, (request, reply) => call(request, reply, path, type, options));
    }
  });
}

function procedureType(router: AnyTRPCRouter, path: string): 'query' | 'mutation' {
  const type = (router._def.procedures[path] as { _def?: { type?: string } } | undefined)?._def?.type;
  if (type !== 'query' && type !== 'mutation')
    throw new Error(`fast call ${path}: not a query or mutation of the router`);
  return type;
}

async function call<TRouter extends AnyTRPCRouter>(
  request: FastifyRequest,
  reply: FastifyReply,
  path: string,
  type: 'query' | 'mutation',
  options: FastCallOptions<TRouter>,
): Promise<unknown> {
  const handOver = () => fastifyRequestHandler({ ...options.trpcOptions, req: request, res: reply, path });
  const query = request.query as Record<string, unknown>;
  const batched = query.batch === '1';
  // A query's input is JSON in the query string (absent for no input); a mutation's is the body.
  const text = type === 'query' ? (query.input === undefined ? '' : query.input) : request.body;
  if (request.headers['trpc-accept'] || typeof text !== 'string') return handOver();
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    return handOver(); // tRPC answers its PARSE_ERROR
  }
  let raw: unknown = parsed;
  if (batched) {
    if (typeof parsed !== 'object' || parsed === null || Object.keys(parsed).some((k) => k !== '0')) return handOver();
    raw = (parsed as Record<string, unknown>)['0'];
  }
  const config = options.router._def._config;
  let ctx: unknown;
  let response: Record<string, unknown>;
  let status = 200;
  try {
    ctx = await options.createContext(request);
    const input = raw === undefined ? undefined : config.transformer.input.deserialize(raw);
    const data = await callTRPCProcedure({
      router: options.router,
      path,
      getRawInput: async () => input,
      ctx,
      type,
      signal: undefined,
      batchIndex: 0,
    });
    response = { result: { data } };
  } catch (cause) {
    const error = getTRPCErrorFromUnknown(cause);
    options.onError?.({ error, path });
    status = getHTTPStatusCodeFromError(error);
    response = { error: getTRPCErrorShape({ config, error, type, path, input: raw, ctx }) };
  }
  const body = transformTRPCResponse(config, response as never);
  return reply
    .code(status)
    .header('content-type', 'application/json')
    .header('vary', 'trpc-accept, accept')
    .send(JSON.stringify(batched ? [body] : body));
}
