import { Cluster } from 'ioredis';
import { Unavailable } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { RunChange } from '../runs/run-manager.ts';
import { ChangeSubscribers, feedClosed } from './change-subscribers.ts';
import { connectPubSub, type RedisClient, type RedisConnectionOptions, redisError } from './redis-connection.ts';
import { type RunChangeFeed, runChangesKey, topicKey } from './run-changes.ts';

/**
 * Where this process PUBLISHes. A cluster sends a command without a key to any node, so two changes could leave from
 * two nodes and arrive swapped; from one node (the first master by address) they reach every node's subscribers in
 * publish order, over that node's cluster-bus links.
 */
function publisher(client: RedisClient): Pick<RedisClient, 'publish'> {
  if (!(client instanceof Cluster)) return client;
  const [first] = client
    .nodes('master')
    .sort((a, b) => `${a.options.host}:${a.options.port}`.localeCompare(`${b.options.host}:${b.options.port}`));
  return first ?? client;
}

/** The Pub/Sub channel of an organization's run changes. */
export const runChangesChannel = runChangesKey;

export interface RedisRunChangeFeedOptions extends RedisConnectionOptions {
  url: string;
  logger?: Logger | undefined;
}

/**
 * Run changes (and topics) across processes through Redis Pub/Sub: PUBLISH on the command connection, ONE subscriber
 * connection per process, a channel per organization (per topic) subscribed while someone in this process listens to
 * it. Subscribers are
 * failed with Unavailable when the subscriber connection drops (changes may have been missed): they subscribe again.
 * On a cluster a PUBLISH crosses the cluster bus after the publishing node acknowledged it, so a change published just
 * before a subscription may still reach it; every change published after `subscribe` resolved does.
 */
export class RedisRunChangeFeed implements RunChangeFeed {
  readonly kind = 'redis' as const;
  readonly #pub: RedisClient;
  readonly #sub: RedisClient;
  readonly #logger: Logger | undefined;
  readonly #subscribers = new ChangeSubscribers<unknown>();
  #closed = false;

  private constructor(pub: RedisClient, sub: RedisClient, logger: Logger | undefined) {
    this.#pub = pub;
    this.#sub = sub;
    this.#logger = logger;
    sub.on('message', (channel: string, message: string) => this.#deliver(channel, message));
    sub.on('close', () => {
      this.#subscribers.failAll(new Unavailable('Redis (REDIS_URL) is unavailable: the connection was lost'));
    });
  }

  static async connect(options: RedisRunChangeFeedOptions): Promise<RedisRunChangeFeed> {
    const names = { cmd: 'runtrace:run-changes', sub: 'runtrace:run-changes:sub' };
    const { cmd, sub } = await connectPubSub(options.url, names, options);
    return new RedisRunChangeFeed(cmd, sub, options.logger);
  }

  async publish(change: RunChange): Promise<void> {
    await this.#publish(runChangesChannel(change.organizationId), change);
  }

  async subscribe(organizationId: string, signal: AbortSignal): Promise<AsyncIterable<RunChange>> {
    return (await this.#subscribe(runChangesChannel(organizationId), signal)) as AsyncIterable<RunChange>;
  }

  publishTopic(topic: string, message: unknown): Promise<void> {
    return this.#publish(topicKey(topic), message);
  }

  subscribeTopic(topic: string, signal: AbortSignal): Promise<AsyncIterable<unknown>> {
    return this.#subscribe(topicKey(topic), signal);
  }

  async #publish(channel: string, message: unknown): Promise<void> {
    try {
      await publisher(this.#pub).publish(channel, JSON.stringify(message));
    } catch (err) {
      throw redisError(err);
    }
  }

  async #subscribe(channel: string, signal: AbortSignal): Promise<AsyncIterable<unknown>> {
    if (this.#closed) throw feedClosed();
    const { changes, release } = this.#subscribers.add(channel, signal, () => {
      this.#sub.unsubscribe(channel).catch(() => {});
    });
    try {
      // Idempotent: a channel already subscribed in this process is confirmed at once.
      await this.#sub.subscribe(channel);
    } catch (err) {
      release();
      throw redisError(err);
    }
    if (signal.aborted) release();
    return changes;
  }

  /** Channels this process listens to and their subscribers (tests). */
  stats(): { channels: number; subscribers: number } {
    const { keys, subscribers } = this.#subscribers.stats();
    return { channels: keys, subscribers };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#subscribers.failAll(feedClosed());
    this.#sub.disconnect();
    this.#pub.disconnect();
  }

  #deliver(channel: string, message: string): void {
    if (!this.#subscribers.has(channel)) return;
    let change: unknown;
    try {
      change = JSON.parse(message);
    } catch (err) {
      this.#logger?.warn({ err, channel }, 'ignoring a malformed run change or topic message');
      return;
    }
    this.#subscribers.deliver(channel, change);
  }
}
