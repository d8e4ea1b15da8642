/**
 * `@runtrace/core/internal`: what benches and tests reach into and nothing else uses — Redis keys and connections,
 * the ClickHouse insert path, OTLP decoding, cursor encoding.
 *
 * No stability promise: anything here may change or go without notice. Not for services — an app's `src/` (outside
 * its tests) imports from `@runtrace/core` and its area subpaths only.
 */
export { AnalyticsFeed } from './analytics/clickhouse/analytics-feed.ts';
export { ClickHouseAnalytics } from './analytics/clickhouse/clickhouse-analytics.ts';
export { qualified } from './clickhouse/connect.ts';
export { InsertBatcher } from './clickhouse/insert-batcher.ts';
export { encodeCursor } from './pagination.ts';
export { connectRedis, redisOptions } from './streams/redis-connection.ts';
export { streamKey } from './streams/redis-scripts.ts';
export { toIso } from './time.ts';
export { insertSpanRows, SPAN_BATCHING } from './traces/otel-traces.ts';
export { otlpProtoTypes } from './traces/otlp-proto.ts';
export { otlpToRows } from './traces/otlp-to-rows.ts';
