import type { ApiConfig } from '@runtrace/core/config';
import { connectRedis, redisOptions } from '@runtrace/core/internal';

/** Where the section looks for Redis when REDIS_URL is unset (the project's CI and dev machines). */
export const FALLBACK_REDIS_URL = 'redis://127.0.0.1:6379';

export type Redis = Awaited<ReturnType<typeof connectRedis>>;
/** A bench connection to Redis: one retry per command. */
export const openRedis = (url: string, name: string) =>
  connectRedis(url, { ...redisOptions(name), maxRetriesPerRequest: 1 });

/** The connections Redis has open (CLIENT LIST), this one included. */
export async function redisClientCount(redis: Redis): Promise<number> {
  const list = (await redis.call('CLIENT', 'LIST')) as string;
  return list.split('\n').filter((line) => line.trim()).length;
}

/** REDIS_URL, else the fallback when it answers; the section is skipped without Redis (the baseline polls XRANGE). */
export async function resolveRedisUrl(config: ApiConfig, log: (line: string) => void): Promise<string | null> {
  if (config.redisUrl) return config.redisUrl;
  try {
    const probe = await openRedis(FALLBACK_REDIS_URL, 'runtrace-bench-probe');
    await probe.ping();
    probe.disconnect();
    log(`    REDIS_URL is not set; using ${FALLBACK_REDIS_URL}, which answers`);
    return FALLBACK_REDIS_URL;
  } catch {
    return null;
  }
}
