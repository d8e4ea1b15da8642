import { MemoryRunStream } from './memory.ts';
import { MemoryRunChangeFeed } from './run-changes.ts';
import type { StreamStoreFactory } from './stream-store.ts';

/** The in-process broker and feed: streams and run changes reach this process only (no REDIS_URL). */
export const memoryStreamStore: StreamStoreFactory = async (settings, logger) => {
  logger.info(
    'run streams: in-process broker (REDIS_URL is unset); streams and run changes reach this process only, so run one api process or set REDIS_URL',
  );
  return {
    stream: new MemoryRunStream({ retentionMs: settings.streamRetentionMs, maxLen: settings.streamMaxLen }),
    changes: new MemoryRunChangeFeed(),
  };
};
