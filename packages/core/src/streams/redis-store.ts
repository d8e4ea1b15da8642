import { RedisRunChangeFeed } from './redis-changes.ts';
import { RedisRunStream } from './redis-run-stream.ts';
import type { StreamStoreFactory } from './stream-store.ts';

/** Run streams and run changes in Redis (REDIS_URL), shared by every process using it. */
export const redisStreamStore: StreamStoreFactory = async (settings, logger) => {
  const url = settings.redisUrl;
  if (!url) throw new Error('the Redis stream store needs REDIS_URL');
  const cluster = settings.redisCluster ?? false;
  const stream = await RedisRunStream.connect({
    url,
    cluster,
    logger,
    retentionMs: settings.streamRetentionMs,
    maxLen: settings.streamMaxLen,
  });
  try {
    const changes = await RedisRunChangeFeed.connect({ url, logger, cluster });
    logger.info(
      cluster ? 'run streams: Redis Cluster (REDIS_URL, RUNTRACE_REDIS_CLUSTER)' : 'run streams: Redis (REDIS_URL)',
    );
    return { stream, changes };
  } catch (err) {
    await stream.close();
    throw err;
  }
};
