import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import { type Db, rowsOf } from '../db/connect.ts';
import { providerTraceIds, providerTraces } from '../db/schema.ts';
import { idTaken } from '../ids.ts';
import { fingerprint } from '../json.ts';
import type { ProviderTrace } from './provider-trace.ts';

/**
 * Claims a caller-chosen trace id for the caller's organization before the trace goes to any backend, so that one
 * answer holds for every backend configuration: null when the id is new (the caller writes the trace), the trace as
 * first created when this is a retry (same organization, same content; nothing is written again), and otherwise the
 * one CONFLICT every taken client-chosen id gets (idTaken), whether the holder is this organization or another, after
 * the same two statements. `timeGiven`: whether the caller chose createdAt (else it is not part of the content).
 *
 * Generated ids are not claimed (that would cost every write a statement), so the claim also looks in the ledger's
 * own `provider_traces`: an id the server generated for a trace there is taken too. Reusing it is never a retry (the
 * request that made it named no id), so it is the same CONFLICT, whoever's trace it is.
 */
export async function claimProviderTraceId(
  db: Db,
  actor: Actor,
  trace: ProviderTrace,
  timeGiven: boolean,
): Promise<ProviderTrace | null> {
  const [answer] = await claimProviderTraceIds(db, actor, [{ trace, timeGiven }]);
  if (answer instanceof Error) throw answer;
  return answer ?? null;
}

/**
 * {@link claimProviderTraceId} for several traces in the same two statements: each answer is null (claimed now), the
 * trace as first created (a retry), or the CONFLICT its claim would have thrown.
 */
export async function claimProviderTraceIds(
  db: Db,
  actor: Actor,
  claims: readonly { trace: ProviderTrace; timeGiven: boolean }[],
): Promise<(ProviderTrace | null | Error)[]> {
  if (claims.length === 0) return [];
  const prints = claims.map(({ trace: { id, createdAt, ...content }, timeGiven }) =>
    fingerprint(timeGiven ? { ...content, createdAt } : content),
  );
  // In id order: two concurrent claims of the same ids wait for each other instead of deadlocking.
  const order = claims.map((_, i) => i).sort((a, b) => (claims[a]!.trace.id < claims[b]!.trace.id ? -1 : 1));
  const values = sql.join(
    order.map((i) => {
      const { trace } = claims[i]!;
      return sql`(${trace.id}::text, ${actor.organizationId}::text, ${trace.runId}::text, ${prints[i]}::text, ${trace.createdAt}::text)`;
    }),
    sql`, `,
  );
  const claimed = rowsOf<{ id: string }>(
    await db.execute(sql`
      insert into ${providerTraceIds} (id, organization_id, run_id, fingerprint, trace_created_at)
      select v.id, v.organization_id, v.run_id, v.fingerprint, v.trace_created_at
      from (values ${values}) as v(id, organization_id, run_id, fingerprint, trace_created_at)
      where not exists (select 1 from ${providerTraces} where ${providerTraces.id} = v.id)
      on conflict do nothing
      returning id`),
  );
  const claimedIds = new Set(claimed.map((r) => r.id));
  const answers: (ProviderTrace | null | Error)[] = claims.map(() => null);
  const others = claims.flatMap((c, i) => (claimedIds.has(c.trace.id) ? [] : [i]));
  if (others.length === 0) return answers;
  // A statement of its own: it sees a holder that committed while the INSERT above waited for it.
  const holders = await db
    .select()
    .from(providerTraceIds)
    .where(
      inArray(
        providerTraceIds.id,
        others.map((i) => claims[i]!.trace.id),
      ),
    );
  const holderOf = new Map(holders.map((h) => [h.id, h]));
  for (const i of others) {
    const { trace } = claims[i]!;
    const holder = holderOf.get(trace.id);
    answers[i] =
      holder?.organizationId !== actor.organizationId || holder.fingerprint !== prints[i]
        ? idTaken(trace.id)
        : { ...trace, createdAt: holder.traceCreatedAt };
  }
  return answers;
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
