export * from './figures.ts';
export * from './latency-histogram.ts';
export { PostgresAnalytics, type PostgresAnalyticsOptions, rebuildRollups } from './postgres-analytics.ts';
export * from './schemas.ts';
