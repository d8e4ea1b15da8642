import { ConfigError } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { ProviderTraceBackend } from './backend.ts';
import { type BackendRegistry, providerTraceBackends, type RegistryDependencies } from './backend-registry.ts';

/**
 * Checks TELEMETRY_PROVIDER_TRACE_BACKEND's names against the registry: an unknown or repeated name stops start-up
 * with the valid names (the reference silently turned unknown names into Postgres and wrote duplicates twice).
 */
export function parseBackendNames<R extends BackendRegistry = typeof providerTraceBackends>(
  names: readonly string[],
  registry: R = providerTraceBackends as BackendRegistry as R,
): (keyof R & string)[] {
  const valid = Object.keys(registry).join(', ');
  const seen = new Set<string>();
  for (const name of names) {
    if (!Object.hasOwn(registry, name)) {
      throw new ConfigError(`TELEMETRY_PROVIDER_TRACE_BACKEND: unknown backend "${name}"; valid names: ${valid}`);
    }
    if (seen.has(name)) {
      throw new ConfigError(`TELEMETRY_PROVIDER_TRACE_BACKEND: "${name}" is listed twice; valid names: ${valid}`);
    }
    seen.add(name);
  }
  return names as (keyof R & string)[];
}

/**
 * What createBackends needs to open the backends `N` of `R` (all of them when the names are only known at run
 * time, as from configuration): a logger, and what each of those backends declared in its factory.
 */
export type BackendDependencies<R extends BackendRegistry = typeof providerTraceBackends, N extends string = string> = {
  logger: Logger;
} & RegistryDependencies<string extends N ? R : Pick<R, N & keyof R>>;

/** Names from config → backend instances, in configuration order; what was opened is closed again on failure. */
export async function createBackends<
  R extends BackendRegistry = typeof providerTraceBackends,
  N extends string = string,
>(
  names: readonly N[],
  deps: BackendDependencies<R, N>,
  registry: R = providerTraceBackends as BackendRegistry as R,
): Promise<ProviderTraceBackend[]> {
  const opened: ProviderTraceBackend[] = [];
  try {
    for (const name of parseBackendNames(names, registry)) {
      const onBackgroundError = (err: unknown) =>
        deps.logger.warn({ backend: name, err }, `background provider trace write to ${name} failed`);
      // `deps` holds what every named backend declared (BackendDependencies); the registry's type forgets which
      opened.push(await registry[name]!.open(deps as never, { logger: deps.logger, onBackgroundError }));
    }
    return opened;
  } catch (err) {
    await Promise.allSettled(opened.map((b) => b.close()));
    throw err;
  }
}
