import type { AnyTRPCRouter } from '@trpc/server';
import { type FastifyTRPCPluginOptions, fastifyRequestHandler } from '@trpc/server/adapters/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientAbort, type ProcedureInvoker } from './procedure-invoker.ts';

/**
 * Direct routes for hot procedures (server.ts: `runs.appendEvents`, which a producer streaming tokens calls many times
 * a second, and `runs.list`, which every dashboard polls), speaking tRPC's HTTP protocol for the one shape its
 * clients send each in: a mutation as `POST /trpc/<path>` with a JSON body, a query as `GET /trpc/<path>?input=<json>`,
 * batched (`?batch=1`, `{"0": input}` → `[{ result }]`) or not. Every other shape (and any request with a
 * `trpc-accept` header) goes to tRPC's own handler.
 *
 * The procedure is called by procedure-invoker.ts (context, input, every middleware, the request's abort signal,
 * errors reported once and shaped by the root formatter), exactly as through the adapter; what is skipped is the
 * adapter's per-request machinery (a web Request and Response around each call, a body stream, combined abort
 * signals). A route stays here only while it saves at least 15% of the api's CPU per call over the adapter (issue 17;
 * `pnpm bench -- --only direct-routes` measures each against the adapter in the same run).
 */
export interface FastCallOptions<TRouter extends AnyTRPCRouter> {
  invoker: ProcedureInvoker<TRouter>;
  prefix: string;
  /** Query and mutation paths served here, e.g. `runs.appendEvents`. */
  paths: string[];
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
      const type = options.invoker.typeOf(path);
      if (type !== 'query' && type !== 'mutation') throw new Error(`fast call ${path}: not a query or mutation`);
      const url = `${options.prefix}/${path}`;
      if (type === 'query') scope.get(url, (request, reply) => call(request, reply, path, type, options));
      else scope.post(url, (request, reply) => call(request, reply, path, type, options));
    }
  });
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
  const abort = clientAbort(reply);
  const outcome = await options.invoker.call({ request, path, type, raw, signal: abort.signal });
  const body = options.invoker.serializeResponse(outcome);
  return reply
    .code(outcome.ok ? 200 : outcome.status)
    .header('content-type', 'application/json')
    .header('vary', 'trpc-accept, accept')
    .send(JSON.stringify(batched ? [body] : body));
}
