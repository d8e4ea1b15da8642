import type { FastifyInstance, FastifyRequest } from 'fastify';

/** An origin as browsers send it: scheme, host and port, no trailing slash. */
function sameHost(origin: string, request: FastifyRequest): boolean {
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/**
 * Browsers may call the api from its own origin (the dashboard at /) and from `allowed` (RUNTRACE_CORS_ORIGINS)
 * only. A request from any other origin — a preflight or a "simple" request a page can send without one, whose side
 * effects would happen even though the page cannot read the answer — is refused with 403 before anything runs.
 * Clients outside browsers send no Origin and are not concerned.
 */
export function registerOriginPolicy(app: FastifyInstance, allowed: readonly string[]): (origin: string) => boolean {
  const allowedSet = new Set(allowed);
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin === undefined || allowedSet.has(origin) || sameHost(origin, request)) return;
    return reply
      .code(403)
      .header('vary', 'Origin')
      .send({ error: 'Cross-origin requests from this origin are not allowed (RUNTRACE_CORS_ORIGINS)' });
  });
  // Every answer depends on Origin (caches must not serve one origin's answer to another), including those whose
  // route sets a Vary of its own (tRPC's).
  app.addHook('onSend', async (_request, reply, payload) => {
    const vary = String(reply.getHeader('vary') ?? '');
    if (!/(^|,)\s*origin\s*(,|$)/i.test(vary)) reply.header('vary', vary ? `${vary}, Origin` : 'Origin');
    return payload;
  });
  return (origin) => allowedSet.has(origin);
}
