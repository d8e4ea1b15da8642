import { eq, inArray, type SQL, sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { Actor } from '../actor.ts';
import { type Db, rowsOf } from '../db/connect.ts';
import { runs } from '../db/schema.ts';
import { assertId } from '../ids.ts';
import { type Order, type Page, type PageWindow, timestampCursor, timestampPage } from '../pagination.ts';
import { requireRun } from './require-run.ts';
import { type RunRecord, selectRunRecords, toRun } from './run-record.ts';
import type { listRunsInput, Run } from './schemas.ts';
import { ACTIVE_STATUSES } from './status.ts';

const RUNS_SCOPE = 'runs';

/** List options of the Letta REST layer that tRPC's input does not offer (CONTRACTS §4). */
export interface RunListOptions extends PageWindow {
  /** Letta's deprecated `agent_ids`: runs of any of these agents (ignored when `agentId` is given). */
  agentIds?: readonly string[] | null | undefined;
}

/** One keyset page of the actor's runs that pass `input`'s filters, by creation time. `input` is parsed already. */
export function listRuns(
  db: Db,
  actor: Actor,
  input: z.output<typeof listRunsInput>,
  options: RunListOptions,
): Promise<Page<Run>> {
  const statuses = input.statuses ?? (input.active ? ACTIVE_STATUSES : null);
  const where: SQL[] = [eq(runs.organizationId, actor.organizationId)];
  if (input.agentId != null) where.push(eq(runs.agentId, input.agentId));
  else if (options.agentIds) {
    const agentIds = options.agentIds.map((id, i) => assertId('agent', id, `agentIds.${i}`));
    where.push(agentIds.length ? inArray(runs.agentId, [...new Set(agentIds)]) : sql`false`);
  }
  if (statuses) where.push(statuses.length ? inArray(runs.status, [...new Set(statuses)]) : sql`false`);
  if (input.background != null) where.push(eq(runs.background, input.background));
  if (input.stopReason != null) where.push(eq(runs.stopReason, input.stopReason));
  if (input.conversationId != null) where.push(eq(runs.conversationId, input.conversationId));
  return timestampPage({
    scope: RUNS_SCOPE,
    order: input.order,
    limit: input.limit,
    cursor: input.cursor,
    until: options.until,
    createdAt: runs.createdAt,
    id: runs.id,
    where,
    fetch: async (condition, orderBy, rowLimit) =>
      rowsOf<RunRecord>(
        await db.execute(
          sql`${selectRunRecords} where ${condition} order by ${sql.join(orderBy, sql`, `)} limit ${rowLimit}`,
        ),
      ),
    keyOf: (r) => r,
    map: toRun,
  });
}

/** The cursor of {@link listRuns} in `order` positioned at this run, as if a page had ended on it. */
export async function runCursor(db: Db, actor: Actor, runId: string, order: Order): Promise<string> {
  const row = await requireRun(db, actor, assertId('run', runId));
  return timestampCursor(RUNS_SCOPE, order, row.createdAt, row.id);
}
