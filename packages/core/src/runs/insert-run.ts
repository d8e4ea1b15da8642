import { inArray, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { z } from 'zod';
import type { Actor } from '../actor.ts';
import { type Db, rowsOf } from '../db/connect.ts';
import { retryOnDeadlock } from '../db/retry-on-deadlock.ts';
import { agents, runMetrics, runs } from '../db/schema.ts';
import { idTaken, newId } from '../ids.ts';
import { fingerprint } from '../json.ts';
import { nowNs } from '../time.ts';
import { type RunRecord, runRecordList, toRun } from './run-record.ts';
import { type createRunInput, MAX_AGENT_NAME_LENGTH, type Run } from './schemas.ts';

/** Quoted column names of a table, for raw INSERT column lists. */
const columnList = (...columns: AnyPgColumn[]) => sql.raw(columns.map((c) => `"${c.name}"`).join(', '));

/** The agent name a create carries: `agentName`, else the metadata's `agent_name` or `agentName` if a usable string. */
function agentNameOf(input: z.output<typeof createRunInput>): string | null {
  if (input.agentName) return input.agentName;
  for (const key of ['agent_name', 'agentName']) {
    const value = input.metadata?.[key];
    if (typeof value === 'string' && value.length >= 1 && value.length <= MAX_AGENT_NAME_LENGTH) return value;
  }
  return null;
}

/**
 * Creates the run (with its agent on first use, and its metrics row), or answers the existing run for an idempotent
 * retry of the same create; `created` says which. `input` is parsed already.
 */
export async function insertRun(
  db: Db,
  actor: Actor,
  input: z.output<typeof createRunInput>,
): Promise<{ run: Run; created: boolean }> {
  const [answer] = await insertRuns(db, actor, [input]);
  if (answer instanceof Error) throw answer;
  return answer as { run: Run; created: boolean };
}

/**
 * {@link insertRun} for several runs in one statement: each input's answer is its run and whether it was created now,
 * or the idTaken CONFLICT its create would have thrown.
 */
export async function insertRuns(
  db: Db,
  actor: Actor,
  inputs: readonly z.output<typeof createRunInput>[],
): Promise<({ run: Run; created: boolean } | Error)[]> {
  if (inputs.length === 0) return [];
  const org = actor.organizationId;
  const json = (value: unknown) => (value == null ? null : JSON.stringify(value));
  const rows = inputs.map((input) => {
    const { id: clientId, ...content } = input;
    return {
      input,
      id: clientId ?? newId('run'),
      createFingerprint: fingerprint(content),
      agentName: agentNameOf(input),
    };
  });
  // In id order, one row per id (the first input's): concurrent creates of the same ids wait instead of deadlocking.
  const byId = <T extends { id: string }>(list: T[]) =>
    [...new Map(list.map((r) => [r.id, r])).values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const agentRows = byId(rows.map((r) => ({ id: r.input.agentId, name: r.agentName })).reverse());
  const runRows = byId([...rows].reverse());
  const named = agentRows.filter((a) => a.name !== null);
  // Names an existing agent that has none; a new agent gets the name from the insert (CTEs share one snapshot, so
  // this update does not see it). A named agent keeps its name: only agents.update renames.
  const nameAgents = named.length
    ? sql`, named as (
        update ${agents} set ${sql.raw(`"${agents.name.name}"`)} = v.name
        from (values ${sql.join(
          named.map((a) => sql`(${a.id}::text, ${a.name}::text)`),
          sql`, `,
        )}) as v(id, name)
        where ${agents.organizationId} = ${org} and ${agents.id} = v.id and ${agents.name} is null
      )`
    : sql``;
  const startNs = nowNs().toString();
  // One statement, so one round trip and its own transaction instead of BEGIN, three INSERTs and COMMIT: the agents
  // (created on first use), the runs, and their metrics rows (pnpm bench, runs.create).
  const created = rowsOf<RunRecord>(
    await retryOnDeadlock(() =>
      db.execute(sql`
      with agent as (
        insert into ${agents} (${columnList(agents.id, agents.organizationId, agents.name)})
        values ${sql.join(
          agentRows.map((a) => sql`(${a.id}, ${org}, ${a.name})`),
          sql`, `,
        )}
        on conflict do nothing
      )${nameAgents}, created as (
        insert into ${runs} (${columnList(
          runs.id,
          runs.organizationId,
          runs.agentId,
          runs.background,
          runs.conversationId,
          runs.baseTemplateId,
          runs.metadata,
          runs.requestConfig,
          runs.callbackUrl,
          runs.createdById,
          runs.createFingerprint,
        )})
        values ${sql.join(
          runRows.map(
            ({ id, input, createFingerprint }) =>
              sql`(${id}, ${org}, ${input.agentId}, ${input.background ?? null}::boolean, ${input.conversationId ?? null},
                ${input.baseTemplateId ?? null}, ${json(input.metadata)}::jsonb, ${json(input.requestConfig)}::jsonb,
                ${input.callbackUrl ?? null}, ${actor.userId}, ${createFingerprint})`,
          ),
          sql`, `,
        )}
        on conflict do nothing
        returning *
      ), metrics as (
        insert into ${runMetrics} (${columnList(
          runMetrics.id,
          runMetrics.organizationId,
          runMetrics.agentId,
          runMetrics.projectId,
          runMetrics.templateId,
          runMetrics.baseTemplateId,
          runMetrics.runStartNs,
        )})
        select c.id, c.organization_id, c.agent_id, v.project_id, v.template_id, c.base_template_id, ${startNs}::bigint
        from created c join (values ${sql.join(
          runRows.map(
            ({ id, input }) => sql`(${id}::text, ${input.projectId ?? null}::text, ${input.templateId ?? null}::text)`,
          ),
          sql`, `,
        )}) as v(id, project_id, template_id) on v.id = c.id
      )
      select ${sql.raw(runRecordList)} from created`),
    ),
  );
  const createdById = new Map(created.map((r) => [r.id, r]));
  const firstOf = new Map<string, (typeof rows)[number]>();
  for (const r of rows) if (!firstOf.has(r.id)) firstOf.set(r.id, r);
  const isNew = (r: (typeof rows)[number]) => createdById.has(r.id) && firstOf.get(r.id) === r;
  const others = rows.filter((r) => !isNew(r));
  // An id that exists (or an input repeating an earlier one of the batch): an idempotent retry of the same create
  // (same organization and content) answers the run; any other use of it, in this organization or another, gets one
  // answer (idTaken).
  const existing = others.length
    ? await db
        .select()
        .from(runs)
        .where(
          inArray(
            runs.id,
            others.map((r) => r.id),
          ),
        )
    : [];
  const existingById = new Map(existing.map((r) => [r.id, r]));
  return rows.map((r) => {
    const fresh = createdById.get(r.id);
    if (fresh && isNew(r)) return { run: toRun(fresh), created: true };
    const held = existingById.get(r.id);
    if (held?.organizationId !== org || held.createFingerprint !== r.createFingerprint) return idTaken(r.id);
    return { run: toRun(held), created: false };
  });
}
