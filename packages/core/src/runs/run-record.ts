import { sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Actor } from '../actor.ts';
import { type Db, rowsOf } from '../db/connect.ts';
import { runs } from '../db/schema.ts';
import { formatUsd } from '../pricing/money.ts';
import { nsToString, toIso, toIsoOrNull } from '../time.ts';
import { runNotFound } from './require-run.ts';
import type { Run } from './schemas.ts';
import type { RunStatus, StopReason } from './status.ts';

type RunRow = typeof runs.$inferSelect;

/** Nanoseconds as drizzle returns them on writes (bigint) or the read query below as text. */
type Nanos = bigint | string | null;

/** What a {@link Run} is made of: a row returned by a write, or one of the read query. */
export type RunRecord = Omit<
  RunRow,
  'organizationId' | 'createdById' | 'createFingerprint' | 'ttftNs' | 'totalDurationNs' | 'runNs' | 'costPusd' | 'llmNs'
> & {
  ttftNs: Nanos;
  totalDurationNs: Nanos;
  runNs: Nanos;
  llmNs: Nanos;
  /** Pico-USD as the read query returns it (text) or a write (bigint). */
  costPusd: bigint | string | null;
};

const runRecordColumns: { [K in keyof RunRecord]-?: AnyPgColumn } = {
  id: runs.id,
  agentId: runs.agentId,
  status: runs.status,
  stopReason: runs.stopReason,
  background: runs.background,
  conversationId: runs.conversationId,
  baseTemplateId: runs.baseTemplateId,
  metadata: runs.metadata,
  requestConfig: runs.requestConfig,
  callbackUrl: runs.callbackUrl,
  callbackSentAt: runs.callbackSentAt,
  callbackStatusCode: runs.callbackStatusCode,
  callbackError: runs.callbackError,
  ttftNs: runs.ttftNs,
  totalDurationNs: runs.totalDurationNs,
  runNs: runs.runNs,
  model: runs.model,
  provider: runs.provider,
  stepCount: runs.stepCount,
  stepErrors: runs.stepErrors,
  totalTokens: runs.totalTokens,
  costPusd: runs.costPusd,
  unpricedTokens: runs.unpricedTokens,
  llmNs: runs.llmNs,
  createdAt: runs.createdAt,
  updatedAt: runs.updatedAt,
  completedAt: runs.completedAt,
};
/** Bigint columns read as text: JSON numbers and JS numbers lose digits past 2^53. */
const nanosColumns = new Set<AnyPgColumn>([runs.ttftNs, runs.totalDurationNs, runs.runNs, runs.llmNs, runs.costPusd]);

/**
 * The RunRecord columns as a select list over rows of `runs` (the table, or a CTE returning its rows), rendered to
 * text once. Reads of runs are raw SQL over it: at 100 runs a page, drizzle's query builder and row mapping cost the
 * api more CPU than Postgres spent on the query (pnpm bench, runs.list). Bigints come back as text, timestamps as the
 * session (UTC) writes them, jsonb parsed by the driver.
 */
export const runRecordList = Object.entries(runRecordColumns)
  .map(([key, column]) => `"${column.name}"${nanosColumns.has(column) ? '::text' : ''} as "${key}"`)
  .join(', ');
export const selectRunRecords = sql.raw(`select ${runRecordList} from "runs"`);

export function toRun(row: RunRecord): Run {
  return {
    id: row.id,
    agentId: row.agentId,
    status: row.status as RunStatus,
    stopReason: row.stopReason as StopReason | null,
    background: row.background,
    conversationId: row.conversationId,
    baseTemplateId: row.baseTemplateId,
    metadata: row.metadata ?? null,
    requestConfig: (row.requestConfig as Run['requestConfig']) ?? null,
    callbackUrl: row.callbackUrl,
    callbackSentAt: toIsoOrNull(row.callbackSentAt),
    callbackStatusCode: row.callbackStatusCode,
    callbackError: row.callbackError,
    ttftNs: nsToString(row.ttftNs),
    // Letta reports run_metrics.run_ns, once a terminal update has set it, in place of total_duration_ns.
    totalDurationNs: nsToString(row.runNs ?? row.totalDurationNs),
    model: row.model,
    provider: row.provider,
    stepCount: row.stepCount,
    stepErrors: row.stepErrors,
    totalTokens: Number(row.totalTokens),
    costUsd: row.costPusd == null ? null : formatUsd(BigInt(row.costPusd)),
    unpricedTokens: Number(row.unpricedTokens),
    llmNs: nsToString(row.llmNs),
    createdAt: toIso(row.createdAt),
    updatedAt: toIso(row.updatedAt),
    completedAt: toIsoOrNull(row.completedAt),
  };
}

/** The actor's run `runId` as the api answers it; NotFound for an unknown run or another organization's. */
export async function retrieveRun(db: Db, actor: Actor, runId: string): Promise<Run> {
  const [row] = rowsOf<RunRecord>(
    await db.execute(
      sql`${selectRunRecords} where ${runs.id} = ${runId} and ${runs.organizationId} = ${actor.organizationId}`,
    ),
  );
  if (!row) throw runNotFound(runId);
  return toRun(row);
}
