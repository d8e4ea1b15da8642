import path from 'node:path';
import { z } from 'zod';
import {
  DEFAULT_SELF_TRACE_SERVICE_NAME,
  DEFAULT_TELEMETRY_BACKENDS,
  DEFAULT_TELEMETRY_SOCKET,
  type TRACES_SAMPLERS,
  VARIABLES,
  type VariableName,
  type VariableValue,
} from './config-variables.ts';

/**
 * What each process reads from the environment: settings (the fields of a config object) computed from variables
 * (config-variables.ts), and per process the settings it needs. A process parses only its own variables, so the
 * sidecar neither needs nor rejects the api's and the other way round; a setting two processes share is defined once.
 */

type Parsed<V extends readonly VariableName[]> = { [N in V[number]]: VariableValue<N> };

interface Setting<V extends readonly VariableName[] = readonly VariableName[], T = unknown> {
  readonly variables: V;
  read(env: Parsed<V>): T;
}

const setting = <const V extends readonly VariableName[], T>(
  variables: V,
  read: (env: Parsed<V>) => T,
): Setting<V, T> => ({
  variables,
  read,
});

/** A setting that is one variable's parsed value. */
const from = <N extends VariableName>(name: N) => setting([name], (env): VariableValue<N> => env[name]);

/** A setting whose empty value means unset. */
const nonEmpty = <N extends VariableName>(name: N) =>
  setting([name], (env) => (env[name] as string | undefined) || undefined);

/** Relative paths count from where the command was typed (pnpm's INIT_CWD), not from the package pnpm runs in. */
const resolveFromInvocation = (initCwd: string | undefined, dir: string) => path.resolve(initCwd ?? process.cwd(), dir);

/** OTEL_TRACES_SAMPLER and its OTEL_TRACES_SAMPLER_ARG ratio. */
export interface SelfTraceSampler {
  readonly name: (typeof TRACES_SAMPLERS)[number];
  /** For the `traceidratio` samplers: the share of traces kept, 0 to 1. */
  readonly ratio: number;
}

interface SelfTraceSpans {
  /** `service.name` of the spans (OTEL_SERVICE_NAME). */
  readonly serviceName: string;
  readonly sampler: SelfTraceSampler;
}

/**
 * A ClickHouse TTL: its own variable when set, else RUNTRACE_RETENTION_DAYS (one setting for every store), else the
 * 30 days ClickHouse kept before retention existed (retention `off` keeps Postgres forever, not ClickHouse).
 */
const ttlDays = (name: 'RUNTRACE_CLICKHOUSE_TTL_DAYS' | 'RUNTRACE_OTEL_TTL_DAYS') =>
  setting([name, 'RUNTRACE_RETENTION_DAYS'], (env): number => {
    const retention = env.RUNTRACE_RETENTION_DAYS;
    return env[name] ?? (retention === 'off' ? 30 : retention);
  });

/**
 * Where the api's own request spans go: `off`; `direct` (into its own span table, in process); or `otlp` (exported as
 * OTLP/HTTP protobuf to `url`, with `headers`). Precedence: OTEL_SDK_DISABLED=true → off; else RUNTRACE_OTEL_SELF_TRACE
 * when set; else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (as is), else OTEL_EXPORTER_OTLP_ENDPOINT + `/v1/traces`; else off.
 */
export type SelfTraceSetting =
  | { readonly mode: 'off' }
  | ({ readonly mode: 'direct' } & SelfTraceSpans)
  | ({
      readonly mode: 'otlp';
      readonly url: string;
      readonly headers: Readonly<Record<string, string>>;
    } & SelfTraceSpans);

