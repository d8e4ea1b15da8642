import { and, eq, gte, inArray, lt, type SQL, sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { Actor } from '../actor.ts';
import { type Db, executePrepared, rowsOf } from '../db/connect.ts';
import { likePrefix } from '../db/like-prefix.ts';
import { agents, runs } from '../db/schema.ts';
import { InvalidArgument } from '../errors.ts';
import { assertId } from '../ids.ts';
import {
  integerKeyPage,
  type Order,
  type Page,
  type PageWindow,
  timestampCursor,
  timestampPage,
} from '../pagination.ts';
import { requireRun } from './require-run.ts';
import { type RunRecord, selectRunRecords, toRun } from './run-record.ts';
import type { listRunsInput, Run, RunSortKey, runFiltersInput } from './schemas.ts';
import { ACTIVE_STATUSES } from './status.ts';

const RUNS_SCOPE = 'runs';

type SortKey = bigint | number | string | null;

/**
 * The integer sort keys of runs.list besides creation time, each with how a run record carries it. None is indexed
 * (schema.ts: a step's update of its run stays HOT): such a sort reads every run in the filter and time range.
 */
const INTEGER_SORTS: Record<Exclude<RunSortKey, 'created'>, { key: SQL; of: (r: RunRecord) => SortKey }> = {
  duration: { key: sql`coalesce(${runs.runNs}, ${runs.totalDurationNs})`, of: (r) => r.runNs ?? r.totalDurationNs },
  cost: { key: sql`${runs.costPusd}`, of: (r) => r.costPusd },
  tokens: { key: sql`${runs.totalTokens}`, of: (r) => r.totalTokens },
};

/** List options of the Letta REST layer that tRPC's input does not offer (CONTRACTS §4). */
export interface RunListOptions extends PageWindow {
  /** Letta's deprecated `agent_ids`: runs of any of these agents (ignored when `agentId` is given). */
  agentIds?: readonly string[] | null | undefined;
}

/**
 * The WHERE conditions of the actor's runs that pass `input`'s filters: what runs.list pages through and runs.count
 * counts, so the two cannot disagree. `input` is parsed already.
 */
export function runConditions(
  actor: Actor,
  input: z.output<typeof runFiltersInput>,
  options: Pick<RunListOptions, 'agentIds'> = {},
): SQL[] {
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
  if (input.createdFrom != null) where.push(gte(runs.createdAt, input.createdFrom));
  if (input.createdTo != null) where.push(lt(runs.createdAt, input.createdTo));
  if (input.models) where.push(input.models.length ? inArray(runs.model, [...new Set(input.models)]) : sql`false`);
  if (input.agentNames) {
    // A subquery, not ids fetched first: one round trip, and agents_org_name_idx finds the few agents.
    where.push(
      input.agentNames.length
        ? sql`${runs.agentId} in (select ${agents.id} from ${agents} where ${and(
            eq(agents.organizationId, actor.organizationId),
            inArray(agents.name, [...new Set(input.agentNames)]),
          )})`
        : sql`false`,
    );
  }
  // runs_org_id_prefix_idx (text_pattern_ops) serves a LIKE with a constant prefix.
  if (input.search != null) where.push(sql`${runs.id} like ${likePrefix(input.search)}`);
  return where;
}

/** One keyset page of the actor's runs that pass `input`'s filters, by creation time. `input` is parsed already. */
export function listRuns(
  db: Db,
  actor: Actor,
  input: z.output<typeof listRunsInput>,
  options: RunListOptions,
): Promise<Page<Run>> {
  const where = runConditions(actor, input, options);
  // The unfiltered lists (an organization's or an agent's runs, any sort and order, any page) are what dashboards ask
  // for all the time, and their texts are a few dozen: prepared. Lists with other filters have as many texts as
  // filter combinations and list lengths: planned each time.
  const prepared = where.length <= (input.agentId != null ? 2 : 1) && !options.until;
  const fetch = async (condition: SQL | undefined, orderBy: SQL[], rowLimit: number) => {
    const query = sql`${selectRunRecords} where ${condition} order by ${sql.join(orderBy, sql`, `)} limit ${rowLimit}`;
    return prepared ? executePrepared<RunRecord>(db, query) : rowsOf<RunRecord>(await db.execute(query));
  };
  if (input.sortBy !== 'created') {
    // `until` is the REST layer's window, which only lists by creation time.
    if (options.until) throw new InvalidArgument('A window end needs sortBy created', { field: 'sortBy' });
    const sort = INTEGER_SORTS[input.sortBy];
    return integerKeyPage({
      scope: `${RUNS_SCOPE}:${input.sortBy}`,
      order: input.order,
      limit: input.limit,
      cursor: input.cursor,
      key: sort.key,
      id: runs.id,
      where,
      fetch,
      keyOf: (r) => ({ key: sort.of(r), id: r.id }),
      map: toRun,
    });
  }
  return timestampPage({
    scope: RUNS_SCOPE,
    order: input.order,
    limit: input.limit,
    cursor: input.cursor,
    until: options.until,
    createdAt: runs.createdAt,
    id: runs.id,
    where,
    fetch,
    keyOf: (r) => r,
    map: toRun,
  });
}

/** The cursor of {@link listRuns} in `order` positioned at this run, as if a page had ended on it. */
export async function runCursor(db: Db, actor: Actor, runId: string, order: Order): Promise<string> {
  const row = await requireRun(db, actor, assertId('run', runId));
  return timestampCursor(RUNS_SCOPE, order, row.createdAt, row.id);
}
