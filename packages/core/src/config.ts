import {
  API,
  type ApiConfig,
  type ConfigSlice,
  SIDECAR,
  type SidecarConfig,
  TOOL,
  type ToolConfig,
} from './config-slices.ts';

export type { ApiConfig, SelfTraceSetting, SidecarConfig, ToolConfig } from './config-slices.ts';

/*
 * This module is the only reader of `process.env`. Each process parses just the variables it uses into a config of
 * its own (config-slices.ts); everything else receives that object or the part of it it needs. The variables, their
 * defaults and their meaning are in config-variables.ts, from which the README's table is generated.
 */

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

/**
 * The environment a child process inherits (an api or a sidecar started by a test or a bench), read here like every
 * variable: it passes PATH, the servers' URLs and the rest through to the child, which reads its own config from it.
 */
export function inheritedEnvironment(): Env {
  return { ...process.env };
}

/** Parses one process's variables; throws {@link ConfigError} naming each bad one. */
function load<T>(
  slice: Pick<ConfigSlice<never>, 'schema'> & { build(parsed: Record<string, unknown>): T },
  env: Env,
): T {
  const parsed = slice.schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n  ${lines.join('\n  ')}`);
  }
  return slice.build(parsed.data);
}

/** The api's configuration, also of every process that opens a Runtime (the CLI, the bench, test runtimes). */
export function loadApiConfig(env: Env = process.env): ApiConfig {
  return load(API, env);
}

/** The sidecar's configuration: it neither needs nor checks the api's variables. */
export function loadSidecarConfig(env: Env = process.env): SidecarConfig {
  return load(SIDECAR, env);
}

/** The configuration of tools (simulate, watch-run, bench, the dashboard's dev server) and of the test suites. */
export function loadToolConfig(env: Env = process.env): ToolConfig {
  return load(TOOL, env);
}
