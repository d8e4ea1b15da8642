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
-- {{database}} is replaced by the (checked) database name.
CREATE TABLE IF NOT EXISTS {{database}}.provider_traces
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
