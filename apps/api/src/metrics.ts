import type { Runtime } from '@runtrace/core';
import Fastify, { type FastifyInstance } from 'fastify';

async function sendMetrics(runtime: Runtime, reply: import('fastify').FastifyReply) {
  return reply.type('text/plain; version=0.0.4').send(await runtime.telemetry.metrics.metrics());
}

/**
 * `GET /metrics` holds every organization's counters, so it is never behind a tenant's key:
 * - RUNTRACE_METRICS_PORT set: on a listener of its own (RUNTRACE_METRICS_HOST, 127.0.0.1 by default), opened and
 *   closed with the api, and not on the main port;
 * - unset: on the main port while RUNTRACE_AUTH=optional (anyone may call anything there anyway), and nowhere when
 *   auth is required (404 naming the setting).
 */
export function registerMetrics(app: FastifyInstance, runtime: Runtime): void {
  const { metricsPort, metricsHost, auth } = runtime.config;
  if (metricsPort === undefined && auth === 'optional') {
    app.get('/metrics', (_request, reply) => sendMetrics(runtime, reply));
    return;
  }
  app.get('/metrics', (_request, reply) =>
    reply.code(404).send({ error: 'metrics are served on their own listener: set RUNTRACE_METRICS_PORT' }),
  );
  if (metricsPort === undefined) return;
  let listener: FastifyInstance | null = null;
  // onReady, not onListen: a port already taken fails the api's start instead of being logged and ignored.
  app.addHook('onReady', async () => {
    listener = Fastify();
    listener.get('/metrics', (_request, reply) => sendMetrics(runtime, reply));
    await listener.listen({ host: metricsHost, port: metricsPort });
  });
  app.addHook('onClose', async () => {
    await listener?.close();
  });
}
