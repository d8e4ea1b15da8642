import { z } from 'zod';

/**
 * Every environment variable Runtrace reads: its schema (validation and default) beside its documentation. The
 * README's configuration table is generated from this (`pnpm docs:config`), so a variable is added in one place.
 * Reading the environment stays in config.ts; this module only describes.
 */

/** How a variable appears in the README's table. */
export interface VariableDoc {
  /** The meaning column (markdown). */
  readonly description: string;
  /** What leaving it unset means, when the schema has no default of its own (rendered `unset → …`). */
  readonly unset?: string;
  /** Said after the schema's default, in parentheses. */
  readonly defaultNote?: string;
}

/** An older name read when the main one is unset; documented on the main variable's row. */
export interface AliasDoc {
  readonly aliasOf: string;
}

export interface Variable<S extends z.ZodType = z.ZodType> {
  readonly schema: S;
  readonly doc: VariableDoc | AliasDoc;
}

const variable = <S extends z.ZodType>(schema: S, doc: VariableDoc | AliasDoc): Variable<S> => ({ schema, doc });

/** Where the `socket` backend writes and the sidecar listens (Letta's path). */
export const DEFAULT_TELEMETRY_SOCKET = '/var/run/telemetry/telemetry.sock';
/** The `service.name` of the api's own spans when OTEL_SERVICE_NAME is unset. */
export const DEFAULT_SELF_TRACE_SERVICE_NAME = 'runtrace-api';
/** OTEL_TRACES_SAMPLER's values (the OpenTelemetry SDK's built-in samplers). */
export const TRACES_SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
/** Provider-trace backends when TELEMETRY_PROVIDER_TRACE_BACKEND (and its alias) are unset. */
export const DEFAULT_TELEMETRY_BACKENDS = 'postgres';

const flag = z
  .enum(['0', '1', 'true', 'false', ''])
  .optional()
  .transform((v) => v === '1' || v === 'true');

/** Like `flag`, but unset (or empty) means on. */
const flagDefaultOn = z
  .enum(['0', '1', 'true', 'false', ''])
  .optional()
  .transform((v) => v === undefined || v === '' || v === '1' || v === 'true');

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** An empty value counts as unset, so `VAR=` falls back to the default instead of failing as a number. */
const emptyAsUnset = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (v === '' ? undefined : v), schema);

const port = () => z.coerce.number().int().min(0).max(65535);
/** Unset stays undefined: the ClickHouse TTLs then follow RUNTRACE_RETENTION_DAYS (config-slices.ts). */
const optionalDays = () => emptyAsUnset(z.coerce.number().int().min(0).optional());
/** Days, or `off`: retention's setting and its per-organization override share this form. */
const daysOrOff = () =>
  emptyAsUnset(z.union([z.literal('off'), z.coerce.number().int().positive().max(36_500)]).default('off'));
const optionalString = () => z.string().optional();

