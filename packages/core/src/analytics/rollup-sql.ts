import { HISTOGRAM_BOUNDS_NS, HISTOGRAM_BUCKETS } from './latency-histogram.ts';

/**
 * The SQL of the analytics rollups, generated from one description so that the triggers (migration 0006), the
 * rebuild ({@link rebuildRollups}) and the raw path (postgres-analytics.ts) count every step and run the same way.
 * rollup-sql.test.ts checks that migration 0006 holds exactly this SQL (`RUNTRACE_WRITE_ROLLUP_SQL=1` rewrites it there
 * after a change here; a change after 0006 shipped needs a new migration instead).
 */

export type RollupUnit = 'hour' | 'day';

/** One rollup table: its time unit and whether agents are part of its key. */
export interface RollupLevel {
  table: string;
  unit: RollupUnit;
  agent: boolean;
}

export const STEP_LEVELS = {
  hours: { table: 'analytics_steps_hourly', unit: 'hour', agent: false },
  agentHours: { table: 'analytics_agent_steps_hourly', unit: 'hour', agent: true },
  agentDays: { table: 'analytics_agent_steps_daily', unit: 'day', agent: true },
} as const satisfies Record<string, RollupLevel>;

export const RUN_LEVELS = {
  hours: { table: 'analytics_runs_hourly', unit: 'hour', agent: false },
  agentHours: { table: 'analytics_agent_runs_hourly', unit: 'hour', agent: true },
  agentDays: { table: 'analytics_agent_runs_daily', unit: 'day', agent: true },
} as const satisfies Record<string, RollupLevel>;

export type LevelName = keyof typeof STEP_LEVELS;

/**
 * What each step adds to its rollup row: column → expression over a steps row `x`. Null token types count 0; a step
 * never priced (unpriced_tokens null) counts all of its tokens as unpriced.
 */
export const STEP_VALUES: readonly (readonly [column: string, expression: string])[] = [
  ['steps', '1'],
  ['step_errors', "(x.status = 'failed' OR x.error_type IS NOT NULL)::int"],
  ['input_tokens', 'coalesce(x.input_tokens, 0)'],
  ['cached_input_tokens', 'coalesce(x.cached_input_tokens, 0)'],
  ['cache_write_tokens', 'coalesce(x.cache_write_tokens, 0)'],
  ['output_tokens', 'coalesce(x.output_tokens, 0)'],
  ['reasoning_tokens', 'coalesce(x.reasoning_tokens, 0)'],
  ['total_tokens', 'x.total_tokens'],
  ['cost_pusd', 'coalesce(x.cost_pusd, 0)'],
  ['unpriced_tokens', 'coalesce(x.unpriced_tokens, x.total_tokens)'],
  ['llm_ns', 'coalesce(x.llm_request_ns, 0)'],
];

/** Step columns whose change moves a step between rollup rows or changes what it adds. */
const STEP_TRACKED = [
  'organization_id',
  'created_at',
  'agent_id',
  'model',
  'provider_name',
  'status',
  'error_type',
  'input_tokens',
  'cached_input_tokens',
  'cache_write_tokens',
  'output_tokens',
  'reasoning_tokens',
  'total_tokens',
  'cost_pusd',
  'unpriced_tokens',
  'llm_request_ns',
];

/** Run columns whose change moves a run between rollup rows or changes its histogram buckets. */
const RUN_TRACKED = [
  'organization_id',
  'created_at',
  'agent_id',
  'model',
  'provider',
  'status',
  'coalesce(%.run_ns, %.total_duration_ns)',
  'ttft_ns',
];

/** The histogram columns of the run rollups: `d<k>` run durations, `t<k>` times to first token. */
export const DURATION_COLUMNS = Array.from({ length: HISTOGRAM_BUCKETS }, (_, k) => `d${k}`);
export const TTFT_COLUMNS = Array.from({ length: HISTOGRAM_BUCKETS }, (_, k) => `t${k}`);

/** The keys of a step row `x` in the rollups (missing values as ''). */
export const STEP_KEYS = {
  agent: 'x.agent_id',
  model: "coalesce(x.model, '')",
  provider: "coalesce(lower(x.provider_name), '')",
} as const;

/** The keys of a run row `x` in the rollups (missing values as ''). */
export const RUN_KEYS = {
  agent: 'x.agent_id',
  model: "coalesce(x.model, '')",
  provider: "coalesce(x.provider, '')",
  status: 'x.status',
} as const;

