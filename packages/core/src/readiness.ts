import { Redis } from 'ioredis';
import type { ClickHouse } from './clickhouse/connect.ts';
import { pendingClickHouseMigrations } from './clickhouse/migrate.ts';
import type { Db } from './db/connect.ts';
import { pendingMigrations } from './db/migrate.ts';
import { redisOptions } from './streams/redis-connection.ts';

/** What `/readyz` reports per store: no names, addresses or data, only whether it can serve. */
export type CheckResult = 'ok' | 'unavailable' | 'migrations pending';

export interface Readiness {
  ready: boolean;
  checks: Record<string, CheckResult>;
}

export interface ReadinessOptions {
  db: Db;
  /** Checked only when configured (REDIS_URL). */
  redisUrl?: string | undefined;
  /** Checked only when configured (CLICKHOUSE_URL not `off`). */
  clickhouse?: ClickHouse | null;
  /** Each check's bound: a store slower than this is unavailable. @default 2000 */
  timeoutMs?: number;
}

/**
 * A probe of every configured store (CONTRACTS §9): one ping each, in parallel, each bounded in time; Postgres (or
 * PGlite) and ClickHouse are ready only with every migration of this build applied.
 */
export class ReadinessProbe {
  readonly #options: ReadinessOptions;
  /** Its own connection, so a probe never queues behind (or disturbs) the streams' commands. */
  readonly #redis: Redis | null;

  constructor(options: ReadinessOptions) {
    this.#options = options;
    this.#redis = options.redisUrl ? new Redis(options.redisUrl, redisOptions('runtrace:readiness')) : null;
    this.#redis?.on('error', () => {}); // a failed ping says it
  }

  async check(): Promise<Readiness> {
    const { db, clickhouse } = this.#options;
    const checks: [string, () => Promise<CheckResult>][] = [
      ['postgres', async () => ((await pendingMigrations(db)) > 0 ? 'migrations pending' : 'ok')],
    ];
    const redis = this.#redis;
    if (redis) {
      checks.push([
        'redis',
        async () => {
          if (redis.status === 'wait' || redis.status === 'end') await redis.connect();
          await redis.ping();
          return 'ok';
        },
      ]);
    }
    if (clickhouse) {
      checks.push([
        'clickhouse',
        async () => {
          if (!(await clickhouse.client.ping()).success) return 'unavailable';
          return (await pendingClickHouseMigrations(clickhouse)) > 0 ? 'migrations pending' : 'ok';
        },
      ]);
    }
    const timeoutMs = this.#options.timeoutMs ?? 2000;
    const results = await Promise.all(
      checks.map(async ([name, check]) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<CheckResult>((resolve) => {
          timer = setTimeout(() => resolve('unavailable'), timeoutMs);
        });
        const result = await Promise.race([check().catch((): CheckResult => 'unavailable'), timeout]);
        clearTimeout(timer);
        return [name, result] as const;
      }),
    );
    return { ready: results.every(([, r]) => r === 'ok'), checks: Object.fromEntries(results) };
  }

  close(): void {
    this.#redis?.disconnect();
  }
}
