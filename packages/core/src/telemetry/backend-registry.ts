import type { BackendFactory } from './backend.ts';
import { clickhouseBackend } from './backends/clickhouse.ts';
import { postgresBackend } from './backends/postgres.ts';
import { socketBackend } from './backends/socket.ts';

/**
 * Every provider-trace backend TELEMETRY_PROVIDER_TRACE_BACKEND may name. A new backend is one file under backends/
 * (its class and its {@link BackendFactory}, passing backend.contract.ts) and one line here; the key is its name in
 * configuration, and the order is the one error messages list the valid names in.
 */
export const providerTraceBackends = {
  postgres: postgresBackend,
  clickhouse: clickhouseBackend,
  socket: socketBackend,
} satisfies Record<string, BackendFactory>;

/** {@link providerTraceBackends}, or a test's copy of it with more backends. */
export type BackendRegistry = Readonly<Record<string, BackendFactory<never>>>;

type DependenciesOf<F> = F extends BackendFactory<infer Deps> ? Deps : never;

/**
 * What opening every backend of `R` takes: the intersection of what each declared (each backend's parameter type is
 * one candidate for `D`, and a parameter's candidates intersect).
 */
export type RegistryDependencies<R extends BackendRegistry> = {
  [K in keyof R]: (deps: DependenciesOf<R[K]>) => void;
}[keyof R] extends (deps: infer D) => void
  ? D
  : never;

/** A backend's name in TELEMETRY_PROVIDER_TRACE_BACKEND: a key of {@link providerTraceBackends}. */
export type BackendName = keyof typeof providerTraceBackends;
