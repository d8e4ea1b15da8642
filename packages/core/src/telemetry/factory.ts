import { TELEMETRY_BACKEND_NAMES } from '../config.ts';
import type { Db } from '../db/connect.ts';
import { ConfigError } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { BackendName, ProviderTraceBackend } from './backend.ts';
import { PostgresProviderTraceBackend } from './backends/postgres.ts';

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
}

/** Names from config → backend instances, in configuration order. */
export function createBackends(names: readonly string[], deps: BackendDependencies): ProviderTraceBackend[] {
  return parseBackendNames(names).map((name) => {
    const onBackgroundError = (err: unknown) =>
      deps.logger.warn({ backend: name, err }, `background provider trace write to ${name} failed`);
    switch (name) {
      case 'postgres':
        return new PostgresProviderTraceBackend({ db: deps.db, onBackgroundError });
      default:
        throw new ConfigError(`TELEMETRY_PROVIDER_TRACE_BACKEND: backend "${name}" is not available yet`);
    }
  });
}
