import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ClickHouse, clickhouseFailure, qualified } from './connect.ts';

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
 * `ttlDays`. Returns the versions it applied.
 *
 * Locking: on chdb only this process can open the data directory, so an in-process mutex is the whole lock. On a
 * server several api processes may start at once, and ClickHouse has no transactional DDL or advisory locks; instead
 * every migration statement must be idempotent (`CREATE … IF NOT EXISTS`, `ADD COLUMN IF NOT EXISTS`, …) so that two
 * processes applying the same version concurrently both succeed with the same result, and `runtrace_migrations` is a
 * ReplacingMergeTree keyed by version, so a version recorded twice reads (FINAL) as once. Write new migrations so.
 */
export async function migrateClickHouse(ch: ClickHouse, options: MigrateClickHouseOptions): Promise<number[]> {
  if (!Number.isSafeInteger(options.ttlDays) || options.ttlDays < 0) {
    throw new Error(`ttlDays must be a whole number of days >= 0, got ${options.ttlDays}`);
  }
  const migrations = readClickHouseMigrations(options.migrationsDir);
  return withLock(ch.location, async () => {
    try {
      await ch.client.command({
        query: `CREATE TABLE IF NOT EXISTS ${qualified(ch, 'runtrace_migrations')}
          (version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
          ENGINE = ReplacingMergeTree ORDER BY version`,
      });
      const result = await ch.client.query({
        query: `SELECT version FROM ${qualified(ch, 'runtrace_migrations')} FINAL`,
        format: 'JSONEachRow',
      });
      const done = new Set((await result.json<{ version: number }>()).map((r) => Number(r.version)));
      const applied: number[] = [];
      for (const migration of migrations) {
        if (done.has(migration.version)) continue;
        for (const statement of migration.statements) {
          await ch.client.command({ query: statement.replaceAll('{{database}}', `\`${ch.database}\``) });
        }
        await ch.client.insert({
          table: qualified(ch, 'runtrace_migrations'),
          values: [{ version: migration.version, name: migration.name }],
          format: 'JSONEachRow',
        });
        applied.push(migration.version);
      }
      await applyTraceTtl(ch, options.ttlDays);
      return applied;
    } catch (err) {
      throw clickhouseFailure(err, ch.location);
    }
  });
}

/** The TTL in days the provider_traces table has now, or null when it has none. */
export async function currentTraceTtlDays(ch: ClickHouse): Promise<number | null> {
  const result = await ch.client.query({
    query: 'SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {table:String}',
    query_params: { db: ch.database, table: 'provider_traces' },
    format: 'JSONEachRow',
  });
  const [row] = await result.json<{ engine_full: string }>();
  if (!row) throw new Error(`${ch.location}: provider_traces does not exist (migrations not applied?)`);
  const m = /\bTTL\b.*?toIntervalDay\((\d+)\)/.exec(row.engine_full);
  return m ? Number(m[1]) : null;
}

/**
 * Makes the table's TTL match the configuration. A changed TTL is applied to existing rows as well (ClickHouse
 * materialises it in the background). Days are a checked integer, written into the DDL as a literal.
 */
async function applyTraceTtl(ch: ClickHouse, ttlDays: number): Promise<void> {
  const current = await currentTraceTtlDays(ch);
  if (current === (ttlDays === 0 ? null : ttlDays)) return;
  const table = qualified(ch, 'provider_traces');
  await ch.client.command({
    query:
      ttlDays === 0
        ? `ALTER TABLE ${table} REMOVE TTL`
        : `ALTER TABLE ${table} MODIFY TTL inserted_at + INTERVAL ${ttlDays} DAY`,
  });
}
