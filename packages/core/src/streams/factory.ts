import type { Logger } from '../logger.ts';
import { memoryStreamStore } from './memory-store.ts';
import { redisStreamStore } from './redis-store.ts';
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
  /** A run's stream is kept this long after its last event (RUNTRACE_STREAM_RETENTION_MS). */
  readonly streamRetentionMs: number;
  /** Events kept per run stream; older ones are trimmed (RUNTRACE_STREAM_MAXLEN). */
  readonly streamMaxLen: number;
}

/** Opens a store's run-stream store and run-change feed; says which at start; throws when it cannot be reached. */
export type StreamStoreFactory = (settings: StreamStoreSettings, logger: Logger) => Promise<StreamStores>;

/** The stream stores by name: a new store is a file exporting its factory and a line here. */
export const streamStoreFactories = {
  memory: memoryStreamStore,
  redis: redisStreamStore,
} satisfies Record<string, StreamStoreFactory>;

export type StreamStoreName = keyof typeof streamStoreFactories;

/** Redis with REDIS_URL (several processes), else the in-process broker (one process). */
export function streamStoreName(settings: StreamStoreSettings): StreamStoreName {
  return settings.redisUrl ? 'redis' : 'memory';
}

/**
 * The run-stream store and the run-change feed from config (see {@link streamStoreName}). Says which at start.
 * Throws when REDIS_URL is set but Redis cannot be reached.
 */
export function createStreamStores(settings: StreamStoreSettings, logger: Logger): Promise<StreamStores> {
  return streamStoreFactories[streamStoreName(settings)](settings, logger);
}
