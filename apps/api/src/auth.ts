import { type Actor, DEFAULT_ACTOR, type Runtime, Unauthorized } from '@runtrace/core';

/**
 * The caller of a request, from its Authorization header, for every entry point (tRPC, OTLP, the Letta REST layer):
 * `Bearer <api key>` → the key's organization; no header → the default organization, unless RUNTRACE_AUTH=required.
 * Unauthorized (a domain error, mapped by each entry point) for a missing, malformed, unknown or revoked key.
 */
export async function actorFor(runtime: Runtime, authorization: string | undefined): Promise<Actor> {
  if (!authorization) {
    if (runtime.config.auth === 'required') {
      throw new Unauthorized('An API key is required: Authorization: Bearer <key>');
    }
    return DEFAULT_ACTOR;
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match?.[1]) throw new Unauthorized('Authorization must be "Bearer <key>"');
  return runtime.auth.authenticate(match[1]);
}
