import type { Redis } from 'ioredis';
import { Unavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { RunChange } from '../runs/run-manager.ts';
import { connectRedis, type RedisConnectionOptions, redisError, redisOptions } from './redis-connection.ts';
import { ChangeQueue, type RunChangeFeed } from './run-changes.ts';

/** The Pub/Sub channel of an organization's run changes. */
export function runChangesChannel(organizationId: string): string {
  return `runtrace:run-changes:${organizationId}`;
}

export interface RedisRunChangeFeedOptions extends RedisConnectionOptions {
  url: string;
  logger?: Logger | undefined;
}

/**
 * Run changes across processes through Redis Pub/Sub: PUBLISH on the command connection, ONE subscriber connection
 * per process, a channel per organization subscribed while someone in this process listens to it. Subscribers are
 * failed with Unavailable when the subscriber connection drops (changes may have been missed): they subscribe again.
 */
export class RedisRunChangeFeed implements RunChangeFeed {
  readonly kind = 'redis' as const;
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #logger: Logger | undefined;
  readonly #queues = new Map<string, Set<ChangeQueue>>();
  #closed = false;

  private constructor(pub: Redis, sub: Redis, logger: Logger | undefined) {
    this.#pub = pub;
    this.#sub = sub;
    this.#logger = logger;
    sub.on('message', (channel: string, message: string) => this.#deliver(channel, message));
    sub.on('close', () => this.#failAll(new Unavailable('Redis (REDIS_URL) is unavailable: the connection was lost')));
  }

  static async connect(options: RedisRunChangeFeedOptions): Promise<RedisRunChangeFeed> {
    const pub = await connectRedis(options.url, {
      ...redisOptions('runtrace:run-changes', options),
      commandTimeout: options.commandTimeoutMs ?? 5000,
    });
    let sub: Redis;
    try {
      sub = await connectRedis(options.url, { ...redisOptions('runtrace:run-changes:sub', options), autoResubscribe: false });
    } catch (err) {
      pub.disconnect();
      throw err;
    }
    return new RedisRunChangeFeed(pub, sub, options.logger);
  }

  async publish(change: RunChange): Promise<void> {
    try {
      await this.#pub.publish(runChangesChannel(change.organizationId), JSON.stringify(change));
    } catch (err) {
      throw redisError(err);
    }
  }

  async subscribe(organizationId: string, signal: AbortSignal): Promise<AsyncIterable<RunChange>> {
    if (this.#closed) throw new Unavailable('The run change feed is closed (the process is shutting down)');
    const channel = runChangesChannel(organizationId);
    const queue = new ChangeQueue();
    let set = this.#queues.get(channel);
    if (!set) {
      set = new Set();
      this.#queues.set(channel, set);
    }
    set.add(queue);
    const queues = set;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      signal.removeEventListener('abort', release);
      queue.end();
      queues.delete(queue);
      if (queues.size === 0 && this.#queues.get(channel) === queues) {
        this.#queues.delete(channel);
        this.#sub.unsubscribe(channel).catch(() => {});
      }
    };
    signal.addEventListener('abort', release, { once: true });
    try {
      // Idempotent: a channel already subscribed in this process is confirmed at once.
      await this.#sub.subscribe(channel);
    } catch (err) {
      release();
      throw redisError(err);
    }
    if (signal.aborted) release();
    return queue.drain(signal, release);
  }

  /** Channels this process listens to and their subscribers (tests). */
  stats(): { channels: number; subscribers: number } {
    let subscribers = 0;
    for (const set of this.#queues.values()) subscribers += set.size;
    return { channels: this.#queues.size, subscribers };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#failAll(new Unavailable('The run change feed is closed (the process is shutting down)'));
    this.#sub.disconnect();
    this.#pub.disconnect();
  }

  #deliver(channel: string, message: string): void {
    const queues = this.#queues.get(channel);
    if (!queues?.size) return;
    let change: RunChange;
    try {
      change = JSON.parse(message) as RunChange;
    } catch (err) {
      this.#logger?.warn({ err, channel }, 'ignoring a malformed run change message');
      return;
    }
    for (const queue of queues) queue.push(change);
  }

  #failAll(error: Error): void {
    const all = [...this.#queues.values()];
    this.#queues.clear();
    for (const set of all) for (const queue of set) queue.fail(error);
  }
}
