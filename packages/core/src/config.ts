import path from 'node:path';
import { z } from 'zod';

const flag = z
  .enum(['0', '1', 'true', 'false', ''])
  .optional()
  .transform((v) => v === '1' || v === 'true');

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** Like `flag`, but unset (or empty) means on. */
const flagDefaultOn = z
  .enum(['0', '1', 'true', 'false', ''])
  .optional()
  .transform((v) => v === undefined || v === '' || v === '1' || v === 'true');

/**
 * Every environment variable Runtrace reads, with its default (CONTRACTS §1).
 * This module is the only reader of `process.env`; everything else receives a {@link Config}.
 */
const envSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8283),
  NODE_ENV: z.enum(['production', 'development', 'test']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  RUNTRACE_DATA_DIR: z.string().min(1).default('.runtrace'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional()
    .or(z.literal('').transform(() => undefined)),
  REDIS_URL: z.string().optional(),
  CLICKHOUSE_URL: z.string().optional(),
  RUNTRACE_AUTH: z.enum(['optional', 'required']).default('optional'),
  TELEMETRY_PROVIDER_TRACE_BACKEND: z.string().optional(),
  LETTA_TELEMETRY_PROVIDER_TRACE_BACKEND: z.string().optional(),
  TELEMETRY_SOCKET: z.string().optional(),
  SOCKET_PATH: z.string().optional(),
  SIDECAR_CLICKHOUSE_URL: z.string().optional(),
  RUNTRACE_SIDECAR_DIR: z.string().optional(),
  RUNTRACE_SIDECAR_GZIP: flagDefaultOn,
  RUNTRACE_SIDECAR_METRICS_PORT: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce.number().int().min(0).max(65535).default(9464),
  ),
  RUNTRACE_SIDECAR_SOCKET_MODE: z
    .string()
    .regex(/^0?[0-7]{3}$/, 'must be an octal file mode such as 600 or 0660')
    .default('600'),
  RUNTRACE_SIDECAR_ROTATE_BYTES: positiveInt(64 * 1024 * 1024),
  RUNTRACE_SIDECAR_ROTATE_MS: positiveInt(60_000),
  RUNTRACE_SIDECAR_MAX_LINE_BYTES: positiveInt(128 * 1024 * 1024),
  RUNTRACE_SOCKET_QUEUE_MAX_RECORDS: positiveInt(10_000),
  RUNTRACE_SOCKET_QUEUE_MAX_BYTES: positiveInt(64 * 1024 * 1024),
  RUNTRACE_CLICKHOUSE_TTL_DAYS: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce.number().int().min(0).default(30),
  ),
  RUNTRACE_OTEL_TTL_DAYS: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(0).default(30)),
  RUNTRACE_OTEL_SELF_TRACE: z
    .string()
    .regex(/^(off|direct|otlp:https?:\/\/\S+)$/, 'must be off, direct or otlp:<http(s) URL of an OTLP/HTTP traces endpoint>')
    .default('off'),
  RUNTRACE_OTLP_MAX_BODY_BYTES: positiveInt(32 * 1024 * 1024),
  RUNTRACE_STREAM_RETENTION_MS: positiveInt(3 * 60 * 60 * 1000),
  RUNTRACE_STREAM_MAXLEN: positiveInt(10_000),
  RUNTRACE_STREAM_STALE_AFTER_MS: positiveInt(30 * 60 * 1000),
  RUNTRACE_STREAM_SWEEP_INTERVAL_MS: positiveInt(60_000),
  RUNTRACE_STREAM_KEEPALIVE_MS: positiveInt(15_000),
  /** Set by pnpm to the directory a command was typed in; relative paths are resolved from there. */
  INIT_CWD: z.string().optional(),
  RUNTRACE_REQUIRE_SERVICES: flag,
  RUNTRACE_CALLBACK_SECRET: z.string().optional(),
  RUNTRACE_CALLBACK_ALLOW_PRIVATE: flag,
  RUNTRACE_SHUTDOWN_TIMEOUT_MS: positiveInt(10_000),
  RUNTRACE_DB_CONNECT_TIMEOUT_MS: positiveInt(5_000),
  RUNTRACE_DB_STATEMENT_TIMEOUT_MS: positiveInt(10_000),
  RUNTRACE_DB_ACQUIRE_TIMEOUT_MS: positiveInt(5_000),
  RUNTRACE_REQUEST_TIMEOUT_MS: positiveInt(60_000),
  RUNTRACE_BODY_BUDGET_BYTES: positiveInt(128 * 1024 * 1024),
  RUNTRACE_CORS_ORIGINS: z.string().optional(),
  RUNTRACE_METRICS_PORT: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.coerce.number().int().min(0).max(65535).optional(),
  ),
  RUNTRACE_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  RUNTRACE_URL: z.preprocess(
    (v) => (v === '' ? undefined : v),
    z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default('http://127.0.0.1:8283'),
  ),
  RUNTRACE_API_KEY: z.string().optional(),
  RUNTRACE_BENCH_RUNS: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().positive().optional()),
  RUNTRACE_FUZZ_RUNS: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().positive().default(400)),
  RUNTRACE_FUZZ_SECONDS: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().positive().default(20)),
  RUNTRACE_FUZZ_SEED: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().optional()),
  RUNTRACE_FUZZ_PATH: z
    .string()
    .regex(/^\d+(:\d+)*$/, "must be a fast-check path such as '12' or '12:0:3'")
    .optional()
    .or(z.literal('').transform(() => undefined)),
});

