CREATE TABLE IF NOT EXISTS `runtrace`.`runtrace_migrations`
          (version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
          ENGINE = ReplacingMergeTree ORDER BY version;

-- Provider traces written by the clickhouse backend (telemetry/backends/clickhouse.ts).
--
-- Reads are by (organization, step id) and by (organization, run id): the sorting key starts with the organization
-- (every read filters on it, CONTRACTS §7) and the step, and a bloom filter on run_id serves listByRun/deleteByRun.
-- ReplacingMergeTree: a retried insert of the same trace has the same sorting key and collapses into one row; reads
-- use FINAL, so a retry never shows twice, even before the background merge.
-- Ids that may be absent are '' (ids are never empty); call_type may legitimately be '' and is Nullable.
-- ClickHouse arrays cannot be NULL: a trace without agent tags stores [].
-- request_json/response_json hold the JSON text of the objects as received.
-- inserted_at is when Runtrace received the trace: the TTL counts from it (migrate.ts applies
-- RUNTRACE_CLICKHOUSE_TTL_DAYS at every start), so a trace sent with an old created_at is not expired on arrival.
-- `runtrace` is replaced by the (checked) database name.
CREATE TABLE IF NOT EXISTS `runtrace`.provider_traces
(
    organization_id LowCardinality(String),
    id String,
    step_id String,
    run_id String,
    agent_id String,
    agent_tags Array(String),
    call_type LowCardinality(Nullable(String)),
    request_json String CODEC(ZSTD(1)),
    response_json String CODEC(ZSTD(1)),
    created_at DateTime64(6, 'UTC'),
    inserted_at DateTime('UTC') DEFAULT now(),
    INDEX idx_run_id run_id TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(created_at)
ORDER BY (organization_id, step_id, created_at, id);

-- OpenTelemetry spans (traces/, OTLP ingest and runs.trace).
--
-- otel_traces has the column names and types of the OpenTelemetry Collector's ClickHouse exporter (its traces table),
-- so a collector configured with `create_schema: false` and this database can write the same table; events and
-- links are Nested columns as there (`Events.Timestamp`, `Links.TraceId`, …).
-- Differences, none of which a writer sees:
-- * OrganizationId is MATERIALIZED from the resource attribute `runtrace.organization_id` (CONTRACTS §7). The api
--   stamps it on every span it receives (overwriting what a client sent); every read filters on it, so it leads the
--   sorting key. It is not part of `SELECT *` and cannot be inserted.
-- * No bloom filters on the attribute maps' keys and values: Runtrace never searches by attribute, and hashing every
--   attribute of every span was the largest cost of an insert. Add them with ALTER TABLE … ADD INDEX if you query so.
-- Trace-by-id reads first look up the trace's time window in otel_traces_trace_id_ts (filled by the materialized view
-- below, as the exporter does), then scan only the days of that window with the TraceId bloom filter.
-- The TTL (RUNTRACE_OTEL_TTL_DAYS) is set by migrate.ts at every start, counted from the span's start as the
-- exporter does; ttl_only_drop_parts drops whole daily parts instead of rewriting them.
-- `runtrace` is replaced by the (checked) database name.
CREATE TABLE IF NOT EXISTS `runtrace`.otel_traces
(
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    ParentSpanId String CODEC(ZSTD(1)),
    TraceState String CODEC(ZSTD(1)),
    SpanName LowCardinality(String) CODEC(ZSTD(1)),
    SpanKind LowCardinality(String) CODEC(ZSTD(1)),
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion String CODEC(ZSTD(1)),
    SpanAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    Duration UInt64 CODEC(T64, ZSTD(1)),
    StatusCode LowCardinality(String) CODEC(ZSTD(1)),
    StatusMessage String CODEC(ZSTD(1)),
    Events Nested (
        Timestamp DateTime64(9),
        Name LowCardinality(String),
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    Links Nested (
        TraceId String,
        SpanId String,
        TraceState String,
        Attributes Map(LowCardinality(String), String)
    ) CODEC(ZSTD(1)),
    OrganizationId LowCardinality(String) MATERIALIZED ResourceAttributes['runtrace.organization_id'],
    INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_duration Duration TYPE minmax GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toDate(Timestamp)
PRIMARY KEY (OrganizationId, ServiceName, SpanName, toDateTime(Timestamp))
ORDER BY (OrganizationId, ServiceName, SpanName, toDateTime(Timestamp), Timestamp)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

-- merges fold a trace's rows into one (AggregatingMergeTree over min/max). Readers take min(Start) and max(End) + 1.
CREATE TABLE IF NOT EXISTS `runtrace`.otel_traces_trace_id_ts
(
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
    End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1))
)
ENGINE = AggregatingMergeTree
PARTITION BY toStartOfWeek(Start)
ORDER BY (TraceId)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS `runtrace`.otel_traces_trace_id_ts_mv
TO `runtrace`.otel_traces_trace_id_ts
AS SELECT
    TraceId,
    min(Timestamp) AS Start,
    max(Timestamp) AS End
FROM `runtrace`.otel_traces
WHERE TraceId != ''
GROUP BY TraceId;

-- Analytics on ClickHouse (RUNTRACE_ANALYTICS_SOURCE=clickhouse, analytics/clickhouse/): copies of Postgres's runs and
-- steps, as the analytics figures need them, written by the feed (analytics/clickhouse/analytics-feed.ts) after each
-- Postgres commit and by `pnpm runtrace analytics backfill-clickhouse`. Postgres stays the source of truth.
--
-- A row is the whole current state of its run or step, read from Postgres after the commit; a later state is a new
-- row with a higher `version` (Postgres's statement_timestamp() of the read, in µs: the read a commit triggers starts
-- after that commit, so it outranks every read that could not see it). ReplacingMergeTree(version, is_deleted) keeps
-- the highest version per sorting key; a deleted run or step is a tombstone row (is_deleted = 1), which reads with
-- FINAL drop. created_at never changes, so every version of a row has the same sorting key.
--
-- ORDER BY (organization_id, toStartOfHour(created_at), id): every query filters one organization and a time range
-- and groups by hour or day, so the key's prefix prunes granules to that range; the hour (not the full timestamp)
-- before the id keeps the key cheap to compare and is also what the hourly buckets group by. id ends the key: it is
-- what versions replace on. Monthly partitions let FINAL work one partition at a time and TTL drop whole parts.
--
-- Figures that Postgres's and ClickHouse's functions could compute differently (lower case of provider names, the
-- error flag, the null-to-zero of token columns, the run duration's coalesce) are computed by Postgres in the feed's
-- SELECT, so both engines start from the same values. The TTL (RUNTRACE_RETENTION_DAYS, none when off) is set by
-- migrate.ts at every start, counted from created_at like retention in Postgres.
-- A run's deletion tombstones its steps found by run_id (bloom filter below).
-- `runtrace` is replaced by the (checked) database name.
CREATE TABLE IF NOT EXISTS `runtrace`.analytics_runs
(
    organization_id LowCardinality(String),
    id String,
    agent_id String,
    created_at DateTime64(6, 'UTC'),
    status LowCardinality(String),
    model LowCardinality(Nullable(String)),
    provider LowCardinality(Nullable(String)),
    duration_ns Nullable(Int64),
    ttft_ns Nullable(Int64),
    version UInt64,
    is_deleted UInt8,
    -- latency-histogram.ts's bucket of each duration: how many of HISTOGRAM_BOUNDS_NS it reaches (a test checks that
    -- this list is that constant), computed once at insert instead of at every query
    duration_bucket Nullable(UInt8) MATERIALIZED if(isNull(duration_ns), NULL, toUInt8(arrayCount(x -> x <= assumeNotNull(duration_ns), [1000000, 1259921, 1587401, 2000000, 2519842, 3174802, 4000000, 5039684, 6349604, 8000000, 10079368, 12699208, 16000000, 20158737, 25398417, 32000000, 40317474, 50796834, 64000000, 80634947, 101593667, 128000000, 161269894, 203187335, 256000000, 322539789, 406374669, 512000000, 645079578, 812749339, 1024000000, 1290159155, 1625498677, 2048000000, 2580318310, 3250997354, 4096000000, 5160636620, 6501994709, 8192000000, 10321273241, 13003989418, 16384000000, 20642546481, 26007978835, 32768000000, 41285092963, 52015957671, 65536000000, 82570185926, 104031915342, 131072000000, 165140371852, 208063830684, 262144000000, 330280743704, 416127661367, 524288000000, 660561487407, 832255322734, 1048576000000, 1321122974815, 1664510645469, 2097152000000, 2642245949629, 3329021290937, 4194304000000, 5284491899258, 6658042581874, 8388608000000, 10568983798517]))),
    ttft_bucket Nullable(UInt8) MATERIALIZED if(isNull(ttft_ns), NULL, toUInt8(arrayCount(x -> x <= assumeNotNull(ttft_ns), [1000000, 1259921, 1587401, 2000000, 2519842, 3174802, 4000000, 5039684, 6349604, 8000000, 10079368, 12699208, 16000000, 20158737, 25398417, 32000000, 40317474, 50796834, 64000000, 80634947, 101593667, 128000000, 161269894, 203187335, 256000000, 322539789, 406374669, 512000000, 645079578, 812749339, 1024000000, 1290159155, 1625498677, 2048000000, 2580318310, 3250997354, 4096000000, 5160636620, 6501994709, 8192000000, 10321273241, 13003989418, 16384000000, 20642546481, 26007978835, 32768000000, 41285092963, 52015957671, 65536000000, 82570185926, 104031915342, 131072000000, 165140371852, 208063830684, 262144000000, 330280743704, 416127661367, 524288000000, 660561487407, 832255322734, 1048576000000, 1321122974815, 1664510645469, 2097152000000, 2642245949629, 3329021290937, 4194304000000, 5284491899258, 6658042581874, 8388608000000, 10568983798517])))
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(created_at)
ORDER BY (organization_id, toStartOfHour(created_at), id);

CREATE TABLE IF NOT EXISTS `runtrace`.analytics_steps
(
    organization_id LowCardinality(String),
    id String,
    run_id String,
    agent_id String,
    created_at DateTime64(6, 'UTC'),
    model LowCardinality(Nullable(String)),
    provider LowCardinality(Nullable(String)),
    is_error UInt8,
    input_tokens Int64,
    cached_input_tokens Int64,
    cache_write_tokens Int64,
    output_tokens Int64,
    reasoning_tokens Int64,
    total_tokens Int64,
    cost_pusd Int64,
    unpriced_tokens Int64,
    llm_ns Int64,
    version UInt64,
    is_deleted UInt8,
    INDEX idx_run_id run_id TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(created_at)
ORDER BY (organization_id, toStartOfHour(created_at), id)