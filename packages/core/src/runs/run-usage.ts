import { and, eq, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Actor } from '../actor.ts';
import type { Db } from '../db/connect.ts';
import { runMetrics, steps } from '../db/schema.ts';
import { formatUsd } from '../pricing/money.ts';
import { CACHE_READ_KEYS, CACHE_WRITE_KEYS, REASONING_KEYS } from '../pricing/usage-types.ts';
import type { COMPLETION_TOKEN_DETAIL_KEYS, PROMPT_TOKEN_DETAIL_KEYS } from '../steps/schemas.ts';
import { nsToString } from '../time.ts';
import { requireRun, runNotFound } from './require-run.ts';
import type { RunMetrics, RunUsage } from './schemas.ts';

/** A token-detail key `usage` sums: steps.create validates exactly these as token counts. */
type TokenDetailKey = (typeof PROMPT_TOKEN_DETAIL_KEYS)[number] | (typeof COMPLETION_TOKEN_DETAIL_KEYS)[number];

/** Token usage summed over every step of the actor's run `runId`. */
export async function runUsage(db: Db, actor: Actor, runId: string): Promise<RunUsage> {
  await requireRun(db, actor, runId);
  // Only keys that steps.create validates as token counts: any other jsonb value would make this cast fail.
  const detail = (column: AnyPgColumn, key: TokenDetailKey) =>
    sql`nullif((${column}->>${sql.raw(`'${key}'`)})::bigint, 0)`;
  // Aliases of one count (pricing/usage-types.ts): the first above zero, never their sum.
  const first = (column: AnyPgColumn, keys: readonly TokenDetailKey[]) =>
    sql`coalesce(${sql.join(
      keys.map((key) => detail(column, key)),
      sql`, `,
    )})`;
  const [row] = await db
    .select({
      promptTokens: sql<string>`coalesce(sum(${steps.promptTokens}), 0)`,
      completionTokens: sql<string>`coalesce(sum(${steps.completionTokens}), 0)`,
      totalTokens: sql<string>`coalesce(sum(${steps.totalTokens}), 0)`,
      stepCount: sql<string>`count(*)`,
      cachedInputTokens: sql<string | null>`sum(${first(steps.promptTokensDetails, CACHE_READ_KEYS)})`,
      cacheWriteTokens: sql<string | null>`sum(${first(steps.promptTokensDetails, CACHE_WRITE_KEYS)})`,
      reasoningTokens: sql<string | null>`sum(${first(steps.completionTokensDetails, REASONING_KEYS)})`,
      // As the run's totals count them (steps.create, prices.recompute): a step never priced is all unpriced.
      costPusd: sql<string | null>`sum(${steps.costPusd})::text`,
      unpricedTokens: sql<string>`coalesce(sum(coalesce(${steps.unpricedTokens}, ${steps.totalTokens})), 0)`,
    })
    .from(steps)
    .where(and(eq(steps.organizationId, actor.organizationId), eq(steps.runId, runId)));
  const n = (v: string | number | null | undefined) => (v == null ? null : Number(v));
  return {
    promptTokens: n(row?.promptTokens) ?? 0,
    completionTokens: n(row?.completionTokens) ?? 0,
    totalTokens: n(row?.totalTokens) ?? 0,
    stepCount: n(row?.stepCount) ?? 0,
    cachedInputTokens: n(row?.cachedInputTokens),
    cacheWriteTokens: n(row?.cacheWriteTokens),
    reasoningTokens: n(row?.reasoningTokens),
    costUsd: row?.costPusd == null ? null : formatUsd(BigInt(row.costPusd)),
    unpricedTokens: n(row?.unpricedTokens) ?? 0,
  };
}

/** The metrics row of the actor's run `runId`: what the run used beyond tokens (steps, duration, tools). */
export async function runMetricsOf(db: Db, actor: Actor, runId: string): Promise<RunMetrics> {
  const [row] = await db
    .select()
    .from(runMetrics)
    .where(and(eq(runMetrics.id, runId), eq(runMetrics.organizationId, actor.organizationId)));
  if (!row) throw runNotFound(runId);
  return {
    id: row.id,
    organizationId: row.organizationId,
    agentId: row.agentId,
    projectId: row.projectId,
    runStartNs: row.runStartNs.toString(),
    runNs: nsToString(row.runNs),
    numSteps: row.numSteps,
    toolsUsed: row.toolsUsed ?? null,
    templateId: row.templateId,
    baseTemplateId: row.baseTemplateId,
  };
}
