import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { MemoryRunStream } from './memory.ts';
import { RedisRunStream } from './redis-run-stream.ts';
import { RedisRunChangeFeed } from './redis-changes.ts';
import { MemoryRunChangeFeed, type RunChangeFeed } from './run-changes.ts';
import type { RunStream } from './run-stream.ts';

export interface StreamStores {
  stream: RunStream;
  changes: RunChangeFeed;
}

/**
 * The run-stream store and the run-change feed from config: Redis with REDIS_URL (several processes), else the
 * in-process broker (one process). Says which at start. Throws when REDIS_URL is set but Redis cannot be reached.
 */
export async function createStreamStores(config: Config, logger: Logger): Promise<StreamStores> {
  const tuning = { retentionMs: config.streamRetentionMs, maxLen: config.streamMaxLen };
  if (!config.redisUrl) {
    logger.info(
      'run streams: in-process broker (REDIS_URL is unset); streams and run changes reach this process only, so run one api process or set REDIS_URL',
    );
    return { stream: new MemoryRunStream(tuning), changes: new MemoryRunChangeFeed() };
  }
  const url = config.redisUrl;
  const stream = await RedisRunStream.connect({ url, logger, ...tuning });
  try {
    const changes = await RedisRunChangeFeed.connect({ url, logger });
    logger.info('run streams: Redis (REDIS_URL)');
    return { stream, changes };
  } catch (err) {
    await stream.close();
    throw err;
  }
}
