export * from './clickhouse-connect.ts';
export * from './clickhouse-sink.ts';
export * from './file-sink.ts';
export * from './line-splitter.ts';
export * from './metrics.ts';
export * from './sidecar.ts';
export * from './sidecar-start-error.ts';
export * from './sidecar-stats.ts';
