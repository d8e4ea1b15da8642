import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { clickhouseFailure } from './clickhouse-failure.ts';
import { type ClickHouse, type ConnectClickHouseOptions, connectClickHouse, qualified } from './connect.ts';
import { mutationTarget, renderBookkeepingTable, renderMigrations, storageTable } from './render-migration.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;

export interface ClickHouseMigration {
  version: number;
  name: string;
  /** Statements with `{{database}}` still in them. */
  statements: string[];
}

/** `migrations/NNNN_name.sql`, in version order; each file holds one or more statements ending in `;`. */
export function readClickHouseMigrations(dir: string = MIGRATIONS_DIR): ClickHouseMigration[] {
  const migrations = readdirSync(dir)
    .map((file) => ({ file, m: FILE_NAME.exec(file) }))
    .filter((f): f is { file: string; m: RegExpExecArray } => f.m !== null)
    .map(({ file, m }) => ({
      version: Number(m[1]),
      name: m[2] as string,
      statements: readFileSync(path.join(dir, file), 'utf8')
        .split(/;\s*(?:\n|$)/)
        .map((s) => s.trim())
        .filter((s) => s.replace(/^--.*$/gm, '').trim() !== ''),
    }))
    .sort((a, b) => a.version - b.version);
  const versions = new Set(migrations.map((m) => m.version));
  if (versions.size !== migrations.length) throw new Error(`two ClickHouse migrations share a version in ${dir}`);
  return migrations;
}

export interface MigrateClickHouseOptions {
  /** Days a provider trace is kept after it was received; 0 keeps them forever (RUNTRACE_CLICKHOUSE_TTL_DAYS). */
  ttlDays: number;
  /**
   * Days an OpenTelemetry span (and its trace-id lookup row) is kept after it started; 0 keeps them forever
   * (RUNTRACE_OTEL_TTL_DAYS). @default unchanged (the tables keep the TTL they have)
   */
  otelTtlDays?: number;
  /**
   * Days the analytics copies of runs and steps are kept after their creation, as retention keeps them in Postgres
   * (RUNTRACE_RETENTION_DAYS); 0 keeps them forever. @default unchanged
   */
  analyticsTtlDays?: number;
  /** Another folder of migrations (tests). @default the migrations/ folder beside this file */
  migrationsDir?: string;
}

/** Serialises migrations within this process, per ClickHouse database. */
const locks = new Map<string, Promise<unknown>>();

function withLock<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = locks.get(key) ?? Promise.resolve();
  const next = previous.catch(() => {}).then(work);
  const tail = next.catch(() => {});
  locks.set(key, tail);
  void tail.then(() => {
    if (locks.get(key) === tail) locks.delete(key);
  });
  return next;
}

/**
 * Applies the ClickHouse migrations that `runtrace_migrations` does not list yet, then sets the provider-trace TTL to
 * `ttlDays` and, when given, the span tables' TTL to `otelTtlDays`. Returns the versions it applied.
 *
 * Locking: on chdb only this process can open the data directory, so an in-process mutex is the whole lock. On a
 * server several api processes may start at once, and ClickHouse has no transactional DDL or advisory locks; instead
 * every migration statement must be idempotent (`CREATE … IF NOT EXISTS`, `ADD COLUMN IF NOT EXISTS`, …) so that two
 * processes applying the same version concurrently both succeed with the same result, and `runtrace_migrations` is a
 * ReplacingMergeTree keyed by version, so a version recorded twice reads (FINAL) as once. Write new migrations so.
 */