/** OTEL_EXPORTER_OTLP_HEADERS: `key=value` pairs separated by commas, values URL-encoded (the OpenTelemetry format). */
function otlpHeaders(value: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of (value ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    headers[pair.slice(0, at).trim().toLowerCase()] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return headers;
}

/** The self-trace destination by the precedence of {@link SelfTraceSetting}. */
function selfTraceDestination(env: {
  OTEL_SDK_DISABLED: boolean;
  RUNTRACE_OTEL_SELF_TRACE: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: string | undefined;
  OTEL_EXPORTER_OTLP_ENDPOINT: string | undefined;
}): { mode: 'off' | 'direct' } | { mode: 'otlp'; url: string } {
  if (env.OTEL_SDK_DISABLED) return { mode: 'off' };
  const own = env.RUNTRACE_OTEL_SELF_TRACE;
  if (own?.startsWith('otlp:')) return { mode: 'otlp', url: own.slice('otlp:'.length) };
  if (own) return { mode: own as 'off' | 'direct' };
  if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return { mode: 'otlp', url: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT };
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT) {
    return { mode: 'otlp', url: `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces` };
  }
  return { mode: 'off' };
}

const SETTINGS = {
  /** Where the api listens (HOST). @default '127.0.0.1' */
  host: from('HOST'),
  /** PORT. @default 8283 */
  port: from('PORT'),
  /** `development` adds stack traces to error responses; nothing else changes (NODE_ENV). @default 'production' */
  nodeEnv: from('NODE_ENV'),
  /** LOG_LEVEL. */
  logLevel: setting(['LOG_LEVEL'], (env): string => env.LOG_LEVEL),
  /** Embedded data: `pgdata/` (PGlite), `clickhouse/` (chdb) (RUNTRACE_DATA_DIR, absolute). */
  dataDir: setting(['RUNTRACE_DATA_DIR', 'INIT_CWD'], (env) =>
    resolveFromInvocation(env.INIT_CWD, env.RUNTRACE_DATA_DIR),
  ),
  /** A postgres:// URL, or undefined for PGlite under `dataDir/pgdata` (DATABASE_URL). */
  databaseUrl: from('DATABASE_URL'),
  /** REDIS_URL; undefined → the in-process stream broker. */
  redisUrl: nonEmpty('REDIS_URL'),
  /** REDIS_URL is a node of a Redis Cluster (RUNTRACE_REDIS_CLUSTER). @default false */
  redisCluster: from('RUNTRACE_REDIS_CLUSTER'),
  /** CLICKHOUSE_URL; undefined → chdb under `dataDir`, `off` → no ClickHouse. */
  clickhouseUrl: nonEmpty('CLICKHOUSE_URL'),
  /** RUNTRACE_CLICKHOUSE_CLUSTER; undefined → one ClickHouse node (see clickhouse/render-migration.ts). */
  clickhouseCluster: nonEmpty('RUNTRACE_CLICKHOUSE_CLUSTER'),
  /** `required`: every call needs a valid API key (RUNTRACE_AUTH). */
  auth: from('RUNTRACE_AUTH'),
  /** Provider-trace backend names as configured, unchecked (TELEMETRY_PROVIDER_TRACE_BACKEND or its Letta alias). */
  telemetryBackends: setting(
    ['TELEMETRY_PROVIDER_TRACE_BACKEND', 'LETTA_TELEMETRY_PROVIDER_TRACE_BACKEND'],
    (env): readonly string[] =>
      Object.freeze(
        (
          env.TELEMETRY_PROVIDER_TRACE_BACKEND ??
          env.LETTA_TELEMETRY_PROVIDER_TRACE_BACKEND ??
          DEFAULT_TELEMETRY_BACKENDS
        )
          .split(',')
          .map((name) => name.trim())
          .filter(Boolean),
      ),
  ),
  /** The sidecar's socket (TELEMETRY_SOCKET, alias SOCKET_PATH). */
  telemetrySocket: setting(
    ['TELEMETRY_SOCKET', 'SOCKET_PATH'],
    (env) => env.TELEMETRY_SOCKET ?? env.SOCKET_PATH ?? DEFAULT_TELEMETRY_SOCKET,
  ),
  /** The sidecar's own ClickHouse (SIDECAR_CLICKHOUSE_URL); undefined → file sink only. */
  sidecarClickhouseUrl: nonEmpty('SIDECAR_CLICKHOUSE_URL'),
  /** The socket backend's queue bound in records (RUNTRACE_SOCKET_QUEUE_MAX_RECORDS). @default 10000 */
  socketQueueMaxRecords: from('RUNTRACE_SOCKET_QUEUE_MAX_RECORDS'),
  /** The socket backend's queue bound in bytes of encoded lines (RUNTRACE_SOCKET_QUEUE_MAX_BYTES). @default 64 MiB */
  socketQueueMaxBytes: from('RUNTRACE_SOCKET_QUEUE_MAX_BYTES'),
  /** Where the sidecar's file sink writes (RUNTRACE_SIDECAR_DIR, absolute). @default `<dataDir>/sidecar` */
  sidecarDir: setting(['RUNTRACE_SIDECAR_DIR', 'RUNTRACE_DATA_DIR', 'INIT_CWD'], (env) =>
    resolveFromInvocation(env.INIT_CWD, env.RUNTRACE_SIDECAR_DIR || path.join(env.RUNTRACE_DATA_DIR, 'sidecar')),
  ),
  /** Gzip the sidecar's files (RUNTRACE_SIDECAR_GZIP=0 turns it off). @default true */
  sidecarGzip: from('RUNTRACE_SIDECAR_GZIP'),
  /** The sidecar's `GET /metrics` port on 127.0.0.1; 0 picks a free one (RUNTRACE_SIDECAR_METRICS_PORT). @default 9464 */
  sidecarMetricsPort: from('RUNTRACE_SIDECAR_METRICS_PORT'),
  /** File mode of the sidecar's socket (RUNTRACE_SIDECAR_SOCKET_MODE, octal). @default 0o600 (owner only) */
  sidecarSocketMode: setting(['RUNTRACE_SIDECAR_SOCKET_MODE'], (env) =>
    Number.parseInt(env.RUNTRACE_SIDECAR_SOCKET_MODE, 8),
  ),
  /** A sidecar file is closed and a new one started past this size (RUNTRACE_SIDECAR_ROTATE_BYTES). @default 64 MiB */
  sidecarRotateBytes: from('RUNTRACE_SIDECAR_ROTATE_BYTES'),
  /** …or past this age (RUNTRACE_SIDECAR_ROTATE_MS). @default 60000 */
  sidecarRotateMs: from('RUNTRACE_SIDECAR_ROTATE_MS'),
  /** Longest line the sidecar accepts (RUNTRACE_SIDECAR_MAX_LINE_BYTES). @default 128 MiB */
  sidecarMaxLineBytes: from('RUNTRACE_SIDECAR_MAX_LINE_BYTES'),
  /**
   * Days a provider trace stays in ClickHouse; 0 keeps them forever (RUNTRACE_CLICKHOUSE_TTL_DAYS).
   * @default RUNTRACE_RETENTION_DAYS when it is a number, else 30
   */
  clickhouseTraceTtlDays: ttlDays('RUNTRACE_CLICKHOUSE_TTL_DAYS'),
  /**
   * Days an OpenTelemetry span stays in ClickHouse; 0 keeps them forever (RUNTRACE_OTEL_TTL_DAYS).
   * @default RUNTRACE_RETENTION_DAYS when it is a number, else 30
   */
  otelTtlDays: ttlDays('RUNTRACE_OTEL_TTL_DAYS'),
  /** Where the api's own request spans go, and how (RUNTRACE_OTEL_SELF_TRACE and the standard OTEL_*). @default off */
  selfTrace: setting(
    [
      'RUNTRACE_OTEL_SELF_TRACE',
      'OTEL_SDK_DISABLED',
      'OTEL_EXPORTER_OTLP_ENDPOINT',
      'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
      'OTEL_EXPORTER_OTLP_HEADERS',
      'OTEL_SERVICE_NAME',
      'OTEL_TRACES_SAMPLER',
      'OTEL_TRACES_SAMPLER_ARG',
    ],
    (env): SelfTraceSetting => {
      const destination = selfTraceDestination(env);
      if (destination.mode === 'off') return Object.freeze({ mode: 'off' as const });
      const spans: SelfTraceSpans = {
        serviceName: env.OTEL_SERVICE_NAME ?? DEFAULT_SELF_TRACE_SERVICE_NAME,
        sampler: Object.freeze({
          name: env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on',
          ratio: env.OTEL_TRACES_SAMPLER_ARG ?? 1,
        }),
      };
      return Object.freeze(
        destination.mode === 'otlp'
          ? { ...destination, ...spans, headers: Object.freeze(otlpHeaders(env.OTEL_EXPORTER_OTLP_HEADERS)) }
          : { mode: destination.mode, ...spans },
      );
    },
  ),
  /** Largest OTLP request body, compressed or not (RUNTRACE_OTLP_MAX_BODY_BYTES); beyond → 413. @default 32 MiB */
  otlpMaxBodyBytes: from('RUNTRACE_OTLP_MAX_BODY_BYTES'),
  /** Port of the OTLP/gRPC receiver on `host` (RUNTRACE_OTLP_GRPC_PORT; 0 picks a free one), or 'off'. @default 4317 */
  otlpGrpcPort: from('RUNTRACE_OTLP_GRPC_PORT'),
  /** A run's stream is kept this long after its last event (RUNTRACE_STREAM_RETENTION_MS). @default 3 h */
  streamRetentionMs: from('RUNTRACE_STREAM_RETENTION_MS'),
  /** Days a finished run is kept; null keeps everything (RUNTRACE_RETENTION_DAYS). Organizations may override it. @default off */
  retentionDays: setting(['RUNTRACE_RETENTION_DAYS'], (env): number | null =>
    env.RUNTRACE_RETENTION_DAYS === 'off' ? null : env.RUNTRACE_RETENTION_DAYS,
  ),
  /** How often the retention job runs (RUNTRACE_RETENTION_INTERVAL_MS). @default 15 min */
  retentionIntervalMs: from('RUNTRACE_RETENTION_INTERVAL_MS'),
  /** Runs deleted per statement by the retention job (RUNTRACE_RETENTION_BATCH_SIZE). @default 1000 */
  retentionBatchSize: from('RUNTRACE_RETENTION_BATCH_SIZE'),
  /**
   * Which store answers analytics (RUNTRACE_ANALYTICS_SOURCE); `clickhouse` needs CLICKHOUSE_URL not `off` (the runtime
   * refuses to start otherwise, with a ConfigError). @default 'postgres'
   */
  analyticsSource: from('RUNTRACE_ANALYTICS_SOURCE'),
  /** Events kept per run stream; older ones are trimmed (RUNTRACE_STREAM_MAXLEN). @default 10000 */
  streamMaxLen: from('RUNTRACE_STREAM_MAXLEN'),
  /** A background run whose stream is silent this long fails (RUNTRACE_STREAM_STALE_AFTER_MS). @default 30 min */
  streamStaleAfterMs: from('RUNTRACE_STREAM_STALE_AFTER_MS'),
  /** How often each process looks for such runs (RUNTRACE_STREAM_SWEEP_INTERVAL_MS). @default 60000 */
  streamSweepIntervalMs: from('RUNTRACE_STREAM_SWEEP_INTERVAL_MS'),
  /** Quiet time before a `ping` of `runs.stream({ includePings: true })` (RUNTRACE_STREAM_KEEPALIVE_MS). @default 15000 */
  streamKeepaliveMs: from('RUNTRACE_STREAM_KEEPALIVE_MS'),
  /** Tests fail instead of skipping when a server is missing (RUNTRACE_REQUIRE_SERVICES). */
  requireServices: from('RUNTRACE_REQUIRE_SERVICES'),
  /** HMAC-SHA256 key for the `X-Runtrace-Signature` header of run callbacks (RUNTRACE_CALLBACK_SECRET). */
  callbackSecret: nonEmpty('RUNTRACE_CALLBACK_SECRET'),
  /** Allow callbacks to loopback and private addresses (off: no server-side request forgery). */
  callbackAllowPrivate: from('RUNTRACE_CALLBACK_ALLOW_PRIVATE'),
  /** How long SIGTERM waits for in-flight work before exiting; the process exits then whatever it is waiting on. */
  shutdownTimeoutMs: from('RUNTRACE_SHUTDOWN_TIMEOUT_MS'),
  /** Longest wait for a new Postgres connection (RUNTRACE_DB_CONNECT_TIMEOUT_MS). @default 5000 */
  dbConnectTimeoutMs: from('RUNTRACE_DB_CONNECT_TIMEOUT_MS'),
  /** Postgres `statement_timeout` of every session (RUNTRACE_DB_STATEMENT_TIMEOUT_MS). @default 10000 */
  dbStatementTimeoutMs: from('RUNTRACE_DB_STATEMENT_TIMEOUT_MS'),
  /** Longest wait of a query for a pooled connection (RUNTRACE_DB_ACQUIRE_TIMEOUT_MS). @default 5000 */
  dbAcquireTimeoutMs: from('RUNTRACE_DB_ACQUIRE_TIMEOUT_MS'),
  /** Time a client has to send a whole request, headers and body (RUNTRACE_REQUEST_TIMEOUT_MS). @default 60000 */
  requestTimeoutMs: from('RUNTRACE_REQUEST_TIMEOUT_MS'),
  /** Request-body bytes held at once across all requests (RUNTRACE_BODY_BUDGET_BYTES). @default 128 MiB */
  bodyBudgetBytes: from('RUNTRACE_BODY_BUDGET_BYTES'),
  /**
   * Smallest JSON or text answer sent compressed (RUNTRACE_HTTP_COMPRESSION_MIN_BYTES); null: never compressed.
   * @default 1024
   */
  httpCompressionMinBytes: setting(['RUNTRACE_HTTP_COMPRESSION_MIN_BYTES'], (env): number | null =>
    env.RUNTRACE_HTTP_COMPRESSION_MIN_BYTES === 'off' ? null : env.RUNTRACE_HTTP_COMPRESSION_MIN_BYTES,
  ),
  /** Origins besides the api's own that browsers may call it from (RUNTRACE_CORS_ORIGINS, comma list). @default none */
  corsOrigins: setting(['RUNTRACE_CORS_ORIGINS'], (env): readonly string[] =>
    Object.freeze(
      (env.RUNTRACE_CORS_ORIGINS ?? '')
        .split(',')
        .map((origin) => origin.trim().replace(/\/+$/, ''))
        .filter(Boolean),
    ),
  ),
  /** Port of a separate `GET /metrics` listener (RUNTRACE_METRICS_PORT; 0 picks a free one); unset → see README. */
  metricsPort: from('RUNTRACE_METRICS_PORT'),
  /** Address of that listener (RUNTRACE_METRICS_HOST). @default '127.0.0.1' */
  metricsHost: from('RUNTRACE_METRICS_HOST'),
  /** Where clients of a running api send their calls (RUNTRACE_URL). @default 'http://127.0.0.1:8283' */
  apiUrl: from('RUNTRACE_URL'),
  /** The API key clients send, and the api's self-trace exporter (RUNTRACE_API_KEY). */
  apiKey: nonEmpty('RUNTRACE_API_KEY'),
  /** How many runs `pnpm bench` seeds (RUNTRACE_BENCH_RUNS); unset → the bench's own default (1,000,000). */
  benchRuns: from('RUNTRACE_BENCH_RUNS'),
  /**
   * The fuzz suite's budget per database driver: at most `runs` generated inputs within `seconds`; `seed` and `path`
   * replay a failure the suite printed (RUNTRACE_FUZZ_RUNS, _SECONDS, _SEED, _PATH).
   */
  fuzz: setting(
    ['RUNTRACE_FUZZ_RUNS', 'RUNTRACE_FUZZ_SECONDS', 'RUNTRACE_FUZZ_SEED', 'RUNTRACE_FUZZ_PATH'],
    (env): { runs: number; seconds: number; seed: number | undefined; path: string | undefined } =>
      Object.freeze({
        runs: env.RUNTRACE_FUZZ_RUNS,
        seconds: env.RUNTRACE_FUZZ_SECONDS,
        seed: env.RUNTRACE_FUZZ_SEED,
        path: env.RUNTRACE_FUZZ_PATH,
      }),
  ),
  /** Apply pending migrations at start (RUNTRACE_MIGRATE=on); off leaves it to `pnpm runtrace migrate`. @default true */
  migrateAtStart: setting(['RUNTRACE_MIGRATE'], (env): boolean => env.RUNTRACE_MIGRATE === 'on'),
} satisfies Record<string, Setting>;

