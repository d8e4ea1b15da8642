/**
 * `@runtrace/core`: the cross-cutting core every service needs — the runtime, domain errors, ids, the actor, logging,
 * time, pagination, storable text, the database and auth. Each area has a subpath of its own: `/runs`, `/telemetry`,
 * `/streams`, `/traces`, `/clickhouse`, `/config`, `/testing` (and `/run-names` for browsers); `/internal` is for
 * benches and tests only. A symbol is exported where something outside core uses it, or where it is plainly public API.
 */
export * from './actor.ts';
export { backfillClickHouseAnalytics } from './analytics/clickhouse/backfill-clickhouse.ts';
export * from './analytics/index.ts';
export { type ApiKeyInfo, AuthManager, type Organization } from './auth/auth-manager.ts';
export { type ConnectOptions, connectDatabase, type Database, type Db } from './db/connect.ts';
export { migrate } from './db/migrate.ts';
export { domainErrorOf } from './domain-error-of.ts';
export * from './errors.ts';
export { type IdKind, idSchema, invalidIdMessage, isId, newId } from './ids.ts';
export { createLogger, type Logger, stdoutSink } from './logger.ts';
export { type MigrateStoresOptions, migrateStores, type StoreMigrations } from './migrate-stores.ts';
export type { Order, Page } from './pagination.ts';
export type { CheckResult, Readiness } from './readiness.ts';
export * from './retention/index.ts';
export { createRuntime, type Runtime, type RuntimeOptions } from './runtime.ts';
export {
  assertStorableInput,
  toStorableText,
  type UnstorableInputIssue,
  unstorableInputIssue,
} from './storable-text.ts';
export { TIMESTAMP_MAX, TIMESTAMP_MIN, timestampInputSchema } from './time.ts';