/** Ordered as the README lists them within each process. */
export const VARIABLES = {
  HOST: variable(z.string().min(1).default('127.0.0.1'), { description: 'address the api listens on' }),
  PORT: variable(port().default(8283), { description: 'port the api listens on' }),
  NODE_ENV: variable(z.enum(['production', 'development', 'test']).default('production'), {
    description:
      '`development` (only when asked for: `pnpm --filter @runtrace/api dev` sets it) adds stack traces to error responses; nothing else changes',
  }),
  LOG_LEVEL: variable(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'), {
    description: 'pino level: `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`',
  }),
  RUNTRACE_DATA_DIR: variable(z.string().min(1).default('.runtrace'), {
    description:
      'embedded data (`pgdata/` for PGlite, `clickhouse/` for chdb), relative to where the command was typed',
  }),
  INIT_CWD: variable(optionalString(), {
    unset: 'the working directory',
    description:
      'set by pnpm to the directory a command was typed in; relative `RUNTRACE_DATA_DIR` and `RUNTRACE_SIDECAR_DIR` are resolved from it',
  }),
  DATABASE_URL: variable(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
      .optional()
      .or(z.literal('').transform(() => undefined)),
    {
      unset: 'PGlite in the data dir',
      description:
        '`postgres://…` → a server (required for several api processes); for tests and `pnpm bench`, the server they create scratch databases on',
    },
  ),
  REDIS_URL: variable(optionalString(), {
    unset: 'in-process stream broker (one process)',
    description:
      '`redis://…` → run streams (key `sse:run:{<runId>}`) and run-change notifications in Redis (required for several api processes)',
  }),
  RUNTRACE_REDIS_CLUSTER: variable(flag, {
    description:
      '`1` → `REDIS_URL` names one node of a Redis Cluster: the others are discovered, and every key of a run carries the run id as hash tag (`{<runId>}`), so each lands on one slot',
  }),
  CLICKHOUSE_URL: variable(optionalString(), {
    unset: 'chdb in the data dir',
    description:
      '`chdb:<dir>`, `chdb:memory`, `http(s)://user:password@host:port/database`, or `off` (ClickHouse features answer NOT_IMPLEMENTED naming this variable)',
  }),
  RUNTRACE_CLICKHOUSE_CLUSTER: variable(optionalString(), {
    unset: 'one ClickHouse node',
    description:
      "a cluster of the servers' `remote_servers`: migrations run `ON CLUSTER` it, data tables become `Replicated*MergeTree` (`<table>_local`, ZooKeeper path `/clickhouse/tables/{shard}/<database>/<table>_local`, the servers define the `{shard}`/`{replica}` macros) under a `Distributed` table of the plain name; needs a server in `CLICKHOUSE_URL`",
  }),
  RUNTRACE_AUTH: variable(z.enum(['optional', 'required']).default('optional'), {
    description: '`required` → every call needs a valid key',
  }),
  TELEMETRY_PROVIDER_TRACE_BACKEND: variable(optionalString(), {
    unset: `\`${DEFAULT_TELEMETRY_BACKENDS}\``,
    description: 'comma list of `postgres`, `clickhouse`, `socket`: where provider traces are written',
  }),
  LETTA_TELEMETRY_PROVIDER_TRACE_BACKEND: variable(optionalString(), { aliasOf: 'TELEMETRY_PROVIDER_TRACE_BACKEND' }),
  TELEMETRY_SOCKET: variable(optionalString(), {
    unset: `\`${DEFAULT_TELEMETRY_SOCKET}\` (Letta's)`,
    description:
      "the sidecar's Unix socket: where the `socket` backend writes and `pnpm sidecar` listens; the sidecar says at start when its directory is missing or not writable",
  }),
  SOCKET_PATH: variable(optionalString(), { aliasOf: 'TELEMETRY_SOCKET' }),
  RUNTRACE_SOCKET_QUEUE_MAX_RECORDS: variable(positiveInt(10_000), {
    description: "the socket backend's queue bound in records; beyond it the oldest record is dropped and counted",
  }),
  RUNTRACE_SOCKET_QUEUE_MAX_BYTES: variable(positiveInt(64 * 1024 * 1024), {
    description:
      "the socket backend's queue bound in bytes of encoded lines; beyond it the oldest record is dropped and counted",
  }),
  SIDECAR_CLICKHOUSE_URL: variable(optionalString(), {
    unset: 'file sink only',
    description:
      'the sidecar also inserts records, batched, into `sidecar_provider_traces` of this ClickHouse (`http(s)://user:password@host:port/database`, or a `chdb:<dir>` of its own: a chdb directory is locked to one process)',
  }),
  RUNTRACE_SIDECAR_DIR: variable(optionalString(), {
    unset: '`<RUNTRACE_DATA_DIR>/sidecar`',
    description: "the sidecar's rolling NDJSON files",
  }),
  RUNTRACE_SIDECAR_GZIP: variable(flagDefaultOn, {
    description: '`0` → uncompressed `.ndjson` files instead of `.ndjson.gz`',
  }),
  RUNTRACE_SIDECAR_METRICS_PORT: variable(emptyAsUnset(port().default(9464)), {
    description: "the sidecar's `GET /metrics` on 127.0.0.1 (`0` → a free port, logged)",
  }),
  RUNTRACE_SIDECAR_SOCKET_MODE: variable(
    z
      .string()
      .regex(/^0?[0-7]{3}$/, 'must be an octal file mode such as 600 or 0660')
      .default('600'),
    { description: "octal file mode of the sidecar's socket (owner only by default)" },
  ),
  RUNTRACE_SIDECAR_ROTATE_BYTES: variable(positiveInt(64 * 1024 * 1024), {
    description: 'a sidecar file is completed past this size (uncompressed)',
  }),
  RUNTRACE_SIDECAR_ROTATE_MS: variable(positiveInt(60_000), {
    description: 'a sidecar file is completed past this age',
  }),
  RUNTRACE_SIDECAR_MAX_LINE_BYTES: variable(positiveInt(128 * 1024 * 1024), {
    description: 'longer lines are skipped and counted (`too_large`)',
  }),
  RUNTRACE_CLICKHOUSE_TTL_DAYS: variable(optionalDays(), {
    unset: '`RUNTRACE_RETENTION_DAYS` when that is a number, else 30',
    description:
      'days ClickHouse keeps a provider trace after receiving it (`0` keeps them forever); applied to the table at every start (by `pnpm runtrace migrate` when `RUNTRACE_MIGRATE=off`)',
  }),
  RUNTRACE_OTEL_TTL_DAYS: variable(optionalDays(), {
    unset: '`RUNTRACE_RETENTION_DAYS` when that is a number, else 30',
    description:
      'days ClickHouse keeps an OpenTelemetry span, counted from its start (`0` keeps them forever); applied to `otel_traces` and its trace-id lookup table at every start (by `pnpm runtrace migrate` when `RUNTRACE_MIGRATE=off`)',
  }),
  RUNTRACE_OTEL_SELF_TRACE: variable(
    z
      .string()
      .regex(
        /^(off|direct|otlp:https?:\/\/\S+)$/,
        'must be off, direct or otlp:<http(s) URL of an OTLP/HTTP traces endpoint>',
      )
      .optional()
      .or(z.literal('').transform(() => undefined)),
    {
      unset:
        '`off`, unless `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set (then `otlp:` to it)',
      description:
        "the api's own request spans: `off`; `direct` → into its own span table (default organization); `otlp:<url>` → exported to that OTLP/HTTP traces endpoint (with `RUNTRACE_API_KEY` as bearer key when set). Set, it wins over the `OTEL_EXPORTER_OTLP_*ENDPOINT` variables; `OTEL_SDK_DISABLED=true` wins over it. `/v1/traces` requests are never traced",
    },
  ),
  RUNTRACE_OTLP_MAX_BODY_BYTES: variable(positiveInt(32 * 1024 * 1024), {
    description:
      'largest `POST /v1/traces` body, as sent and once decompressed; beyond → 413 (over OTLP/gRPC: the largest message once decompressed; beyond → RESOURCE_EXHAUSTED)',
  }),
  RUNTRACE_OTLP_GRPC_PORT: variable(
    emptyAsUnset(
      z
        .union([z.literal('off'), z.coerce.number().int().min(0).max(65535)], {
          error: 'must be a port (0 to 65535; 0 picks a free one) or off',
        })
        .default(4317),
    ),
    {
      description:
        'port of the OTLP/gRPC trace receiver (`opentelemetry.proto.collector.trace.v1.TraceService/Export`), on `HOST` like the api: the same keys, limit, answers and pipeline as `POST /v1/traces`; `0` → a free port, `off` → none',
    },
  ),
  RUNTRACE_STREAM_RETENTION_MS: variable(positiveInt(3 * 60 * 60 * 1000), {
    description: "a run's stream is kept this long after its last event; after that, reads answer Expired",
  }),
  RUNTRACE_RETENTION_DAYS: variable(daysOrOff(), {
    description:
      'runs created more than this many days ago that have ended (completed, failed, cancelled) are deleted with their steps, messages, metrics and provider traces in Postgres, by a background job in one api process at a time; `off` keeps everything. An organization may override it (`retention.set`, `pnpm runtrace retention set`). Runs still created or running are kept',
  }),
  RUNTRACE_RETENTION_INTERVAL_MS: variable(positiveInt(15 * 60 * 1000), {
    description: 'how often the retention job looks for expired runs (one process at a time: a Postgres advisory lock)',
  }),
  RUNTRACE_RETENTION_BATCH_SIZE: variable(positiveInt(1_000), {
    description: 'runs the retention job deletes per statement (with their children); short statements, no long locks',
  }),
  RUNTRACE_ANALYTICS_SOURCE: variable(emptyAsUnset(z.enum(['postgres', 'clickhouse']).default('postgres')), {
    description:
      'which store answers `analytics.timeseries`/`analytics.summary`: `postgres`, or `clickhouse` (needs ClickHouse: `CLICKHOUSE_URL` not `off`), fed with runs and steps as they are written; first copy the past with `pnpm runtrace analytics backfill-clickhouse`',
  }),
  RUNTRACE_STREAM_MAXLEN: variable(positiveInt(10_000), {
    description: 'events kept per run stream; older ones are trimmed (approximately, in Redis)',
  }),
  RUNTRACE_STREAM_STALE_AFTER_MS: variable(positiveInt(30 * 60 * 1000), {
    description:
      'a background run whose stream has had no event this long is marked `failed` (`stream_incomplete`) and its stream ended',
  }),
  RUNTRACE_STREAM_SWEEP_INTERVAL_MS: variable(positiveInt(60_000), {
    description: 'how often each api process looks for such silent runs',
  }),
  RUNTRACE_STREAM_KEEPALIVE_MS: variable(positiveInt(15_000), {
    description:
      "quiet time after which `runs.stream({ includePings: true })` yields a `{ messageType: 'ping' }` (no id; Letta's keepalive is 50 s)",
  }),
  RUNTRACE_CALLBACK_SECRET: variable(optionalString(), {
    unset: 'callbacks unsigned',
    description: 'HMAC-SHA256 key for the `X-Runtrace-Signature` header of run callbacks',
  }),
  RUNTRACE_CALLBACK_ALLOW_PRIVATE: variable(flag, {
    description: '`1` → callbacks may reach any address (loopback, private, special-purpose)',
  }),
  RUNTRACE_SHUTDOWN_TIMEOUT_MS: variable(positiveInt(10_000), {
    description:
      'how long SIGTERM waits for draining before exiting 1 (armed at the signal: nothing, not even a stalled log reader, keeps the process past it)',
  }),
  RUNTRACE_DB_CONNECT_TIMEOUT_MS: variable(positiveInt(5_000), {
    description: 'longest wait for a new Postgres connection',
  }),
  RUNTRACE_DB_STATEMENT_TIMEOUT_MS: variable(positiveInt(10_000), {
    description: 'Postgres `statement_timeout` of every session (migrations excepted)',
  }),
  RUNTRACE_DB_ACQUIRE_TIMEOUT_MS: variable(positiveInt(5_000), {
    description:
      'longest wait of a query for a pooled connection; a query not done after this plus the statement timeout is abandoned and the call answers 503',
  }),
  RUNTRACE_REQUEST_TIMEOUT_MS: variable(positiveInt(60_000), {
    description:
      'time a client has to send a whole request (headers and body); slower senders are disconnected. Responses (SSE streams) are not limited',
  }),
  RUNTRACE_BODY_BUDGET_BYTES: variable(positiveInt(128 * 1024 * 1024), {
    description: 'request-body bytes held at once across all requests; a body beyond it answers 503 + `Retry-After`',
  }),
  RUNTRACE_HTTP_COMPRESSION_MIN_BYTES: variable(
    emptyAsUnset(
      z
        .string()
        .regex(/^(?:off|\d{1,15})$/, 'must be a number of bytes (0 or more) or `off`')
        .default('1024')
        .transform((v): number | 'off' => (v === 'off' ? v : Number(v))),
    ),
    {
      description:
        "JSON and text answers (tRPC, REST, `/metrics`) at least this many bytes are sent brotli- or gzip-compressed as the request's `Accept-Encoding` prefers; `off` sends every answer as it is (e.g. behind a proxy that compresses). Server-Sent Events are never compressed",
    },
  ),
  RUNTRACE_CORS_ORIGINS: variable(optionalString(), {
    unset: 'same origin only',
    description:
      'comma list of exact origins (`https://app.example.com`) browsers may call the api from; requests carrying any other `Origin` are refused with 403',
  }),
  RUNTRACE_METRICS_PORT: variable(emptyAsUnset(port().optional()), {
    description:
      'a separate `GET /metrics` listener (`0` → a free port). Unset: `/metrics` is on the main port while `RUNTRACE_AUTH=optional` and absent (404) when it is `required`',
  }),
  RUNTRACE_METRICS_HOST: variable(z.string().min(1).default('127.0.0.1'), {
    description: 'address of the `RUNTRACE_METRICS_PORT` listener',
  }),
  RUNTRACE_URL: variable(
    emptyAsUnset(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).default('http://127.0.0.1:8283')),
    {
      description:
        "the running api that `pnpm simulate`, `pnpm watch-run` and the dashboard's dev server (`vite`) call",
    },
  ),
  RUNTRACE_API_KEY: variable(optionalString(), {
    unset: 'no key: the default organization, unless the api requires keys',
    description:
      'the API key `pnpm simulate` and `pnpm watch-run` send; the api sends it as bearer key to its self-trace OTLP endpoint (`RUNTRACE_OTEL_SELF_TRACE=otlp:<url>` or `OTEL_EXPORTER_OTLP_*ENDPOINT`)',
  }),
  RUNTRACE_REQUIRE_SERVICES: variable(flag, {
    description: '`1` → tests fail instead of skipping when a server is missing (CI)',
  }),
  RUNTRACE_BENCH_RUNS: variable(emptyAsUnset(z.coerce.number().int().positive().optional()), {
    unset: '1,000,000',
    description: 'how many runs `pnpm bench` seeds (its `--runs` flag wins)',
  }),
  RUNTRACE_FUZZ_RUNS: variable(emptyAsUnset(z.coerce.number().int().positive().default(400)), {
    description:
      "the fuzz suite's budget per database driver: at most this many generated inputs (`pnpm fuzz` raises it)",
  }),
  RUNTRACE_FUZZ_SECONDS: variable(emptyAsUnset(z.coerce.number().positive().default(20)), {
    description: "the fuzz suite's time budget per database driver, in seconds (`pnpm fuzz` raises it)",
  }),
  RUNTRACE_FUZZ_SEED: variable(emptyAsUnset(z.coerce.number().int().optional()), {
    unset: 'a random seed',
    description: 'replay a fuzz failure: the seed the suite printed',
  }),
  RUNTRACE_FUZZ_PATH: variable(
    z
      .string()
      .regex(/^\d+(:\d+)*$/, "must be a fast-check path such as '12' or '12:0:3'")
      .optional()
      .or(z.literal('').transform(() => undefined)),
    { unset: 'the whole run', description: 'with the seed, the path the suite printed: replays just the failing case' },
  ),
  OTEL_SDK_DISABLED: variable(
    z
      .string()
      .optional()
      .transform((v) => v?.trim().toLowerCase() === 'true'),
    {
      description: "`true` → no self-tracing at all, whatever `RUNTRACE_OTEL_SELF_TRACE` says (OpenTelemetry's switch)",
    },
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: variable(
    emptyAsUnset(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional()),
    {
      unset: 'no export (unless another variable says where)',
      description:
        'base URL of an OTLP/HTTP collector: with `RUNTRACE_OTEL_SELF_TRACE` unset, the api exports its own spans to `<url>/v1/traces`',
    },
  ),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: variable(
    emptyAsUnset(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional()),
    {
      unset: '`OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`',
      description: 'the full OTLP/HTTP traces URL, as is; wins over `OTEL_EXPORTER_OTLP_ENDPOINT`',
    },
  ),
  OTEL_EXPORTER_OTLP_HEADERS: variable(
    emptyAsUnset(
      z
        .string()
        .regex(/^\s*[^\s=,]+\s*=[^,]*(,\s*[^\s=,]+\s*=[^,]*)*$/, 'must be key=value pairs separated by commas')
        .optional(),
    ),
    {
      unset: 'none (a `RUNTRACE_API_KEY` is still sent as bearer key)',
      description:
        'headers of the self-trace export, `key=value,key2=value2` (values URL-decoded); an `authorization` here wins over the one from `RUNTRACE_API_KEY`. Often a secret',
    },
  ),
  OTEL_SERVICE_NAME: variable(emptyAsUnset(z.string().optional()), {
    unset: `\`${DEFAULT_SELF_TRACE_SERVICE_NAME}\``,
    description: "`service.name` of the api's own spans",
  }),
  OTEL_TRACES_SAMPLER: variable(emptyAsUnset(z.enum(TRACES_SAMPLERS).optional()), {
    unset: '`parentbased_always_on`',
    description:
      "which of the api's request spans are kept: `always_on`, `always_off`, `traceidratio`, `parentbased_always_on`, `parentbased_always_off`, `parentbased_traceidratio` (`parentbased_*` follow the caller's `traceparent` sampled flag when there is one)",
  }),
  OTEL_TRACES_SAMPLER_ARG: variable(emptyAsUnset(z.coerce.number().min(0).max(1).optional()), {
    unset: '`1`',
    description: 'the ratio (0 to 1) of the `traceidratio` samplers',
  }),
  RUNTRACE_MIGRATE: variable(emptyAsUnset(z.enum(['on', 'off']).default('on')), {
    description:
      '`off` → the api never migrates at start (run `pnpm runtrace migrate` first, e.g. as a Job); with migrations pending it starts, live, but `/readyz` answers 503 until they are applied',
  }),
} satisfies Record<string, Variable>;

export type VariableName = keyof typeof VARIABLES;

/** A variable's value once parsed (its default applied). */
export type VariableValue<N extends VariableName> = z.output<(typeof VARIABLES)[N]['schema']>;