/** Bucket index of latency-histogram.ts in SQL, from the same integer bounds (null for null). */
export const HISTOGRAM_BUCKET_FUNCTION = `CREATE OR REPLACE FUNCTION analytics_histogram_bucket(ns bigint) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT width_bucket(ns, '{${HISTOGRAM_BOUNDS_NS.join(',')}}'::bigint[])
$$`;

export const truncTo = (unit: RollupUnit, expression: string) => `date_trunc('${unit}', ${expression}, 'UTC')`;

const keyColumns = (level: RollupLevel) => [
  'organization_id',
  'bucket',
  ...(level.agent ? ['agent_id'] : []),
  'model',
  'provider',
];

/** Rows of steps as the rollups see them, from relation `rel`, each weighing `sign` (1 or -1). */
export function stepDeltaSql(rel: string, sign: string, where: string, extra = ''): string {
  const values = STEP_VALUES.map(([column, expression]) => `${expression} AS ${column}`).join(', ');
  return `SELECT x.organization_id, x.created_at, ${STEP_KEYS.agent} AS agent_id, ${STEP_KEYS.model} AS model, ${STEP_KEYS.provider} AS provider, ${values}, ${sign} AS sign${extra} FROM ${rel} x${where}`;
}

/** Rows of runs as the rollups see them: keys and the histogram buckets of duration and TTFT. */
export function runDeltaSql(rel: string, sign: string, where: string): string {
  return `SELECT x.organization_id, x.created_at, ${RUN_KEYS.agent} AS agent_id, ${RUN_KEYS.model} AS model, ${RUN_KEYS.provider} AS provider, ${RUN_KEYS.status} AS status, analytics_histogram_bucket(coalesce(x.run_ns, x.total_duration_ns)) AS db, analytics_histogram_bucket(x.ttft_ns) AS tb, ${sign} AS sign FROM ${rel} x${where}`;
}

/** The aggregate of run histogram columns over rows carrying `db`/`tb` bucket indexes and a `sign`. */
export const histogramSums = (sign: string) => [
  ...DURATION_COLUMNS.map((c, k) => `sum(CASE WHEN db = ${k} THEN ${sign} ELSE 0 END) AS ${c}`),
  ...TTFT_COLUMNS.map((c, k) => `sum(CASE WHEN tb = ${k} THEN ${sign} ELSE 0 END) AS ${c}`),
];

/** INSERT … ON CONFLICT adding the grouped rows of CTE `delta` into a level's table, in key order (no deadlocks). */
function upsert(level: RollupLevel, run: boolean): string {
  const keys = keyColumns(level);
  const keyExprs = keys.map((k) => (k === 'bucket' ? truncTo(level.unit, 'created_at') : k));
  const sums = run
    ? [
        ['runs', 'sum(sign)'] as const,
        ['failed_runs', "sum(CASE WHEN status = 'failed' THEN sign ELSE 0 END)"] as const,
        ...histogramSums('sign').map((s) => s.split(' AS ').reverse() as [string, string]),
      ]
    : STEP_VALUES.map(([column]) => [column, `sum(sign * ${column})`] as const);
  const columns = [...keys, ...sums.map(([c]) => c)];
  const positions = keys.map((_, i) => i + 1).join(', ');
  return `INSERT INTO ${level.table} AS t (${columns.join(', ')})
SELECT ${[...keyExprs, ...sums.map(([, e]) => e)].join(', ')}
FROM delta GROUP BY ${positions} ORDER BY ${positions}
ON CONFLICT (${keys.join(', ')}) DO UPDATE SET ${sums.map(([c]) => `${c} = t.${c} + excluded.${c}`).join(', ')}`;
}

/**
 * One statement adding `delta` to every level: the delta (a join of the transition tables for an UPDATE) is computed
 * once for the three tables, which are written in a fixed order.
 */
function upsertAll(levels: readonly RollupLevel[], run: boolean, delta: string): string {
  const ctes = levels.slice(0, -1).map((level, i) => `u${i} AS (${upsert(level, run)} RETURNING 1)`);
  return `WITH delta AS MATERIALIZED (${delta}), ${ctes.join(',\n')}\n${upsert(levels[levels.length - 1]!, run)}`;
}

/** Deletes the rows of a level that the rows of `rel` left at zero (deleted or moved runs and steps). */
function dropEmpty(level: RollupLevel, run: boolean, rel: string): string {
  return `DELETE FROM ${level.table} t USING (SELECT DISTINCT organization_id, ${truncTo(level.unit, 'created_at')} AS bucket FROM ${rel}) k
WHERE t.organization_id = k.organization_id AND t.bucket = k.bucket AND t.${run ? 'runs' : 'steps'} = 0`;
}

