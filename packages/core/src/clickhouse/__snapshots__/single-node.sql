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
GROUP BY TraceId