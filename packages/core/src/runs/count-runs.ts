import { and, sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { Actor } from '../actor.ts';
import { type Db, rowsOf } from '../db/connect.ts';
import { runs } from '../db/schema.ts';
import { runConditions } from './list-runs.ts';
import { type countRunsInput, MAX_RUN_COUNT, type RunCount } from './schemas.ts';

/**
 * How many of the actor's runs pass `input`'s filters (runs.list's own conditions), counting at most
 * {@link MAX_RUN_COUNT}: the inner LIMIT stops the scan there, so a count over millions of runs costs what one over
 * ten thousand does, and `capped` says "at least". `input` is parsed already.
 */
export async function countRuns(db: Db, actor: Actor, input: z.output<typeof countRunsInput>): Promise<RunCount> {
  const where = and(...runConditions(actor, input));
  const [row] = rowsOf<{ n: number | string }>(
    await db.execute(
      sql`select count(*)::int as n from (select 1 from ${runs} where ${where} limit ${MAX_RUN_COUNT + 1}) as bounded`,
    ),
  );
  const n = Number(row?.n ?? 0);
  return { count: Math.min(n, MAX_RUN_COUNT), capped: n > MAX_RUN_COUNT };
}
