import { and, eq, sql } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import { type Db, rowsOf } from '../db/connect.ts';
import { providerTraceIds } from '../db/schema.ts';
import { idTaken } from '../ids.ts';
import { fingerprint } from '../json.ts';
import type { ProviderTrace } from './provider-trace.ts';

/**
 * Claims a caller-chosen trace id for the caller's organization before the trace goes to any backend, so that one
 * answer holds for every backend configuration: null when the id is new (the caller writes the trace), the trace as
 * first created when this is a retry (same organization, same content; nothing is written again), and otherwise the
 * one CONFLICT every taken client-chosen id gets (idTaken), whether the holder is this organization or another, after
 * the same two statements. `timeGiven`: whether the caller chose createdAt (else it is not part of the content).
 */
export async function claimProviderTraceId(
  db: Db,
  actor: Actor,
  trace: ProviderTrace,
  timeGiven: boolean,
): Promise<ProviderTrace | null> {
  const { id, createdAt, ...content } = trace;
  const print = fingerprint(timeGiven ? { ...content, createdAt } : content);
  const claimed = rowsOf<{ id: string }>(
    await db.execute(sql`
      insert into ${providerTraceIds} (id, organization_id, run_id, fingerprint, trace_created_at)
      values (${id}, ${actor.organizationId}, ${trace.runId}, ${print}, ${createdAt})
      on conflict do nothing
      returning id`),
  );
  if (claimed.length) return null;
  // A statement of its own: it sees a holder that committed while the INSERT above waited for it.
  const [holder] = await db.select().from(providerTraceIds).where(eq(providerTraceIds.id, id));
  if (holder?.organizationId !== actor.organizationId || holder.fingerprint !== print) throw idTaken(id);
  return { ...trace, createdAt: holder.traceCreatedAt };
}

/**
 * Frees a claim whose trace no durable backend took (every readable backend failed): a retry must write it then, not
 * be answered with a trace that was never stored.
 */
export async function releaseProviderTraceId(db: Db, actor: Actor, id: string): Promise<void> {
  await db
    .delete(providerTraceIds)
    .where(and(eq(providerTraceIds.id, id), eq(providerTraceIds.organizationId, actor.organizationId)));
}
