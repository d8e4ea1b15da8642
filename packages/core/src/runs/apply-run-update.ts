import { and, eq, type SQL, sql } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import { type Db, rowsOf } from '../db/connect.ts';
import { agents, messages, runMetrics, runs, steps } from '../db/schema.ts';
import { Conflict } from '../errors.ts';
import { nowNs } from '../time.ts';
import { requireRun, runNotFound } from './require-run.ts';
import { type RunRecord, retrieveRun, runRecordList, toRun } from './run-record.ts';
import type { Run } from './schemas.ts';
import { isTerminal, type RunStatus, type StopReason, transitionError } from './status.ts';

/** The fields an update or cancel may change, checked already (a status the stop reason agrees with). */
export interface RunPatch {
  status?: RunStatus | undefined;
  stopReason?: StopReason | undefined;
  metadata?: Record<string, unknown> | undefined;
  ttftNs?: bigint | undefined;
  totalDurationNs?: bigint | undefined;
  completedAt?: string | undefined;
}

/** What {@link applyRunUpdate} did: nothing (a cancel of an ended run), or a committed change from status `from`. */
export type RunUpdateOutcome =
  | { changed: false; run: Run }
  | { changed: true; from: RunStatus; firstTerminal: boolean; run: Run };

export interface ApplyRunUpdateOptions {
  /** A cancel: a run that already ended (other than one waiting for approval) is answered unchanged. */
  isCancel: boolean;
  /** Called inside the transaction, the row locked, when the run is terminal after the update (RunManagerOptions). */
  onTerminal: ((run: Run) => Promise<void>) | undefined;
}

/**
 * One update of a run through the status machine, in one transaction with its row locked: the run row, its metrics
 * row (step count; run duration and tools used on the first terminal status) and its agent's last stop reason.
 */
export function applyRunUpdate(
  db: Db,
  actor: Actor,
  runId: string,
  patch: RunPatch,
  { isCancel, onTerminal }: ApplyRunUpdateOptions,
): Promise<RunUpdateOutcome> {
  return db.transaction(async (tx) => {
    const current = await requireRun(tx, actor, runId, true);
    const from = current.status as RunStatus;
    if (isCancel && isTerminal(from) && !(from === 'completed' && current.stopReason === 'requires_approval')) {
      // Cancelling an ended run answers it unchanged; the hook still ends its stream if that end was lost.
      const run = await retrieveRun(tx, actor, runId);
      await onTerminal?.(run);
      return { changed: false as const, run };
    }
    const refused = patchRefusal(current, patch);
    if (refused) throw refused;
    const { outcome } = await applyLockedRunUpdate(tx, actor, current, patch, onTerminal);
    return outcome;
  });
}

/** What an update reads of the run it changes, as it stands (locked) before the update. */
export type LockedRun = Pick<RunRecord, 'id' | 'agentId' | 'status' | 'stopReason' | 'completedAt'>;

/** Why the status machine refuses `patch` on the run as it is (`current`), or null when it may apply. */
export function patchRefusal(current: LockedRun, patch: RunPatch): Conflict | null {
  if (!patch.status) return null;
  const why = transitionError(current.status as RunStatus, current.stopReason, patch.status);
  return why ? new Conflict(`Cannot update run ${current.id}: ${why}`, { field: 'status' }) : null;
}

/**
 * Writes a patch {@link patchRefusal} let through to a run whose row `tx` holds locked (`current`, as it is now):
 * the run row, its metrics row and its agent's last stop reason, in one statement; `row` is the run after it.
 */
