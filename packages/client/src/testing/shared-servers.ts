import { testConfig } from '@runtrace/core/testing';

/** A Postgres and a Redis that several processes share. */
export interface SharedServers {
  databaseUrl: string;
  redisUrl: string;
}

/**
 * The test process's DATABASE_URL and REDIS_URL, or null when either is unset — then the multi-process suite named
 * `suite` does not run, unless RUNTRACE_REQUIRE_SERVICES=1 makes the absence an error.
 */
export function sharedServers(suite: string): SharedServers | null {
  if (testConfig.databaseUrl && testConfig.redisUrl) {
    return { databaseUrl: testConfig.databaseUrl, redisUrl: testConfig.redisUrl };
  }
  if (testConfig.requireServices) {
    throw new Error(`RUNTRACE_REQUIRE_SERVICES=1 but DATABASE_URL or REDIS_URL is not set: ${suite} cannot run`);
  }
  return null;
}
