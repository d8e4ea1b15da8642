import type { Logger } from '../logger.ts';
import type { RunChangeFeed } from './run-changes.ts';
import type { RunStream } from './run-stream.ts';

export interface StreamStores {
  stream: RunStream;
  changes: RunChangeFeed;
}

/** What the stream stores read of the configuration (named as in ApiConfig, so any process's config fits). */
export interface StreamStoreSettings {
  /** REDIS_URL: run streams and run changes in Redis, shared by several processes; unset, the in-process broker. */
  readonly redisUrl?: string | undefined;
  /** REDIS_URL is a node of a Redis Cluster (RUNTRACE_REDIS_CLUSTER). @default false */
  readonly redisCluster?: boolean | undefined;
  /** A run's stream is kept this long after its last event (RUNTRACE_STREAM_RETENTION_MS). */
  readonly streamRetentionMs: number;
  /** Events kept per run stream; older ones are trimmed (RUNTRACE_STREAM_MAXLEN). */
  readonly streamMaxLen: number;
}

/** Opens a store's run-stream store and run-change feed; says which at start; throws when it cannot be reached. */
export type StreamStoreFactory = (settings: StreamStoreSettings, logger: Logger) => Promise<StreamStores>;
