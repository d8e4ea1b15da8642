import type { Runtime } from '@runtrace/core';
import type { CreateFastifyContextOptions } from '@trpc/server/adapters/fastify';
import type { Subscriptions } from './subscriptions.ts';

/** Settings of the HTTP layer (not of core), given to buildServer. */
export interface ServerSettings {
  /** Quiet time after which `runs.stream` with `includePings` yields a `{ messageType: 'ping' }`. */
  streamKeepaliveMs: number;
}

export interface Context {
  runtime: Runtime;
  settings: ServerSettings;
  /** The open subscriptions, ended when the server shuts down. */
  subscriptions: Subscriptions;
  /** The raw Authorization header; the auth middleware turns it into an Actor. */
  authorization: string | undefined;
}

export function contextFactory(runtime: Runtime, settings: ServerSettings, subscriptions: Subscriptions) {
  return ({ req }: Pick<CreateFastifyContextOptions, 'req'>): Context => ({
    runtime,
    settings,
    subscriptions,
    authorization: req.headers.authorization,
  });
}
