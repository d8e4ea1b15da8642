/**
 * The Letta REST compatibility layer: Letta's `/v1/runs` and `/v1/steps` endpoints, beside tRPC and over the same
 * managers, in Letta's wire format, so Letta's clients work unchanged (letta-behavior §9–§12, CONTRACTS §2–§4).
 */
import type { Runtime } from '@runtrace/core';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DEFAULT_BODY_LIMIT } from '../body-limit.ts';
import { openApiDocument } from './openapi.ts';
import { runRoutes } from './runs.ts';
import {
  actorOf,
  assertStorableRequest,
  errorReply,
  type LettaRoute,
  parseQuery,
  sendJson,
  wireValidationError,
} from './shared.ts';
import { stepRoutes } from './steps.ts';
import type { StreamSettings } from './stream.ts';

export type LettaRestOptions = StreamSettings;

/** Every Letta endpoint, in the order Fastify registers them (and the OpenAPI document lists them). */
export function lettaRoutes(options: LettaRestOptions): LettaRoute[] {
  return [...runRoutes(options), ...stepRoutes()];
}

const VERSION = '0.1.0';

/** Registers the Letta endpoints under `/v1` in a scope of their own (JSON parser, error and 404 answers). */
export async function registerLettaRest(
  app: FastifyInstance,
  runtime: Runtime,
  options: LettaRestOptions,
): Promise<void> {
  const routes = lettaRoutes(options);
  await app.register(
    async (scope) => {
      // An empty body is no body (Letta's stream endpoint then uses its defaults).
      scope.removeContentTypeParser('application/json');
      scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
        const text = (body as string).trim();
        if (!text) return done(null, undefined);
        try {
          done(null, JSON.parse(text));
        } catch (err) {
          done(err as Error, undefined);
        }
      });
      scope.setErrorHandler((error, request, reply) => {
        const { status, body } = errorReply(error, runtime, request);
        return sendJson(reply, body, status);
      });
      scope.setNotFoundHandler((_request, reply) => sendJson(reply, { detail: 'Not Found' }, 404));

      // Letta's collection paths end in a slash; without it FastAPI redirects (307 keeps the method and body).
      for (const collection of ['runs', 'steps']) {
        scope.get(`/${collection}`, (request, reply) => {
          const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
          return reply.redirect(`/v1/${collection}/${query}`, 307);
        });
      }
      const document = openApiDocument(routes, VERSION);
      scope.get('/openapi.json', (_request, reply) => sendJson(reply, document));

      for (const route of routes) {
        scope.route({
          method: route.method,
          url: route.url.replace(/^\/v1/, ''),
          // CONTRACTS §8: 1 MiB (Fastify answers 413, sent as {"detail": …}).
          bodyLimit: DEFAULT_BODY_LIMIT,
          handler: async (request, reply) => {
            const actor = await actorOf(runtime, request);
            assertStorableRequest(request, route.query);
            const query = route.query ? parseQuery(route.query, request.query) : {};
            const params = request.params as Record<string, string>;
            let result: unknown;
            try {
              result = await route.handler({ runtime, actor, query, params, request, reply });
            } catch (error) {
              throw error instanceof z.ZodError ? wireValidationError(error, route, params) : error;
            }
            if (reply.sent) return reply;
            return sendJson(reply, result);
          },
        });
      }
    },
    { prefix: '/v1' },
  );
}
