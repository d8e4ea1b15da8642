import type { Logger } from '../logger.ts';
import { memoryStreamStore } from './memory-store.ts';
import { redisStreamStore } from './redis-store.ts';
import type { StreamStoreFactory, StreamStoreSettings, StreamStores } from './stream-store.ts';

export type { StreamStoreFactory, StreamStoreSettings, StreamStores } from './stream-store.ts';

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
