/**
 * `@runtrace/core/telemetry`: provider traces — the backend contract and its registry, the three backends, the
 * manager that fans writes out to them, the read/write service, and the socket protocol the sidecar speaks.
 */

export type { BackendContext, BackendFactory, BackendStats, ProviderTraceBackend } from './backend.ts';
export { type BackendName, type BackendRegistry, providerTraceBackends } from './backend-registry.ts';
export { ClickHouseProviderTraceBackend, clickhouseBackend } from './backends/clickhouse.ts';
export { PostgresProviderTraceBackend, postgresBackend } from './backends/postgres.ts';
export { SocketProviderTraceBackend, socketBackend } from './backends/socket.ts';
export { type BackendDependencies, createBackends } from './factory.ts';
export {
  type ProviderTrace,
  type ProviderTraceInput,
  providerTraceInput,
  providerTraceSchema,
  toProviderTrace,
} from './provider-trace.ts';
export { listRunTracesInput, ProviderTraceService, stepTraceInput } from './provider-trace-service.ts';
export { SocketDrain, type SocketDrainOptions } from './socket-drain.ts';
export { type CheckResult, checkLine } from './socket-line-check.ts';
export {
  type DecodeResult,
  decodeLine,
  encodeRecord,
  PROTOCOL_VERSION,
  type SocketRecordV1,
  toSocketRecord,
} from './socket-protocol.ts';
export { TelemetryManager, type TelemetryManagerOptions } from './telemetry-manager.ts';
export type { BackendHealth, WriteResult } from './telemetry-metrics.ts';