export async function migrateClickHouse(ch: ClickHouse, options: MigrateClickHouseOptions): Promise<number[]> {
  for (const [key, days] of Object.entries({
    ttlDays: options.ttlDays,
    otelTtlDays: options.otelTtlDays,
    analyticsTtlDays: options.analyticsTtlDays,
  })) {
    if (days !== undefined && (!Number.isSafeInteger(days) || days < 0)) {
      throw new Error(`${key} must be a whole number of days >= 0, got ${days}`);
    }
  }
  const migrations = renderMigrations(readClickHouseMigrations(options.migrationsDir), ch);
  return withLock(ch.location, async () => {
    try {
      await ch.client.command({ query: renderBookkeepingTable(ch) });
      const result = await ch.client.query({
        query: `SELECT version FROM ${qualified(ch, 'runtrace_migrations')} FINAL`,
        format: 'JSONEachRow',
      });
      const done = new Set((await result.json<{ version: number }>()).map((r) => Number(r.version)));
      const applied: number[] = [];
      for (const migration of migrations) {
        if (done.has(migration.version)) continue;
        for (const statement of migration.statements) {
          await ch.client.command({ query: statement });
        }
        await ch.client.insert({
          table: qualified(ch, 'runtrace_migrations'),
          values: [{ version: migration.version, name: migration.name }],
          format: 'JSONEachRow',
        });
        applied.push(migration.version);
      }
      await applyTtl(ch, 'provider_traces', 'inserted_at', options.ttlDays);
      if (options.otelTtlDays !== undefined) {
        await applyTtl(ch, 'otel_traces', 'toDateTime(Timestamp)', options.otelTtlDays);
        // A trace's window row lives as long as its newest span: counted from Start, a trace holding one span past the
        // TTL lost its whole window (and readers their way to its current spans) when that row expired.
        await applyTtl(ch, 'otel_traces_trace_id_ts', 'End', options.otelTtlDays);
      }
      if (options.analyticsTtlDays !== undefined) {
        for (const table of ['analytics_runs', 'analytics_steps']) {
          await applyTtl(ch, table, 'toDateTime(created_at)', options.analyticsTtlDays);
        }
      }
      return applied;
    } catch (err) {
      throw clickhouseFailure(err);
    }
  });
}

/** How many of this build's ClickHouse migrations the database has not applied (readiness: `/readyz`). */
export async function pendingClickHouseMigrations(ch: ClickHouse, migrationsDir?: string): Promise<number> {
  const migrations = readClickHouseMigrations(migrationsDir);
  const exists = await ch.client.query({
    query: "SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = 'runtrace_migrations'",
    query_params: { db: ch.database },
    format: 'JSONEachRow',
  });
  if (Number((await exists.json<{ n: string | number }>())[0]?.n ?? 0) === 0) return migrations.length;
  const result = await ch.client.query({
    query: `SELECT version FROM ${qualified(ch, 'runtrace_migrations')} FINAL`,
    format: 'JSONEachRow',
  });
  const done = new Set((await result.json<{ version: number }>()).map((r) => Number(r.version)));
  return migrations.filter((m) => !done.has(m.version)).length;
}

/** The TTL in days a table (provider_traces unless told) has now, or null when it has none. */
export async function currentTraceTtlDays(ch: ClickHouse, table = 'provider_traces'): Promise<number | null> {
  return (await currentTtl(ch, table))?.days ?? null;
}

/** A table's TTL as ClickHouse renders it (`TTL <from> + toIntervalDay(<days>)`), or null when it has none. */
async function currentTtl(ch: ClickHouse, table: string): Promise<{ from: string; days: number } | null> {
  const result = await ch.client.query({
    query: 'SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {table:String}',
    query_params: { db: ch.database, table: storageTable(ch, table) },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ engine_full: string }>();
  if (!row) throw new Error(`${ch.location}: ${table} does not exist (migrations not applied?)`);
  const m = /\bTTL\s+(.*?)\s+\+\s+toIntervalDay\((\d+)\)/.exec(row.engine_full);
  return m ? { from: m[1] as string, days: Number(m[2]) } : null;
}

/**
 * Makes a table's TTL (`<from> + ttlDays`) match the configuration, the expression it counts from included. A changed
 * TTL is applied to existing rows as well (ClickHouse materialises it in the background). Days are a checked integer,
 * written into the DDL as a literal.
 */
async function applyTtl(ch: ClickHouse, name: string, from: string, ttlDays: number): Promise<void> {
  const current = await currentTtl(ch, name);
  if (ttlDays === 0 ? current === null : current?.days === ttlDays && current.from === from) return;
  const table = mutationTarget(ch, name);
  await ch.client.command({
    query:
      ttlDays === 0
        ? `ALTER TABLE ${table} REMOVE TTL`
        : `ALTER TABLE ${table} MODIFY TTL ${from} + INTERVAL ${ttlDays} DAY`,
  });
}

/**
 * Connects as CLICKHOUSE_URL says ({@link connectClickHouse}) and applies the migrations and TTLs; the handle is
 * closed again if migrating fails. `off` throws NotImplemented naming the variable.
 */
export async function openMigratedClickHouse(
  options: ConnectClickHouseOptions & MigrateClickHouseOptions,
): Promise<{ clickhouse: ClickHouse; applied: number[] }> {
  const clickhouse = await connectClickHouse(options);
  try {
    return { clickhouse, applied: await migrateClickHouse(clickhouse, options) };
  } catch (err) {
    await clickhouse.close();
    throw err;
  }
}
