/**
 * The api's own request spans (RUNTRACE_OTEL_SELF_TRACE): one SERVER span per HTTP request, a child of the caller's
 * span when it sends W3C `traceparent`, made with `@opentelemetry/api` on the runtime's tracer. Requests to the OTLP
 * receiver are never traced: its spans would feed themselves.
 */
import { type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { SelfTracer } from '@runtrace/core/traces';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OTLP_TRACES_PATH } from './otlp.ts';

/** The path without the query string: `/trpc/runs.create`, `/healthz`. */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

export function registerSelfTracing(app: FastifyInstance, { tracer, parentFrom }: SelfTracer): void {
  const spans = new WeakMap<FastifyRequest, Span>();
  app.addHook('onRequest', async (request) => {
    const path = pathOf(request.url);
    if (path === OTLP_TRACES_PATH) return;
    const parent = parentFrom(request.headers);
    const procedure = path.startsWith('/trpc/') ? decodeURIComponent(path.slice('/trpc/'.length)) : undefined;
    const span = tracer.startSpan(
      `${request.method} ${path}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'url.path': path,
          ...(procedure ? { 'rpc.system': 'trpc', 'rpc.method': procedure } : {}),
        },
      },
      parent,
    );
    spans.set(request, span);
  });
  app.addHook('onResponse', async (request, reply) => {
    const span = spans.get(request);
    if (!span) return;
    span.setAttribute('http.response.status_code', reply.statusCode);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  app.addHook('onRequestAbort', async (request) => {
    const span = spans.get(request);
    if (!span) return;
    span.setStatus({ code: SpanStatusCode.ERROR, message: 'the client went away' });
    span.end();
    spans.delete(request);
  });
}
