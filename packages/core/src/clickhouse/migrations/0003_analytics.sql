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
ORDER BY (organization_id, toStartOfHour(created_at), id);
