import type { ClickHouse } from '../clickhouse/connect.ts';
import { type Config, ConfigError, TELEMETRY_BACKEND_NAMES } from '../config.ts';
import type { Db } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import type { BackendName, ProviderTraceBackend } from './backend.ts';
import { ClickHouseProviderTraceBackend, openClickHouseProviderTraceBackend } from './backends/clickhouse.ts';
import { PostgresProviderTraceBackend } from './backends/postgres.ts';
import { SocketProviderTraceBackend } from './backends/socket.ts';

/**
 * Checks TELEMETRY_PROVIDER_TRACE_BACKEND's names: an unknown or repeated name stops start-up with the valid names
 * (the reference silently turned unknown names into Postgres and wrote duplicates twice).
 */
export function parseBackendNames(names: readonly string[]): BackendName[] {
  const valid = TELEMETRY_BACKEND_NAMES.join(', ');
  const seen = new Set<string>();
  for (const name of names) {
    if (!(TELEMETRY_BACKEND_NAMES as readonly string[]).includes(name)) {
      throw new ConfigError(`TELEMETRY_PROVIDER_TRACE_BACKEND: unknown backend "${name}"; valid names: ${valid}`);
    }
    if (seen.has(name)) {
      throw new ConfigError(`TELEMETRY_PROVIDER_TRACE_BACKEND: "${name}" is listed twice; valid names: ${valid}`);
    }
    seen.add(name);
  }
  return names as BackendName[];
}

export interface BackendDependencies {
  db: Db;
  logger: Logger;
  /**
   * The process's ClickHouse (migrations applied), shared with the span tables; the clickhouse backend writes through
   * it. Without it the backend opens its own handle from `config`.
   */
  clickhouse?: ClickHouse | null;
  config: Pick<
    Config,
    | 'clickhouseUrl'
    | 'dataDir'
    | 'clickhouseTraceTtlDays'
    | 'telemetrySocket'
    | 'socketQueueMaxRecords'
    | 'socketQueueMaxBytes'
  >;
}

/** Names from config → backend instances, in configuration order; what was opened is closed again on failure. */
export async function createBackends(names: readonly string[], deps: BackendDependencies): Promise<ProviderTraceBackend[]> {
  const opened: ProviderTraceBackend[] = [];
  try {
    for (const name of parseBackendNames(names)) opened.push(await openBackend(name, deps));
    return opened;
  } catch (err) {
    await Promise.allSettled(opened.map((b) => b.close()));
    throw err;
  }
}

async function openBackend(name: BackendName, deps: BackendDependencies): Promise<ProviderTraceBackend> {
  const onBackgroundError = (err: unknown) =>
    deps.logger.warn({ backend: name, err }, `background provider trace write to ${name} failed`);
  switch (name) {
    case 'postgres':
      return new PostgresProviderTraceBackend({ db: deps.db, onBackgroundError });
    case 'clickhouse':
      return deps.clickhouse
        ? new ClickHouseProviderTraceBackend({ clickhouse: deps.clickhouse, onBackgroundError })
        : openClickHouseProviderTraceBackend(deps.config, { onBackgroundError });
    case 'socket': {
      const log = deps.logger.child({ backend: 'socket', socket: deps.config.telemetrySocket });
      return new SocketProviderTraceBackend({
        socketPath: deps.config.telemetrySocket,
        maxRecords: deps.config.socketQueueMaxRecords,
        maxBytes: deps.config.socketQueueMaxBytes,
        onStatus: ({ connected, error }) =>
          connected ? log.info('telemetry sidecar connected') : log.warn({ error }, 'telemetry sidecar unreachable; queueing'),
      });
    }
  }
}
