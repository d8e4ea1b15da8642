import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { type Db, rowsOf } from './connect.ts';

const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url));
/** An arbitrary constant: every Runtrace process takes the same advisory lock while migrating. */
const MIGRATION_LOCK_KEY = 7_254_110_421;

/**
 * Applies drizzle-kit's migrations in one transaction under a Postgres advisory lock, so several api processes
 * starting together migrate once. The same code runs on PGlite and on a server.
 * @returns the tags of the migrations it applied.
 */
export async function migrate(db: Db): Promise<string[]> {
  const migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
  return db.transaction(async (tx) => {
    // A migration over a large table may run longer than the sessions' statement_timeout allows queries.
    await tx.execute(sql`set local statement_timeout = 0`);
    await tx.execute(sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await tx.execute(sql`create table if not exists runtrace_migrations (
      hash text primary key,
      folder_millis bigint not null,
      applied_at timestamptz not null default now()
    )`);
    const rows = await tx.execute<{ hash: string }>(sql`select hash from runtrace_migrations`);
    const done = new Set(rowsOf<{ hash: string }>(rows).map((r) => r.hash));
    const applied: string[] = [];
    for (const migration of migrations) {
      if (done.has(migration.hash)) continue;
      for (const statement of migration.sql) {
        if (statement.trim()) await tx.execute(sql.raw(statement));
      }
      await tx.execute(
        sql`insert into runtrace_migrations (hash, folder_millis) values (${migration.hash}, ${migration.folderMillis})`,
      );
      applied.push(String(migration.folderMillis));
    }
    return applied;
  });
}

/** How many of this build's migrations the database has not applied (readiness: `/readyz`). */
export async function pendingMigrations(db: Db): Promise<number> {
  const migrations = readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER });
  const exists = rowsOf<{ exists: boolean }>(
    await db.execute(sql`select to_regclass('runtrace_migrations') is not null as exists`),
  )[0]?.exists;
  if (!exists) return migrations.length;
  const done = new Set(
    rowsOf<{ hash: string }>(await db.execute(sql`select hash from runtrace_migrations`)).map((r) => r.hash),
  );
  return migrations.filter((m) => !done.has(m.hash)).length;
}
