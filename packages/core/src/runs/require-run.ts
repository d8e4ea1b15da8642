import { and, eq, inArray } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import type { Db } from '../db/connect.ts';
import { retryOnDeadlock } from '../db/retry-on-deadlock.ts';
import { runs } from '../db/schema.ts';
import { NotFound } from '../errors.ts';

export function runNotFound(runId: string): NotFound {
  return new NotFound(`Run ${runId} not found`, { field: 'runId' });
}

/**
 * The run's row if it belongs to the actor's organization, else NotFound (the same answer for another
 * organization's run as for an unknown one). `lock` takes a row lock inside a transaction.
 */
export async function requireRun(db: Db, actor: Actor, runId: string, lock = false): Promise<typeof runs.$inferSelect> {
  const query = db
    .select()
    .from(runs)
    .where(and(eq(runs.id, runId), eq(runs.organizationId, actor.organizationId)));
  const [row] = await (lock ? query.for('update') : query);
  if (!row) throw runNotFound(runId);
  return row;
}

/**
 * Locks the actor's runs among `runIds` inside a transaction, in id order (two transactions locking some of the same
 * runs wait for each other instead of deadlocking), and answers their rows by id; unknown ids are left out.
 */
export async function lockRuns(
  tx: Db,
  actor: Actor,
  runIds: readonly string[],
): Promise<Map<string, typeof runs.$inferSelect>> {
  const ids = [...new Set(runIds)].sort();
  if (ids.length === 0) return new Map();
  const rows = await tx
    .select()
    .from(runs)
    .where(and(inArray(runs.id, ids), eq(runs.organizationId, actor.organizationId)))
    .orderBy(runs.id)
    .for('update');
  return new Map(rows.map((row) => [row.id, row]));
}

/**
 * `work` in a transaction that first locks the actor's runs among `runIds` ({@link lockRuns}), rerun when Postgres
 * aborts it to break a deadlock: the batch writes' one way of touching many runs. `work` gets the locked runs' rows by
 * id (unknown runs left out).
 */
export function withRunsLocked<T>(
  db: Db,
  actor: Actor,
  runIds: readonly string[],
  work: (tx: Db, locked: Map<string, typeof runs.$inferSelect>) => Promise<T>,
): Promise<T> {
  return retryOnDeadlock(() =>
    db.transaction(async (tx) => {
      return work(tx, await lockRuns(tx, actor, runIds));
    }),
  );
}
