import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { MemoryRunStream } from './memory.ts';
import { MemoryRunChangeFeed, type RunChangeFeed } from './run-changes.ts';
import type { RunStream } from './run-stream.ts';

export interface StreamStores {
  stream: RunStream;
  changes: RunChangeFeed;
}

/** The run-stream store and the run-change feed from config: Redis with REDIS_URL, else in-process (one process). */
export async function createStreamStores(config: Config, logger: Logger): Promise<StreamStores> {
  logger.info(
    'run streams: in-process broker (REDIS_URL is unset): streams and run changes reach only this process; set REDIS_URL to run several api processes',
  );
  return {
    stream: new MemoryRunStream({ retentionMs: config.streamRetentionMs, maxLen: config.streamMaxLen }),
    changes: new MemoryRunChangeFeed(),
  };
}
