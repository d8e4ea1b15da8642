export * from './actor.ts';
export * from './agents/agent-manager.ts';
export * from './auth/auth-manager.ts';
export * from './config.ts';
export * from './db/connect.ts';
export { databaseUnavailable } from './db/database-unavailable.ts';
export * from './domain-error-of.ts';
export { migrate } from './db/migrate.ts';
export * from './errors.ts';
export * from './ids.ts';
export * from './logger.ts';
export * from './messages/letta-message.ts';
export * from './messages/message-manager.ts';
export * from './pagination.ts';
export * from './runs/run-manager.ts';
export * from './runs/schemas.ts';
export * from './runs/status.ts';
export * from './runtime.ts';
export type { CheckResult, Readiness } from './readiness.ts';
export * from './steps/schemas.ts';
export * from './steps/step-manager.ts';
export * from './time.ts';
export * from './storable-text.ts';
export * from './runs/require-run.ts';
export * from './telemetry/backend.ts';
export * from './telemetry/backends/postgres.ts';
export * from './telemetry/backend-registry.ts';
export * from './telemetry/factory.ts';
export * from './telemetry/provider-trace.ts';
export * from './telemetry/provider-trace-service.ts';
export * from './telemetry/telemetry-manager.ts';
export * from './telemetry/telemetry-metrics.ts';
export * from './telemetry/backends/socket.ts';
export * from './telemetry/socket-protocol.ts';
export * from './telemetry/socket-drain.ts';
export * from './telemetry/tally.ts';
export * from './clickhouse/connect.ts';
export {
  currentTraceTtlDays,
  migrateClickHouse,
  type MigrateClickHouseOptions,
  openMigratedClickHouse,
} from './clickhouse/migrate.ts';
export { InsertBatcher, type InsertBatcherOptions, insertBody, RowsRefused } from './clickhouse/insert-batcher.ts';
export * from './traces/index.ts';
export * from './telemetry/backends/clickhouse.ts';
export * from './streams/run-event.ts';
export * from './streams/run-stream.ts';
export * from './streams/memory.ts';
export * from './streams/stream-ended-error.ts';
export * from './streams/run-changes.ts';
export * from './streams/change-queue.ts';
export * from './streams/run-stream-service.ts';
export * from './streams/factory.ts';
export { INLINE_PUBLISH_BYTES, STREAM_WRITE_LUA, streamKey } from './streams/redis-scripts.ts';
export * from './streams/redis-connection.ts';
export type { RunStreamStats } from './streams/pubsub-hub.ts';
export * from './streams/redis-run-stream.ts';
export * from './streams/redis-changes.ts';
