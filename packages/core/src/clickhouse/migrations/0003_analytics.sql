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
-- {{database}} is replaced by the (checked) database name.
CREATE TABLE IF NOT EXISTS {{database}}.analytics_runs
(
    organization_id LowCardinality(String),
    id String,
    agent_id String,
    created_at DateTime64(6, 'UTC'),
    status LowCardinality(String),
    model LowCardinality(Nullable(String)),
    provider LowCardinality(Nullable(String)),
    duration_ns Nullable(UInt64),
    ttft_ns Nullable(UInt64),
    version UInt64,
    is_deleted UInt8
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(created_at)
ORDER BY (organization_id, toStartOfHour(created_at), id);

CREATE TABLE IF NOT EXISTS {{database}}.analytics_steps
(
    organization_id LowCardinality(String),
    id String,
    run_id String,
    agent_id String,
    created_at DateTime64(6, 'UTC'),
    model LowCardinality(Nullable(String)),
    provider LowCardinality(Nullable(String)),
    is_error UInt8,
    input_tokens UInt64,
    cached_input_tokens UInt64,
    cache_write_tokens UInt64,
    output_tokens UInt64,
    reasoning_tokens UInt64,
    total_tokens UInt64,
    cost_pusd Int64,
    unpriced_tokens UInt64,
    llm_ns UInt64,
    version UInt64,
    is_deleted UInt8,
    INDEX idx_run_id run_id TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(created_at)
ORDER BY (organization_id, toStartOfHour(created_at), id);
