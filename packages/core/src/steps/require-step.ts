import { and, eq } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import type { Db } from '../db/connect.ts';
import { steps } from '../db/schema.ts';
import { NotFound } from '../errors.ts';

export function stepNotFound(stepId: string): NotFound {
  return new NotFound(`Step ${stepId} not found`, { field: 'stepId' });
}

/**
 * The step's row if it belongs to the actor's organization, else NotFound (the same answer for another
 * organization's step as for an unknown one).
 */
export async function requireStep(db: Db, actor: Actor, stepId: string): Promise<typeof steps.$inferSelect> {
  const [row] = await db
    .select()
    .from(steps)
    .where(and(eq(steps.id, stepId), eq(steps.organizationId, actor.organizationId)));
  if (!row) throw stepNotFound(stepId);
  return row;
}