type SettingName = keyof typeof SETTINGS;

/** Every setting's type, with the JSDoc above (a homomorphic mapped type keeps it for the slices' Picks). */
type Settings = { readonly [K in SettingName]: ReturnType<(typeof SETTINGS)[K]['read']> };

/** One process's settings: the variables they read, parsed by one zod object, and the config built from them. */
export interface ConfigSlice<K extends SettingName> {
  readonly process: string;
  readonly settings: readonly K[];
  /** The variables this process reads, in README order. */
  readonly variables: readonly VariableName[];
  readonly schema: z.ZodType<Record<string, unknown>>;
  build(parsed: Record<string, unknown>): Pick<Settings, K>;
}

function slice<const K extends SettingName>(process: string, settings: readonly K[]): ConfigSlice<K> {
  const reads = new Set<VariableName>(settings.flatMap((name) => SETTINGS[name].variables));
  const variables = (Object.keys(VARIABLES) as VariableName[]).filter((name) => reads.has(name));
  const schema = z.object(Object.fromEntries(variables.map((name) => [name, VARIABLES[name].schema])));
  return {
    process,
    settings,
    variables,
    schema,
    build: (parsed) =>
      Object.freeze(
        Object.fromEntries(
          settings.map((name) => [name, (SETTINGS[name] as Setting<readonly VariableName[]>).read(parsed as never)]),
        ),
      ) as Pick<Settings, K>,
  };
}

