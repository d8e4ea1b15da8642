import { eq, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { z } from 'zod';
import type { Actor } from '../actor.ts';
import { type Db, rowsOf } from '../db/connect.ts';
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
  const { id: clientId, ...content } = input;
  const id = clientId ?? newId('run');
  const createFingerprint = fingerprint(content);
  const org = actor.organizationId;
  const json = (value: unknown) => (value == null ? null : JSON.stringify(value));
  const agentName = agentNameOf(input);
  // Names an existing agent that has none; a new agent gets the name from the insert (CTEs share one snapshot, so
  // this update does not see it). A named agent keeps its name: only agents.update renames.
  const nameAgent = agentName
    ? sql`, named as (
        update ${agents} set ${sql.raw(`"${agents.name.name}"`)} = ${agentName}
        where ${agents.organizationId} = ${org} and ${agents.id} = ${input.agentId} and ${agents.name} is null
      )`
    : sql``;
  // One statement, so one round trip and its own transaction instead of BEGIN, three INSERTs and COMMIT: the agent
  // (created on first use), the run, and its metrics row (pnpm bench, runs.create).
  const [created] = rowsOf<RunRecord>(
    await db.execute(sql`
      with agent as (
        insert into ${agents} (${columnList(agents.id, agents.organizationId, agents.name)})
        values (${input.agentId}, ${org}, ${agentName})
        on conflict do nothing
      )${nameAgent}, created as (
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
        values (${id}, ${org}, ${input.agentId}, ${input.background ?? null}::boolean, ${input.conversationId ?? null},
          ${input.baseTemplateId ?? null}, ${json(input.metadata)}::jsonb, ${json(input.requestConfig)}::jsonb,
          ${input.callbackUrl ?? null}, ${actor.userId}, ${createFingerprint})
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
        select id, organization_id, agent_id, ${input.projectId ?? null}, ${input.templateId ?? null}, base_template_id,
          ${nowNs().toString()}::bigint
        from created
      )
      select ${sql.raw(runRecordList)} from created`),
  );
  if (created) return { run: toRun(created), created: true };
  // The id exists: an idempotent retry of the same create (same organization and content) answers the run; any
  // other use of it, in this organization or another, gets one answer (idTaken).
  const [existing] = await db.select().from(runs).where(eq(runs.id, id));
  if (existing?.organizationId !== org || existing.createFingerprint !== createFingerprint) throw idTaken(id);
  return { run: toRun(existing), created: false };
}
