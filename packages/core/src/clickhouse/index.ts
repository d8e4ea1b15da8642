/**
 * `@runtrace/core/clickhouse`: the ClickHouse connection (server or embedded chdb) and its migrations, shared by the
 * trace store and the ClickHouse telemetry backend (and the sidecar's sink).
 */
export { type ClickHouse, type ConnectClickHouseOptions, clickhouseOff, connectClickHouse } from './connect.ts';
export { type MigrateClickHouseOptions, migrateClickHouse } from './migrate.ts';