export async function applyLockedRunUpdate(
  tx: Db,
  actor: Actor,
  current: LockedRun,
  patch: RunPatch,
  onTerminal: ApplyRunUpdateOptions['onTerminal'],
): Promise<{ outcome: Extract<RunUpdateOutcome, { changed: true }>; row: RunRecord }> {
  const runId = current.id;
  const from = current.status as RunStatus;
  const firstTerminal = patch.status !== undefined && isTerminal(patch.status) && current.completedAt === null;
  const runUpdate = tx
    .update(runs)
    .set(runSet(runId, patch, firstTerminal))
    .where(eq(runs.id, runId))
    .returning();
  const metricsUpdate = tx
    .update(runMetrics)
    .set(metricsSet(runId, sql`(select ${sql.raw(`"${runs.runNs.name}"`)} from updated)`, firstTerminal))
    .where(eq(runMetrics.id, runId));
  // the agent's last stop reason: only the first terminal update of a run that names one
  const agentUpdate =
    firstTerminal && patch.stopReason
      ? sql`, agent as (${tx
          .update(agents)
          .set({ lastStopReason: patch.stopReason })
          .where(
            and(
              eq(agents.organizationId, actor.organizationId),
              eq(agents.id, sql`(select ${sql.raw(`"${runs.agentId.name}"`)} from updated)`),
            ),
          )
          .getSQL()})`
      : sql``;
  // One statement (one round trip) for the run, its metrics and its agent: they share the snapshot, and the metrics
  // read the run's new duration from the CTE.
  const [updated] = rowsOf<RunRecord>(
    await tx.execute(sql`with updated as (${runUpdate.getSQL()}), metrics as (${metricsUpdate.getSQL()})${agentUpdate}
      select ${sql.raw(runRecordList)} from updated`),
  );
  if (!updated) throw runNotFound(runId);
  const run = toRun(updated);
  if (patch.status && isTerminal(run.status)) await onTerminal?.(run);
  return { outcome: { changed: true as const, from, firstTerminal, run }, row: updated };
}

/** The `runs` columns the patch sets; the first terminal status also stamps completion and the run's duration. */
function runSet(runId: string, patch: RunPatch, firstTerminal: boolean): Record<string, unknown> {
  const set: Record<string, unknown> = { updatedAt: sql`clock_timestamp()` };
  if (patch.status) set.status = patch.status;
  if (patch.stopReason) set.stopReason = patch.stopReason;
  if (patch.metadata) {
    set.metadata = sql`coalesce(${runs.metadata}, '{}'::jsonb) || ${JSON.stringify(patch.metadata)}::jsonb`;
  }
  if (patch.ttftNs !== undefined) set.ttftNs = patch.ttftNs;
  if (patch.totalDurationNs !== undefined) set.totalDurationNs = patch.totalDurationNs;
  if (patch.completedAt) set.completedAt = patch.completedAt;
  else if (firstTerminal) set.completedAt = sql`clock_timestamp()`;
  if (firstTerminal) {
    // The producer's own total, when it reported one (now or in an earlier update), beats the api's clock: the
    // producer timed the run, while the api saw only when the run was created and when it was told it ended (Letta
    // falls back to the clock whenever the ending update carries no total, so TTFT could exceed the duration).
    set.runNs =
      patch.totalDurationNs ??
      sql`coalesce(${runs.totalDurationNs}, ${nowNs()}::bigint - (select ${runMetrics.runStartNs} from ${runMetrics} where ${runMetrics.id} = ${runId}))`;
  }
  return set;
}

/** The `run_metrics` columns an update refreshes: the step count always, duration and tools used when it ends. */
function metricsSet(runId: string, runNs: SQL, firstTerminal: boolean): Record<string, unknown> {
  const set: Record<string, unknown> = {
    numSteps: sql`(select count(*)::int from ${steps} where ${steps.runId} = ${runId})`,
  };
  if (firstTerminal) {
    set.runNs = runNs;
    set.toolsUsed = sql`(select jsonb_agg(distinct ${messages.body}->'toolCall'->>'name')
      from ${messages} where ${messages.runId} = ${runId} and ${messages.messageType} = 'tool_call_message'
      and ${messages.body}->'toolCall'->>'name' is not null)`;
  }
  return set;
}
