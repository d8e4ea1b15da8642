import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Gauge, Histogram, type Registry } from 'prom-client';
import { proceduresOf } from './body-limit.ts';
import type { Subscriptions } from './subscriptions.ts';

/**
 * The api's HTTP metrics on the registry `/metrics` serves:
 * - Node's process and runtime metrics (prom-client's defaults under their standard names, `process_*` and
 *   `nodejs_*`, so that stock dashboards read them);
 * - `runtrace_http_request_duration_seconds{route, method, status_class}`: `route` is a tRPC procedure as
 *   `/trpc/<procedure>` (`/trpc/(batch)` for batched calls, `/trpc/(unknown)` for names the router lacks) or a
 *   route pattern (`/v1/runs/:run_id`); a URL no route matches is `(unmatched)`. Never a raw URL or an id, so the
 *   series stay bounded. SSE responses are left out: they last as long as the client listens;
 * - `runtrace_stream_subscribers{kind}`: open subscriptions (SSE) per kind (`trpc:runs.stream`, `rest:runs.stream`, …).
 */

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD']);
const UNMATCHED = '(unmatched)';

/** One registry's metrics, shared by every server built on it (tests build several on one runtime). */
interface RegistryMetrics {
  duration: Histogram<'route' | 'method' | 'status_class'>;
  subscriptions: Set<Subscriptions>;
}

const perRegistry = new WeakMap<Registry, RegistryMetrics>();

function metricsOf(registry: Registry): RegistryMetrics {
  const existing = perRegistry.get(registry);
  if (existing) return existing;
  collectDefaultMetrics({ register: registry });
  const subscriptions = new Set<Subscriptions>();
  new Gauge({
    name: 'runtrace_stream_subscribers',
    help: 'Open subscriptions (SSE) of this process per kind.',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const open of subscriptions) for (const [kind, n] of open.countsByKind()) this.inc({ kind }, n);
    },
  });
  const created: RegistryMetrics = {
    duration: new Histogram({
      name: 'runtrace_http_request_duration_seconds',
      help: 'Time from receiving a request to the end of its response, per tRPC procedure or REST route pattern.',
      labelNames: ['route', 'method', 'status_class'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    subscriptions,
  };
  perRegistry.set(registry, created);
  return created;
}

export interface HttpMetricsOptions {
  /** The registry `/metrics` serves. */
  registry: Registry;
  /** The router's procedure paths (`runs.list`): any other name after `/trpc/` is counted as `(unknown)`. */
  procedures: Iterable<string>;
  /** The server's open subscriptions, counted when scraped. */
  subscriptions: Subscriptions;
}

/**
 * Observes every response once (`onResponse`): about 1 µs (measured: prom-client hashes the labels on every observe,
 * so caching its label children saves nothing); no label string is built per request.
 */
export function registerHttpMetrics(app: FastifyInstance, options: HttpMetricsOptions): void {
  const metrics = metricsOf(options.registry);
  metrics.subscriptions.add(options.subscriptions);
  app.addHook('onClose', async () => {
    metrics.subscriptions.delete(options.subscriptions);
  });
  // The label of each known procedure, made once: a request only looks its label up.
  const procedureRoutes = new Map([...options.procedures].map((path) => [path, `/trpc/${path}`]));
  const routeOf = (request: FastifyRequest): string => {
    const pattern = request.routeOptions.url;
    if (pattern === undefined) return UNMATCHED;
    if (!pattern.startsWith('/trpc/')) return pattern;
    const [first, ...rest] = proceduresOf(request.url);
    if (rest.length) return '/trpc/(batch)';
    return (first !== undefined && procedureRoutes.get(first)) || '/trpc/(unknown)';
  };
  app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
    if (String(reply.raw.getHeader('content-type') ?? '').startsWith('text/event-stream')) return;
    const status_class = STATUS_CLASSES[Math.min(Math.max(Math.floor(reply.statusCode / 100) - 1, 0), 4)] as string;
    const method = METHODS.has(request.method) ? request.method : 'OTHER';
    metrics.duration.observe({ route: routeOf(request), method, status_class }, reply.elapsedTime / 1000);
  });
}
