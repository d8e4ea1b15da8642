import cors from '@fastify/cors';
import type { Runtime } from '@runtrace/core';
import { type FastifyTRPCPluginOptions, fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { contextFactory } from './context.ts';
import { type AppRouter, appRouter } from './router.ts';

/** Request bodies above this are answered 413 (CONTRACTS §8). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** The HTTP server: tRPC at /trpc, /healthz, CORS for browser frontends. It does not listen yet. */
export async function buildServer(runtime: Runtime): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: runtime.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // Per-request logs would cost more than most procedures; errors are logged where they happen.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: DEFAULT_BODY_LIMIT,
    // Batched GET queries carry their input in the path.
    routerOptions: { maxParamLength: 10_000 },
  });
  await app.register(cors, {
    origin: true,
    allowedHeaders: ['authorization', 'content-type', 'trpc-accept', 'x-trpc-source', 'last-event-id'],
    methods: ['GET', 'POST', 'OPTIONS'],
    maxAge: 600,
  });
  app.get('/healthz', async () => ({ status: 'ok', database: runtime.database.driver }));
  await app.register(fastifyTRPCPlugin, {
    prefix: '/trpc',
    trpcOptions: {
      router: appRouter,
      createContext: contextFactory(runtime),
      onError({ error, path }) {
        if (error.code === 'INTERNAL_SERVER_ERROR') {
          runtime.logger.error({ err: error.cause ?? error, path }, 'request failed');
        }
      },
    } satisfies FastifyTRPCPluginOptions<AppRouter>['trpcOptions'],
  });
  return app;
}