/** The api server, and every process that opens a Runtime (the CLI, the bench's in-process api, test runtimes). */
export const API = slice('api', [
  'host',
  'port',
  'nodeEnv',
  'logLevel',
  'dataDir',
  'databaseUrl',
  'redisUrl',
  'redisCluster',
  'clickhouseUrl',
  'clickhouseCluster',
  'auth',
  'telemetryBackends',
  'telemetrySocket',
  'socketQueueMaxRecords',
  'socketQueueMaxBytes',
  'clickhouseTraceTtlDays',
  'otelTtlDays',
  'selfTrace',
  'otlpMaxBodyBytes',
  'otlpGrpcPort',
  'streamRetentionMs',
  'retentionDays',
  'retentionIntervalMs',
  'retentionBatchSize',
  'analyticsSource',
  'streamMaxLen',
  'streamStaleAfterMs',
  'streamSweepIntervalMs',
  'streamKeepaliveMs',
  'callbackSecret',
  'callbackAllowPrivate',
  'shutdownTimeoutMs',
  'dbConnectTimeoutMs',
  'dbStatementTimeoutMs',
  'dbAcquireTimeoutMs',
  'requestTimeoutMs',
  'bodyBudgetBytes',
  'httpCompressionMinBytes',
  'corsOrigins',
  'metricsPort',
  'metricsHost',
  'apiKey',
  'migrateAtStart',
]);

