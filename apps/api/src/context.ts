import type { Runtime } from '@runtrace/core';
import type { CreateFastifyContextOptions } from '@trpc/server/adapters/fastify';

export interface Context {
  runtime: Runtime;
  /** The raw Authorization header; the auth middleware turns it into an Actor. */
  authorization: string | undefined;
}

export function contextFactory(runtime: Runtime) {
  return ({ req }: CreateFastifyContextOptions): Context => ({
    runtime,
    authorization: req.headers.authorization,
  });
}
