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
-- {{database}} is replaced by the (checked) database name.
CREATE TABLE IF NOT EXISTS {{database}}.otel_traces
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

-- The exporter's trace-id lookup table: the first and last span start (whole seconds) of each trace per insert block;
-- merges fold a trace's rows into one (AggregatingMergeTree over min/max). Readers take min(Start) and max(End) + 1.
CREATE TABLE IF NOT EXISTS {{database}}.otel_traces_trace_id_ts
(
    TraceId String CODEC(ZSTD(1)),
    Start SimpleAggregateFunction(min, DateTime) CODEC(ZSTD(1)),
    End SimpleAggregateFunction(max, DateTime) CODEC(ZSTD(1))
)
ENGINE = AggregatingMergeTree
PARTITION BY toStartOfWeek(Start)
ORDER BY (TraceId)
SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.otel_traces_trace_id_ts_mv
TO {{database}}.otel_traces_trace_id_ts
AS SELECT
    TraceId,
    min(Timestamp) AS Start,
    max(Timestamp) AS End
FROM {{database}}.otel_traces
WHERE TraceId != ''
GROUP BY TraceId;