export interface Config {
  /** Where the api listens. @default '127.0.0.1' */
  readonly host: string;
  /** @default 8283 */
  readonly port: number;
  /** `development` adds stack traces to error responses; nothing else changes. */
  readonly nodeEnv: 'production' | 'development' | 'test';
  readonly logLevel: string;
  /** Embedded data: `pgdata/` (PGlite), `clickhouse/` (chdb), `telemetry.sock`. */
  readonly dataDir: string;
  /** A postgres:// URL, or undefined for PGlite under `dataDir/pgdata`. */
  readonly databaseUrl: string | undefined;
  readonly redisUrl: string | undefined;
  readonly clickhouseUrl: string | undefined;
  /** `required`: every call needs a valid API key. */
  readonly auth: 'optional' | 'required';
  readonly telemetryBackends: readonly string[];
  readonly telemetrySocket: string;
  readonly sidecarClickhouseUrl: string | undefined;
  /** The socket backend's queue bound in records (RUNTRACE_SOCKET_QUEUE_MAX_RECORDS). @default 10000 */
  readonly socketQueueMaxRecords: number;
  /** The socket backend's queue bound in bytes of encoded lines (RUNTRACE_SOCKET_QUEUE_MAX_BYTES). @default 64 MiB */
  readonly socketQueueMaxBytes: number;
  /** Where the sidecar's file sink writes (RUNTRACE_SIDECAR_DIR). @default `<dataDir>/sidecar` */
  readonly sidecarDir: string;
  /** Gzip the sidecar's files (RUNTRACE_SIDECAR_GZIP=0 turns it off). @default true */
  readonly sidecarGzip: boolean;
  /** The sidecar's `GET /metrics` port on 127.0.0.1; 0 picks a free one (RUNTRACE_SIDECAR_METRICS_PORT). @default 9464 */
  readonly sidecarMetricsPort: number;
  /** File mode of the sidecar's socket (RUNTRACE_SIDECAR_SOCKET_MODE, octal). @default 0o600 (owner only) */
  readonly sidecarSocketMode: number;
  /** A sidecar file is closed and a new one started past this size (RUNTRACE_SIDECAR_ROTATE_BYTES). @default 64 MiB */
  readonly sidecarRotateBytes: number;
  /** …or past this age (RUNTRACE_SIDECAR_ROTATE_MS). @default 60000 */
  readonly sidecarRotateMs: number;
  /** Longest line the sidecar accepts (RUNTRACE_SIDECAR_MAX_LINE_BYTES). @default 128 MiB */
  readonly sidecarMaxLineBytes: number;
  /**
   * Days a provider trace stays in ClickHouse after it was received (RUNTRACE_CLICKHOUSE_TTL_DAYS); 0 keeps them
   * forever. Applied to the table at every start. @default 30
   */
  readonly clickhouseTraceTtlDays: number;
  /**
   * Days an OpenTelemetry span stays in ClickHouse after it started (RUNTRACE_OTEL_TTL_DAYS); 0 keeps them forever.
   * Applied to `otel_traces` and its trace-id lookup table at every start. @default 30
   */
  readonly otelTtlDays: number;
  /** Where the api's own request spans go (RUNTRACE_OTEL_SELF_TRACE). @default off */
  readonly selfTrace: SelfTraceSetting;
  /** Largest OTLP request body, compressed or not (RUNTRACE_OTLP_MAX_BODY_BYTES); beyond → 413. @default 32 MiB */
  readonly otlpMaxBodyBytes: number;
  /** A run's stream is kept this long after its last event (RUNTRACE_STREAM_RETENTION_MS). @default 3 h */
  readonly streamRetentionMs: number;
  /** Events kept per run stream; older ones are trimmed (RUNTRACE_STREAM_MAXLEN; Redis trims approximately). @default 10000 */
  readonly streamMaxLen: number;
  /**
   * A background run whose stream has had no event for this long is marked failed (`stream_incomplete`) and its
   * stream ended (RUNTRACE_STREAM_STALE_AFTER_MS). @default 30 min
   */
  readonly streamStaleAfterMs: number;
  /** How often each process looks for such runs (RUNTRACE_STREAM_SWEEP_INTERVAL_MS). @default 60000 */
  readonly streamSweepIntervalMs: number;
  /**
   * Quiet time after which `runs.stream({ includePings: true })` yields a `{ messageType: 'ping' }`
   * (RUNTRACE_STREAM_KEEPALIVE_MS; Letta's keepalive is 50 s). @default 15000
   */
  readonly streamKeepaliveMs: number;
  readonly requireServices: boolean;
  /** HMAC-SHA256 key for the `X-Runtrace-Signature` header of run callbacks. */
  readonly callbackSecret: string | undefined;
  /** Allow callbacks to loopback and private addresses (off: no server-side request forgery). */
  readonly callbackAllowPrivate: boolean;
  /** How long SIGTERM waits for in-flight work before exiting; the process exits then whatever it is waiting on. */
  readonly shutdownTimeoutMs: number;
  /** Longest wait for a new Postgres connection (RUNTRACE_DB_CONNECT_TIMEOUT_MS). @default 5000 */
  readonly dbConnectTimeoutMs: number;
  /** Postgres `statement_timeout` of every session (RUNTRACE_DB_STATEMENT_TIMEOUT_MS). @default 10000 */
  readonly dbStatementTimeoutMs: number;
  /**
   * Longest wait of a query for a pooled connection (RUNTRACE_DB_ACQUIRE_TIMEOUT_MS): a query is abandoned as
   * Unavailable once it has waited this plus the statement timeout. @default 5000
   */
  readonly dbAcquireTimeoutMs: number;
  /** Time a client has to send a whole request, headers and body (RUNTRACE_REQUEST_TIMEOUT_MS). @default 60000 */
  readonly requestTimeoutMs: number;
  /**
   * Bytes of request bodies received and not yet answered, across all requests (RUNTRACE_BODY_BUDGET_BYTES); a body
   * that would exceed it is refused with 503 and Retry-After. @default 128 MiB
   */
  readonly bodyBudgetBytes: number;
  /** Origins besides the api's own that browsers may call it from (RUNTRACE_CORS_ORIGINS, comma list). @default none */
  readonly corsOrigins: readonly string[];
  /**
   * Port of a separate `GET /metrics` listener (RUNTRACE_METRICS_PORT; 0 picks a free one). Unset: /metrics is on the
   * main port while RUNTRACE_AUTH=optional, and nowhere when it is required.
   */
  readonly metricsPort: number | undefined;
  /** Address of that listener (RUNTRACE_METRICS_HOST). @default '127.0.0.1' */
  readonly metricsHost: string;
  /** Where clients of a running api (`pnpm simulate`) send their calls (RUNTRACE_URL). @default 'http://127.0.0.1:8283' */
  readonly apiUrl: string;
  /** The API key those clients send (RUNTRACE_API_KEY); unset → the default organization, unless auth is required. */
  readonly apiKey: string | undefined;
  /** How many runs `pnpm bench` seeds (RUNTRACE_BENCH_RUNS); unset → the bench's own default (1,000,000). */
  readonly benchRuns: number | undefined;
  /**
   * The fuzz suite's budget per database driver: at most `runs` generated inputs (RUNTRACE_FUZZ_RUNS, default 400)
   * within `seconds` (RUNTRACE_FUZZ_SECONDS, default 20); `seed` and `path` (RUNTRACE_FUZZ_SEED, RUNTRACE_FUZZ_PATH)
   * replay a failure the suite printed.
   */
  readonly fuzz: { runs: number; seconds: number; seed: number | undefined; path: string | undefined };
}