const tracked = (columns: string[], alias: string) =>
  columns.map((c) => (c.includes('%') ? c.replaceAll('%', alias) : `${alias}.${c}`)).join(', ');

/** The statements a trigger runs for one operation over the transition tables old_rows / new_rows. */
/** The rows of old_rows whose tracked columns the UPDATE changed (joined to new_rows by id). */
const changedIds = (columns: string[]) =>
  `SELECT o.id FROM old_rows o JOIN new_rows n ON n.id = o.id WHERE (${tracked(columns, 'o')}) IS DISTINCT FROM (${tracked(columns, 'n')})`;

/** The statements a trigger runs for one operation over the transition tables old_rows / new_rows. */
function triggerStatements(run: boolean, op: 'INSERT' | 'UPDATE' | 'DELETE'): string[] {
  const levels = Object.values(run ? RUN_LEVELS : STEP_LEVELS);
  const deltaOf = run ? runDeltaSql : stepDeltaSql;
  let delta: string;
  if (op === 'INSERT') delta = deltaOf('new_rows', '1', '');
  else if (op === 'DELETE') delta = deltaOf('old_rows', '-1', '');
  else {
    const changed = ` WHERE x.id IN (${changedIds(run ? RUN_TRACKED : STEP_TRACKED)})`;
    delta = `${deltaOf('old_rows', '-1', changed)} UNION ALL ${deltaOf('new_rows', '1', changed)}`;
  }
  const statements = [upsertAll(levels, run, delta)];
  if (op !== 'INSERT') statements.push(...levels.map((level) => dropEmpty(level, run, 'old_rows')));
  return statements;
}

function triggerFunction(run: boolean): string {
  const name = run ? 'analytics_runs_rollup' : 'analytics_steps_rollup';
  const branch = (op: 'INSERT' | 'UPDATE' | 'DELETE', indent: string) =>
    triggerStatements(run, op)
      .map((s) => `${indent}${s.replaceAll('\n', `\n${indent}`)};`)
      .join('\n');
  // An UPDATE that changed nothing analytics reads (each step's update of its run's totals, a step's feedback) runs
  // one EXISTS and writes nothing.
  return `CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
${branch('INSERT', '    ')}
  ELSIF TG_OP = 'UPDATE' THEN
    IF EXISTS (${changedIds(run ? RUN_TRACKED : STEP_TRACKED)}) THEN
${branch('UPDATE', '      ')}
    END IF;
  ELSE
${branch('DELETE', '    ')}
  END IF;
  RETURN NULL;
END
$fn$`;
}

function triggers(table: 'steps' | 'runs'): string[] {
  const fn = table === 'runs' ? 'analytics_runs_rollup' : 'analytics_steps_rollup';
  return [
    `CREATE TRIGGER ${table}_analytics_insert AFTER INSERT ON ${table} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
    `CREATE TRIGGER ${table}_analytics_update AFTER UPDATE ON ${table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
    `CREATE TRIGGER ${table}_analytics_delete AFTER DELETE ON ${table} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`,
  ];
}

/**
 * Everything migration 0006 adds after drizzle's tables: the bucket function, the trigger functions, the triggers, and
 * the rollups of the runs and steps already recorded.
 */
export function rollupMigrationSql(): string {
  return [
    HISTOGRAM_BUCKET_FUNCTION,
    triggerFunction(false),
    triggerFunction(true),
    ...triggers('steps'),
    ...triggers('runs'),
    // Runs and steps recorded before this migration, counted once (the triggers count every write from here on).
    upsertAll(Object.values(STEP_LEVELS), false, stepDeltaSql('steps', '1', '')),
    upsertAll(Object.values(RUN_LEVELS), true, runDeltaSql('runs', '1', '')),
  ].join(';\n--> statement-breakpoint\n');
}

/**
 * Statements that rebuild one organization's rollups from its steps and runs; `$ORG` stands for the organization id
 * (bound as a parameter by the caller). Run in one transaction after locking the rollup tables (rebuildRollups).
 */
export function rebuildStatements(): string[] {
  const where = ' WHERE x.organization_id = $ORG';
  return [
    ...[...Object.values(STEP_LEVELS), ...Object.values(RUN_LEVELS)].map(
      (level) => `DELETE FROM ${level.table} WHERE organization_id = $ORG`,
    ),
    upsertAll(Object.values(STEP_LEVELS), false, stepDeltaSql('steps', '1', where)),
    upsertAll(Object.values(RUN_LEVELS), true, runDeltaSql('runs', '1', where)),
  ];
}

export const ROLLUP_TABLES = [...Object.values(STEP_LEVELS), ...Object.values(RUN_LEVELS)].map((l) => l.table);