/** `pnpm sidecar`: the receiver of the socket telemetry protocol. */
export const SIDECAR = slice('sidecar', [
  'logLevel',
  'dataDir',
  'telemetrySocket',
  'sidecarClickhouseUrl',
  'sidecarDir',
  'sidecarGzip',
  'sidecarMetricsPort',
  'sidecarSocketMode',
  'sidecarRotateBytes',
  'sidecarRotateMs',
  'sidecarMaxLineBytes',
  'shutdownTimeoutMs',
]);

/**
 * Processes that drive or measure a Runtrace from outside: `pnpm simulate`, `pnpm watch-run`, the dashboard's dev
 * server, `pnpm bench`, and the test suites (which servers they run against, the fuzz budget).
 */
export const TOOL = slice('tools and tests', [
  'apiUrl',
  'apiKey',
  'databaseUrl',
  'redisUrl',
  'clickhouseUrl',
  'requireServices',
  'benchRuns',
  'fuzz',
]);

/** The slices in the README's order. */
export const SLICES: readonly Pick<ConfigSlice<SettingName>, 'process' | 'variables'>[] = [API, SIDECAR, TOOL];

/** What the api reads (see {@link API}). */
export interface ApiConfig extends Pick<Settings, (typeof API.settings)[number]> {}
/** What the sidecar reads. */
export interface SidecarConfig extends Pick<Settings, (typeof SIDECAR.settings)[number]> {}
/** What tools and test suites read. */
export interface ToolConfig extends Pick<Settings, (typeof TOOL.settings)[number]> {}