/**
 * RUNTRACE_OTEL_SELF_TRACE: `off`; `direct` (the api's spans into its own span table, in process); or
 * `otlp:<url>` (exported as OTLP/HTTP protobuf to that traces endpoint, e.g. `otlp:http://collector:4318/v1/traces`).
 */
export type SelfTraceSetting = { mode: 'off' } | { mode: 'direct' } | { mode: 'otlp'; url: string };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The environment a child process inherits (an api or a sidecar started by a test or a bench), read here like every
 * variable: it passes PATH, the servers' URLs and the rest through to the child, which reads them with loadConfig.
 */
export function inheritedEnvironment(): Record<string, string | undefined> {
  return { ...process.env };
}

/** Reads the environment once; throws {@link ConfigError} naming each bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const backends = (e.TELEMETRY_PROVIDER_TRACE_BACKEND ?? e.LETTA_TELEMETRY_PROVIDER_TRACE_BACKEND ?? 'postgres')
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  return Object.freeze({
    host: e.HOST,
    port: e.PORT,
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    dataDir: path.resolve(e.INIT_CWD ?? process.cwd(), e.RUNTRACE_DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL || undefined,
    clickhouseUrl: e.CLICKHOUSE_URL || undefined,
    auth: e.RUNTRACE_AUTH,
    telemetryBackends: Object.freeze(backends),
    telemetrySocket: e.TELEMETRY_SOCKET ?? e.SOCKET_PATH ?? '/var/run/telemetry/telemetry.sock',
    sidecarClickhouseUrl: e.SIDECAR_CLICKHOUSE_URL || undefined,
    socketQueueMaxRecords: e.RUNTRACE_SOCKET_QUEUE_MAX_RECORDS,
    socketQueueMaxBytes: e.RUNTRACE_SOCKET_QUEUE_MAX_BYTES,
    sidecarDir: path.resolve(
      e.INIT_CWD ?? process.cwd(),
      e.RUNTRACE_SIDECAR_DIR || path.join(e.RUNTRACE_DATA_DIR, 'sidecar'),
    ),
    sidecarGzip: e.RUNTRACE_SIDECAR_GZIP,
    sidecarMetricsPort: e.RUNTRACE_SIDECAR_METRICS_PORT,
    sidecarSocketMode: Number.parseInt(e.RUNTRACE_SIDECAR_SOCKET_MODE, 8),
    sidecarRotateBytes: e.RUNTRACE_SIDECAR_ROTATE_BYTES,
    sidecarRotateMs: e.RUNTRACE_SIDECAR_ROTATE_MS,
    sidecarMaxLineBytes: e.RUNTRACE_SIDECAR_MAX_LINE_BYTES,
    clickhouseTraceTtlDays: e.RUNTRACE_CLICKHOUSE_TTL_DAYS,
    otelTtlDays: e.RUNTRACE_OTEL_TTL_DAYS,
    selfTrace: Object.freeze(
      e.RUNTRACE_OTEL_SELF_TRACE.startsWith('otlp:')
        ? { mode: 'otlp' as const, url: e.RUNTRACE_OTEL_SELF_TRACE.slice('otlp:'.length) }
        : { mode: e.RUNTRACE_OTEL_SELF_TRACE as 'off' | 'direct' },
    ),
    otlpMaxBodyBytes: e.RUNTRACE_OTLP_MAX_BODY_BYTES,
    streamRetentionMs: e.RUNTRACE_STREAM_RETENTION_MS,
    streamMaxLen: e.RUNTRACE_STREAM_MAXLEN,
    streamStaleAfterMs: e.RUNTRACE_STREAM_STALE_AFTER_MS,
    streamSweepIntervalMs: e.RUNTRACE_STREAM_SWEEP_INTERVAL_MS,
    streamKeepaliveMs: e.RUNTRACE_STREAM_KEEPALIVE_MS,
    requireServices: e.RUNTRACE_REQUIRE_SERVICES,
    callbackSecret: e.RUNTRACE_CALLBACK_SECRET || undefined,
    callbackAllowPrivate: e.RUNTRACE_CALLBACK_ALLOW_PRIVATE,
    shutdownTimeoutMs: e.RUNTRACE_SHUTDOWN_TIMEOUT_MS,
    dbConnectTimeoutMs: e.RUNTRACE_DB_CONNECT_TIMEOUT_MS,
    dbStatementTimeoutMs: e.RUNTRACE_DB_STATEMENT_TIMEOUT_MS,
    dbAcquireTimeoutMs: e.RUNTRACE_DB_ACQUIRE_TIMEOUT_MS,
    requestTimeoutMs: e.RUNTRACE_REQUEST_TIMEOUT_MS,
    bodyBudgetBytes: e.RUNTRACE_BODY_BUDGET_BYTES,
    corsOrigins: Object.freeze(
      (e.RUNTRACE_CORS_ORIGINS ?? '')
        .split(',')
        .map((origin) => origin.trim().replace(/\/+$/, ''))
        .filter(Boolean),
    ),
    metricsPort: e.RUNTRACE_METRICS_PORT,
    metricsHost: e.RUNTRACE_METRICS_HOST,
    apiUrl: e.RUNTRACE_URL,
    apiKey: e.RUNTRACE_API_KEY || undefined,
    benchRuns: e.RUNTRACE_BENCH_RUNS,
    fuzz: Object.freeze({
      runs: e.RUNTRACE_FUZZ_RUNS,
      seconds: e.RUNTRACE_FUZZ_SECONDS,
      seed: e.RUNTRACE_FUZZ_SEED,
      path: e.RUNTRACE_FUZZ_PATH,
    }),
  });
}
