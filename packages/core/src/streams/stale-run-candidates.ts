import { and, asc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Db } from '../db/connect.ts';
import { organizations, runs } from '../db/schema.ts';
import { ACTIVE_STATUSES } from '../runs/status.ts';

const SWEEP_PAGE = 500;

/** A background run the stale sweep may fail. */
export interface StaleCandidate {
  id: string;
  organizationId: string;
  createdById: string | null;
  createdAt: string;
  updatedAt: string;
}

/**
 * Active background runs not updated since `cutoff`, organization by organization, in pages of {@link SWEEP_PAGE}
 * (the next page is read once the caller has handled this one's runs).
 */
export async function* staleRunCandidates(db: Db, cutoff: string): AsyncGenerator<StaleCandidate> {
  // Per organization, so the (organization, status, created_at) index serves each page.
  const orgs = await db.select({ id: organizations.id }).from(organizations);
  for (const org of orgs) {
    let after: { createdAt: string; id: string } | null = null;
    for (;;) {
      const page: StaleCandidate[] = await db
        .select({
          id: runs.id,
          organizationId: runs.organizationId,
          createdById: runs.createdById,
          createdAt: runs.createdAt,
          updatedAt: runs.updatedAt,
        })
        .from(runs)
        .where(
          and(
            eq(runs.organizationId, org.id),
            inArray(runs.status, [...ACTIVE_STATUSES]),
            eq(runs.background, true),
            lt(runs.updatedAt, cutoff),
            after ? sql`(${runs.createdAt}, ${runs.id}) > (${after.createdAt}::timestamptz, ${after.id})` : undefined,
          ),
        )
        .orderBy(asc(runs.createdAt), asc(runs.id))
        .limit(SWEEP_PAGE);
      yield* page;
      const last = page.at(-1);
      if (!last || page.length < SWEEP_PAGE) break;
      after = { createdAt: last.createdAt, id: last.id };
    }
  }
}
