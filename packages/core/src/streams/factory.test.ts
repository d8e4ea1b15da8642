import { describe, expect, it } from 'vitest';
import type { Logger } from '../logger.ts';
import { testConfig } from '../testing/index.ts';
import { createStreamStores, streamStoreFactories, streamStoreName } from './factory.ts';

/** A logger keeping what is said at info level. */
function listeningLogger(): { logger: Logger; said: string[] } {
  const said: string[] = [];
  const quiet = () => {};
  const logger = {
    info: (...args: unknown[]) => said.push(String(args.find((a) => typeof a === 'string'))),
    warn: quiet,
    debug: quiet,
    error: quiet,
  } as unknown as Logger;
  return { logger, said };
}

const settings = { streamRetentionMs: 60_000, streamMaxLen: 100 };

describe('stream stores', () => {
  it('are named by the registry and chosen by REDIS_URL alone', () => {
    expect(Object.keys(streamStoreFactories).sort()).toEqual(['memory', 'redis']);
    expect(streamStoreName(settings)).toBe('memory');
    expect(streamStoreName({ ...settings, redisUrl: undefined })).toBe('memory');
    expect(streamStoreName({ ...settings, redisUrl: 'redis://127.0.0.1:6379' })).toBe('redis');
  });

  it('without REDIS_URL: the in-process broker and feed, saying they reach this process only', async () => {
    const { logger, said } = listeningLogger();
    const stores = await createStreamStores({ ...settings, redisUrl: undefined }, logger);
    expect([stores.stream.kind, stores.changes.kind]).toEqual(['memory', 'memory']);
    expect(said).toEqual([
      'run streams: in-process broker (REDIS_URL is unset); streams and run changes reach this process only, so run one api process or set REDIS_URL',
    ]);
    await stores.stream.close();
    await stores.changes.close();
  });

  it('with a REDIS_URL nobody answers on: a startup error naming REDIS_URL', async () => {
    const { logger, said } = listeningLogger();
    await expect(createStreamStores({ ...settings, redisUrl: 'redis://127.0.0.1:1' }, logger)).rejects.toThrow(
      /REDIS_URL/,
    );
    expect(said).toEqual([]);
  });

  it.runIf(testConfig.redisUrl)('with REDIS_URL: Redis for both, saying so', async () => {
    const { logger, said } = listeningLogger();
    const stores = await createStreamStores({ ...settings, redisUrl: testConfig.redisUrl }, logger);
    expect([stores.stream.kind, stores.changes.kind]).toEqual(['redis', 'redis']);
    expect(said).toEqual(['run streams: Redis (REDIS_URL)']);
    await stores.stream.close();
    await stores.changes.close();
  });
});
