import { sql } from 'drizzle-orm';
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
    const [written] = await applyLockedRunUpdates(tx, actor, [{ current, patch }], onTerminal);
    if (!written) throw runNotFound(runId);
    return written.outcome;
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

/** One run's update for {@link applyLockedRunUpdates}: the run as it stands (locked) and the patch to apply. */
export interface LockedRunUpdate {
  current: LockedRun;
  patch: RunPatch;
}

const col = (column: { name: string }) => sql.raw(`"${column.name}"`);

/**
 * Writes patches {@link patchRefusal} let through to runs whose rows `tx` holds locked, one patch per run, in one
 * statement: the runs' rows, their metrics rows and their agents' last stop reasons (the first terminal status of
 * each); `row` is each run after it. One statement also fires the runs' analytics rollup trigger once, its rows
 * locked in key order. The first terminal status stamps completion and the run's duration: the producer's own total,
 * when it reported one (now or in an earlier update), beats the api's clock, since the producer timed the run while
 * the api saw only when it was created and when it was told it ended (Letta falls back to the clock whenever the
 * ending update carries no total, so TTFT could exceed the duration).
 */
export async function applyLockedRunUpdates(
  tx: Db,
  actor: Actor,
  updates: readonly LockedRunUpdate[],
  onTerminal: ApplyRunUpdateOptions['onTerminal'],
): Promise<{ outcome: Extract<RunUpdateOutcome, { changed: true }>; row: RunRecord }[]> {
  if (updates.length === 0) return [];
  const firstTerminal = updates.map(
    ({ current, patch }) => patch.status !== undefined && isTerminal(patch.status) && current.completedAt === null,
  );
  const rows = sql.join(
    updates.map(
      ({ current, patch }, i) =>
        sql`(${current.id}::text, ${patch.status ?? null}::text, ${patch.stopReason ?? null}::text,
          ${patch.metadata ? JSON.stringify(patch.metadata) : null}::jsonb, ${patch.ttftNs?.toString() ?? null}::bigint,
          ${patch.totalDurationNs?.toString() ?? null}::bigint, ${patch.completedAt ?? null}::timestamptz,
          ${firstTerminal[i] ?? false}::boolean)`,
    ),
    sql`, `,
  );
  // the agents' last stop reasons: of each agent's last run in the batch whose first terminal update names one
  const lastStop = new Map<string, string>();
  updates.forEach(({ current, patch }, i) => {
    if (firstTerminal[i] && patch.stopReason) lastStop.set(current.agentId, patch.stopReason);
  });
  const agentUpdate = lastStop.size
    ? sql`, agent as (
        update ${agents} set ${col(agents.lastStopReason)} = a.stop_reason
        from (values ${sql.join(
          [...lastStop].map(([id, reason]) => sql`(${id}::text, ${reason}::text)`),
          sql`, `,
        )}) as a(id, stop_reason)
        where ${agents.organizationId} = ${actor.organizationId} and ${agents.id} = a.id
      )`
    : sql``;
  const now = nowNs().toString();
  // One statement (one round trip) for the runs, their metrics and their agents: they share the snapshot, and the
  // metrics read the runs' new durations from the CTE.
  const written = rowsOf<RunRecord & { firstTerminal: boolean }>(
    await tx.execute(sql`
      with patch (id, status, stop_reason, metadata, ttft_ns, total_duration_ns, completed_at, first_terminal) as (
        values ${rows}
      ), updated as (
        update ${runs} set
          ${col(runs.updatedAt)} = clock_timestamp(),
          ${col(runs.status)} = coalesce(patch.status, ${runs.status}),
          ${col(runs.stopReason)} = coalesce(patch.stop_reason, ${runs.stopReason}),
          ${col(runs.metadata)} = case when patch.metadata is null then ${runs.metadata}
            else coalesce(${runs.metadata}, '{}'::jsonb) || patch.metadata end,
          ${col(runs.ttftNs)} = coalesce(patch.ttft_ns, ${runs.ttftNs}),
          ${col(runs.totalDurationNs)} = coalesce(patch.total_duration_ns, ${runs.totalDurationNs}),
          ${col(runs.completedAt)} = case when patch.completed_at is not null then patch.completed_at
            when patch.first_terminal then clock_timestamp() else ${runs.completedAt} end,
          ${col(runs.runNs)} = case when patch.first_terminal then coalesce(patch.total_duration_ns, ${runs.totalDurationNs},
            ${now}::bigint - (select m.run_start_ns from ${runMetrics} m where m.id = ${runs.id})) else ${runs.runNs} end
        from patch where ${runs.id} = patch.id
        returning ${runs}.*, patch.first_terminal
      ), metrics as (
        update ${runMetrics} set
          ${col(runMetrics.numSteps)} = (select count(*)::int from ${steps} where ${steps.runId} = ${runMetrics.id}),
          ${col(runMetrics.runNs)} = case when u.first_terminal then u.run_ns else ${runMetrics.runNs} end,
          ${col(runMetrics.toolsUsed)} = case when u.first_terminal then (
            select jsonb_agg(distinct ${messages.body}->'toolCall'->>'name') from ${messages}
            where ${messages.runId} = ${runMetrics.id} and ${messages.messageType} = 'tool_call_message'
              and ${messages.body}->'toolCall'->>'name' is not null
          ) else ${runMetrics.toolsUsed} end
        from updated u where ${runMetrics.id} = u.id
      )${agentUpdate}
      select ${sql.raw(runRecordList)} from updated`),
  );
  const byId = new Map(written.map((row) => [row.id, row]));
  const results: { outcome: Extract<RunUpdateOutcome, { changed: true }>; row: RunRecord }[] = [];
  for (const [i, { current, patch }] of updates.entries()) {
    const row = byId.get(current.id);
    if (!row) throw runNotFound(current.id);
    const run = toRun(row);
    if (patch.status && isTerminal(run.status)) await onTerminal?.(run);
    results.push({
      outcome: {
        changed: true as const,
        from: current.status as RunStatus,
        firstTerminal: firstTerminal[i] ?? false,
        run,
      },
      row,
    });
  }
  return results;
}
