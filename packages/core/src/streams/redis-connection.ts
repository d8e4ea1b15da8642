import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { Conflict, Unavailable } from '../errors.ts';
import { streamEndedError } from './stream-ended-error.ts';

const AVAILABILITY_REPLIES = /^(LOADING|BUSY|MASTERDOWN|READONLY|OOM|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|MISCONF)\b/;

/** What callers are told while Redis cannot be reached. */
export const REDIS_UNAVAILABLE = 'Redis (REDIS_URL) is unavailable; retry later';

/**
 * Redis failures as domain errors: the script's refusal → Conflict; anything about reaching Redis (connection
 * refused or lost, timeouts, a server loading or out of memory) → Unavailable, the retryable one. Other replies
 * are bugs and stay as they are.
 */
export function redisError(err: unknown, runId?: string): Error {
  if (err instanceof Error && err.name === 'ReplyError') {
    if (err.message.includes('RUNTRACE_ENDED')) return runId ? streamEndedError(runId) : new Conflict(err.message);
    if (!AVAILABILITY_REPLIES.test(err.message)) return err;
  }
  if (err instanceof Conflict || err instanceof Unavailable) return err;
  // The driver's words (ioredis internals) stay in the cause, for the log; callers get the store and what to do.
  return new Unavailable(REDIS_UNAVAILABLE, { cause: err });
}

/** A connection to one Redis server or to a Redis Cluster (RUNTRACE_REDIS_CLUSTER); the stores use what both offer. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectionOptions {
  /**
   * REDIS_URL names one node of a Redis Cluster (RUNTRACE_REDIS_CLUSTER): the client discovers the others and sends
   * each key to its slot's master. Every key of a run shares the run's hash tag, so each command and script touches
   * one slot. @default false
   */
  cluster?: boolean | undefined;
  /** How long connecting may take before Unavailable. @default 2000 */
  connectTimeoutMs?: number;
  /** How long a command may take before Unavailable (not the blocking reads). @default 5000 */
  commandTimeoutMs?: number;
}

/**
 * ioredis options for failing fast: no offline queue (a command while disconnected fails at once), no retry of a
 * command across reconnects (`maxRetriesPerRequest: 0` rejects in-flight commands when the connection drops), a
 * short connect timeout; reconnecting continues in the background with a capped backoff.
 */
export function redisOptions(name: string, options: RedisConnectionOptions = {}): RedisOptions {
  return {
    lazyConnect: true,
    protocol: 2,
    connectionName: name,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), 2000),
  };
}

/**
 * A Cluster client seeded with the node REDIS_URL names, its credentials and TLS applied to every node; the same
 * fail-fast options as a single connection (no offline queue, no retry of a command).
 */
function clusterClient(url: string, options: RedisOptions): Cluster {
  const u = new URL(url);
  return new Cluster([{ host: u.hostname, port: Number(u.port || 6379) }], {
    lazyConnect: true,
    enableOfflineQueue: false,
    clusterRetryStrategy: options.retryStrategy,
    redisOptions: {
      ...options,
      username: decodeURIComponent(u.username) || undefined,
      password: decodeURIComponent(u.password) || undefined,
      ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  });
}

/** Connects, or throws a startup error naming REDIS_URL (the client stops reconnecting). */
export async function connectRedis(url: string, options: RedisOptions, cluster = false): Promise<RedisClient> {
  const client = cluster ? clusterClient(url, options) : new Redis(url, options);
  client.on('error', () => {}); // reported through the failing commands (Unavailable)
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    const where = (() => {
      try {
        return new URL(url).host;
      } catch {
        return 'REDIS_URL';
      }
    })();
    throw new Error(`cannot connect to Redis at ${where} (REDIS_URL): ${(err as Error).message}`, { cause: err });
  }
  return client;
}

/**
 * A command connection (`names.cmd`, with the command timeout) and a Pub/Sub connection (`names.sub`); neither stays
 * open when the other cannot connect. The Pub/Sub one is not resubscribed after a reconnect: its users fail every
 * subscriber when it drops (messages may have been missed), and they subscribe again.
 */
export async function connectPubSub(
  url: string,
  names: { cmd: string; sub: string },
  options: RedisConnectionOptions,
): Promise<{ cmd: RedisClient; sub: RedisClient }> {
  const cluster = options.cluster ?? false;
  const cmd = await connectRedis(
    url,
    { ...redisOptions(names.cmd, options), commandTimeout: options.commandTimeoutMs ?? 5000 },
    cluster,
  );
  try {
    const sub = await connectRedis(url, { ...redisOptions(names.sub, options), autoResubscribe: false }, cluster);
    return { cmd, sub };
  } catch (err) {
    cmd.disconnect();
    throw err;
  }
}
