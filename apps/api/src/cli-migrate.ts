import { migrateStores, type StoreMigrations } from '@runtrace/core';
import { loadApiConfig } from '@runtrace/core/config';

/** What `pnpm runtrace migrate` prints: per store, what it applied or that nothing was pending. */
export function describeMigrations(result: StoreMigrations): string {
  const list = (applied: readonly (string | number)[]) =>
    applied.length
      ? `applied ${applied.length} migration${applied.length === 1 ? '' : 's'} (${applied.join(', ')})`
      : 'up to date, nothing applied';
  return [
    `${result.driver}: ${list(result.database)}`,
    `clickhouse: ${result.clickhouse ? list(result.clickhouse) : 'off (CLICKHOUSE_URL=off)'}`,
  ].join('\n');
}

/**
 * `pnpm runtrace migrate`: applies the pending migrations of Postgres (or PGlite) and, when configured, ClickHouse,
 * then exits. The same code and advisory lock as the api's start-up, so it is safe beside starting replicas and a
 * second run applies nothing. Meant to run before the api when that has RUNTRACE_MIGRATE=off (a Kubernetes Job).
 * An embedded store (PGlite, chdb) admits one process: stop the api first.
 */
export async function migrateCommand(print: (value: unknown, text: string) => void): Promise<number> {
  const result = await migrateStores({ config: loadApiConfig() });
  print(result, describeMigrations(result));
  return 0;
}
