import cors from '@fastify/cors';
import type { Runtime } from '@runtrace/core';
import { type FastifyTRPCPluginOptions, fastifyTRPCPlugin } from '@trpc/server/adapters/fastify';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { DEFAULT_BODY_LIMIT, LARGE_BODY_LIMIT, registerBodyLimits } from './body-limit.ts';
import { registerCompression } from './compression.ts';
import { contextFactory, type ServerSettings } from './context.ts';
import { registerDashboard } from './dashboard.ts';
import { registerFastCalls } from './fast-calls.ts';
import { registerHttpMetrics } from './http-metrics.ts';
import { registerMetrics } from './metrics.ts';
import { registerOriginPolicy } from './origin-policy.ts';
import { registerOtlpRoutes } from './otlp.ts';
import { registerOtlpGrpc } from './otlp-grpc.ts';
import { ProcedureInvoker } from './procedure-invoker.ts';
import { registerLettaRest } from './rest/index.ts';
import { type AppRouter, appRouter } from './router.ts';
import { registerSelfTracing } from './self-trace.ts';
import { registerSubscriptionRoutes } from './sse.ts';
import { Subscriptions } from './subscriptions.ts';
import { SSE_OPTIONS } from './trpc.ts';

/** Procedures whose bodies carry raw payloads may be larger than the 1 MiB default (CONTRACTS §8). */
const PROCEDURE_BODY_LIMITS = { 'providerTraces.create': LARGE_BODY_LIMIT, 'runs.appendEvents': LARGE_BODY_LIMIT };

export interface ServerOptions {
  /** Quiet time after which `runs.stream({ includePings: true })` yields a ping. @default RUNTRACE_STREAM_KEEPALIVE_MS */
  streamKeepaliveMs?: number;
  /** Smallest JSON or text answer sent compressed; null: none is. @default RUNTRACE_HTTP_COMPRESSION_MIN_BYTES */
  compressionMinBytes?: number | null;
}

/**
 * The HTTP server: tRPC at /trpc, Letta's REST API at /v1, OTLP, /healthz, CORS for browser frontends, the dashboard
 * at /. It does not listen yet.
 */
export async function buildServer(runtime: Runtime, options: ServerOptions = {}): Promise<FastifyInstance> {
  const settings: ServerSettings = { streamKeepaliveMs: options.streamKeepaliveMs ?? runtime.config.streamKeepaliveMs };
  const app = Fastify({
    loggerInstance: runtime.logger.child({ component: 'http' }) as FastifyBaseLogger,
    // Per-request logs would cost more than most procedures; errors are logged where they happen.
    logController: new LogController({ disableRequestLogging: true }),
    // Fastify's own cap admits the largest procedure limit; registerBodyLimits enforces the smaller ones.
    bodyLimit: Math.max(DEFAULT_BODY_LIMIT, ...Object.values(PROCEDURE_BODY_LIMITS)),
    // Batched GET queries carry their input in the path.
    routerOptions: { maxParamLength: 10_000 },
    // Receiving a request (headers and body) is bounded; sending a response (SSE streams) is not.
    requestTimeout: runtime.config.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(60_000, runtime.config.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(1_000, runtime.config.requestTimeoutMs),
    },
  });
  // Every Unavailable answer, whatever the entrance (tRPC, REST, OTLP), says when to retry (CONTRACTS §2).
  app.addHook('onSend', async (_request, reply, payload) => {
    if (reply.statusCode === 503 && !reply.hasHeader('retry-after')) reply.header('retry-after', '1');
    return payload;
  });
  // Brotli or gzip as the client accepts, for JSON and text answers of every entrance (never SSE): compression.ts.
  const compressionMinBytes =
    options.compressionMinBytes === undefined ? runtime.config.httpCompressionMinBytes : options.compressionMinBytes;
  if (compressionMinBytes !== null) registerCompression(app, { minBytes: compressionMinBytes });
  const corsAllowed = registerOriginPolicy(app, runtime.config.corsOrigins);
  await app.register(cors, {
    origin: (origin, callback) => callback(null, origin !== undefined && corsAllowed(origin)),
    allowedHeaders: ['authorization', 'content-type', 'trpc-accept', 'x-trpc-source', 'last-event-id'],
    methods: ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS'],
    maxAge: 600,
  });
  registerBodyLimits(app, { procedureLimits: PROCEDURE_BODY_LIMITS, budgetBytes: runtime.config.bodyBudgetBytes });
  if (runtime.selfTracer) registerSelfTracing(app, runtime.selfTracer);
  // Open SSE responses never end by themselves: end them (clients reconnect elsewhere) so that close can drain.
  const subscriptions = new Subscriptions();
  app.addHook('preClose', async () => subscriptions.closeAll());
  // Request durations per procedure/route, subscribers per kind, Node's runtime metrics: all on /metrics' registry.
  registerHttpMetrics(app, {
    registry: runtime.telemetry.metrics.registry,
    procedures: Object.keys(appRouter._def.procedures),
    subscriptions,
  });
  // Liveness: the process answers. Readiness: every configured store answers (CONTRACTS §9); neither needs a key.
  app.get('/healthz', async () => ({ status: 'ok', database: runtime.database.driver }));
  app.get('/readyz', async (_request, reply) => {
    const { ready, checks } = await runtime.readiness();
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks });
  });
  registerMetrics(app, runtime);
  await registerOtlpRoutes(app, runtime);
  // The same export on RUNTRACE_OTLP_GRPC_PORT: opened when the app gets ready, drained when it closes.
  registerOtlpGrpc(app, runtime);
  // Letta's /v1/runs and /v1/steps (its clients work unchanged); SSE replays end on shutdown like subscriptions.
  await registerLettaRest(app, runtime, { pingIntervalMs: settings.streamKeepaliveMs, subscriptions });
  const createContext = contextFactory(runtime, settings, subscriptions);
  const onError = ({ error, path }: { error: { code: string; cause?: unknown }; path?: string | undefined }) => {
    if (error.code === 'INTERNAL_SERVER_ERROR') {
      runtime.logger.error({ err: error.cause ?? error, path }, 'request failed');
    }
  };
  // One way to call a procedure outside tRPC's adapter (procedure-invoker.ts), for the routes below.
  const invoker = new ProcedureInvoker({ router: appRouter, createContext: (req) => createContext({ req }), onError });
  // Subscriptions (SSE) on routes of their own, one write per event (sse.ts); queries and mutations through tRPC's.
  registerSubscriptionRoutes(app, { invoker, prefix: '/trpc', sse: SSE_OPTIONS });
  // tRPC's adapter answers with a web Response whose status Fastify's onSend does not see yet: its own hook says it.
  const responseMeta = ({ errors }: { errors: { code: string }[] }) =>
    errors.some((e) => e.code === 'SERVICE_UNAVAILABLE') ? { headers: { 'retry-after': '1' } } : {};
  const trpcOptions = {
    router: appRouter,
    createContext,
    onError,
    responseMeta,
  } satisfies FastifyTRPCPluginOptions<AppRouter>['trpcOptions'];
  // The hot write of live streams (a producer appends token by token) and the dashboards' list, on direct routes
  // (fast-calls.ts).
  await registerFastCalls(app, { invoker, prefix: '/trpc', paths: ['runs.appendEvents', 'runs.list'], trpcOptions });
  await app.register(fastifyTRPCPlugin, { prefix: '/trpc', trpcOptions });
  await registerDashboard(app);
  return app;
}
