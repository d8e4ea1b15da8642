import { and, eq, inArray, type SQL, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Logger } from 'pino';
import type { Actor } from '../actor.ts';
import { type Db, rowsOf } from '../db/connect.ts';
import { agents, messages, providerTraceIds, providerTraces, runMetrics, runs, steps } from '../db/schema.ts';
import { Conflict, InvalidArgument } from '../errors.ts';
import { assertId, idTaken, newId } from '../ids.ts';
import { fingerprint } from '../json.ts';
import { type Order, type Page, type PageWindow, timestampCursor, timestampPage } from '../pagination.ts';
import { nowNs, nsToString, toIso, toIsoOrNull } from '../time.ts';
import { type CallbackOptions, postCallback } from './callback.ts';
import { requireRun, runNotFound } from './require-run.ts';
import type { COMPLETION_TOKEN_DETAIL_KEYS, PROMPT_TOKEN_DETAIL_KEYS } from '../steps/schemas.ts';
import {
  type CreateRunInput,
  createRunInput,
  type ListActiveRunsInput,
  type ListRunsInput,
  type RunIdInput,
  type UpdateRunInput,
  listActiveRunsInput,
  listRunsInput,
  type Run,
  type RunMetrics,
  type RunUsage,
  runIdInput,
  updateRunInput,
} from './schemas.ts';
import {
  ACTIVE_STATUSES,
  isTerminal,
  type RunStatus,
  type StopReason,
  statusForStopReason,
  transitionError,
} from './status.ts';

type RunRow = typeof runs.$inferSelect;

/** What happened to a run; the stream and change-feed layers listen for these. */
export interface RunChange {
  type: 'created' | 'updated' | 'deleted';
  organizationId: string;
  run: Run;
  previousStatus: RunStatus | null;
}

export interface RunManagerOptions {
  db: Db;
  logger: Logger;
  /** Where run callbacks may go and how they are signed (CONTRACTS §5). */
  callbacks?: CallbackOptions;
  /** Called after each committed change; errors are logged, never raised to the caller. */
  onChange?: (change: RunChange) => void | Promise<void>;
  /** Removes what other stores keep of a deleted run (provider traces in every telemetry backend). */
  deleteRunData?: (actor: Actor, runId: string) => Promise<void>;
  /**
   * Awaited after an update or cancel that leaves the run terminal, also when it already was (a repeated call), so
   * it must be idempotent: the stream layer ends the run's stream here (CONTRACTS §6). Its error is the caller's
   * error; the status change itself is committed, and repeating the call repeats the hook.
   */
  afterTerminal?: (actor: Actor, run: Run) => Promise<void>;
}

/** List options of the Letta REST layer that tRPC's input does not offer (CONTRACTS §4). */
export interface RunListOptions extends PageWindow {
  /** Letta's deprecated `agent_ids`: runs of any of these agents (ignored when `agentId` is given). */
  agentIds?: readonly string[] | null | undefined;
}

/** A token-detail key `usage` sums: steps.create validates exactly these as token counts. */
type TokenDetailKey = (typeof PROMPT_TOKEN_DETAIL_KEYS)[number] | (typeof COMPLETION_TOKEN_DETAIL_KEYS)[number];

/** Nanoseconds as drizzle returns them on writes (bigint) or the read query below as text. */
type Nanos = bigint | string | null;

/** What a {@link Run} is made of: a row returned by a write, or one of the read query. */
type RunRecord = Omit<RunRow, 'organizationId' | 'createdById' | 'createFingerprint' | 'ttftNs' | 'totalDurationNs' | 'runNs'> & {
  ttftNs: Nanos;
  totalDurationNs: Nanos;
  runNs: Nanos;
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
  createdAt: runs.createdAt,
  updatedAt: runs.updatedAt,
  completedAt: runs.completedAt,
};
const nanosColumns = new Set<AnyPgColumn>([runs.ttftNs, runs.totalDurationNs, runs.runNs]);

/**
 * The RunRecord columns as a select list over rows of `runs` (the table, or a CTE returning its rows), rendered to
 * text once. Reads of runs are raw SQL over it: at 100 runs a page, drizzle's query builder and row mapping cost the
 * api more CPU than Postgres spent on the query (pnpm bench, runs.list). Bigints come back as text, timestamps as the
 * session (UTC) writes them, jsonb parsed by the driver.
 */
const runRecordList = Object.entries(runRecordColumns)
  .map(([key, column]) => `"${column.name}"${nanosColumns.has(column) ? '::text' : ''} as "${key}"`)
  .join(', ');
const selectRunRecords = sql.raw(`select ${runRecordList} from "runs"`);

/** Quoted column names of a table, for raw INSERT column lists. */
const columnList = (...columns: AnyPgColumn[]) => sql.raw(columns.map((c) => `"${c.name}"`).join(', '));

function toRun(row: RunRecord): Run {
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
    createdAt: toIso(row.createdAt),
    updatedAt: toIso(row.updatedAt),
    completedAt: toIsoOrNull(row.completedAt),
  };
}

const RUNS_SCOPE = 'runs';

/** Runs: create, read, list, update through the status machine, cancel, delete; their usage and metrics. */
export class RunManager {
  readonly #db: Db;
  readonly #logger: Logger;
  readonly #callbacks: CallbackOptions;
  readonly #onChange: RunManagerOptions['onChange'];
  readonly #deleteRunData: RunManagerOptions['deleteRunData'];
  readonly #afterTerminal: RunManagerOptions['afterTerminal'];
  readonly #pendingCallbacks = new Set<Promise<void>>();

  constructor(options: RunManagerOptions) {
    this.#db = options.db;
    this.#logger = options.logger;
    this.#callbacks = options.callbacks ?? {};
    this.#onChange = options.onChange;
    this.#deleteRunData = options.deleteRunData;
    this.#afterTerminal = options.afterTerminal;
  }

  async create(actor: Actor, raw: CreateRunInput): Promise<Run> {
    const input = createRunInput.parse(raw);
    const { id: clientId, ...content } = input;
    const id = clientId ?? newId('run');
    const createFingerprint = fingerprint(content);
    const org = actor.organizationId;
    const json = (value: unknown) => (value == null ? null : JSON.stringify(value));
    // One statement, so one round trip and its own transaction instead of BEGIN, three INSERTs and COMMIT: the agent
    // (created on first use), the run, and its metrics row (pnpm bench, runs.create).
    const [created] = rowsOf<RunRecord>(
      await this.#db.execute(sql`
        with agent as (
          insert into ${agents} (${columnList(agents.id, agents.organizationId)}) values (${input.agentId}, ${org})
          on conflict do nothing
        ), created as (
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
    let run: { row: RunRecord; created: boolean };
    if (created) run = { row: created, created: true };
    else {
      // The id exists: an idempotent retry of the same create (same organization and content) answers the run; any
      // other use of it, in this organization or another, gets one answer (idTaken).
      const [existing] = await this.#db.select().from(runs).where(eq(runs.id, id));
      if (existing?.organizationId !== org || existing.createFingerprint !== createFingerprint) throw idTaken(id);
      run = { row: existing, created: false };
    }
    const result = toRun(run.row);
    if (run.created) this.#emit({ type: 'created', organizationId: actor.organizationId, run: result, previousStatus: null });
    return result;
  }

  async retrieve(actor: Actor, raw: RunIdInput): Promise<Run> {
    const { runId } = runIdInput.parse(raw);
    return this.#retrieve(this.#db, actor, runId);
  }

  async #retrieve(db: Db, actor: Actor, runId: string): Promise<Run> {
    const [row] = rowsOf<RunRecord>(
      await db.execute(sql`${selectRunRecords} where ${runs.id} = ${runId} and ${runs.organizationId} = ${actor.organizationId}`),
    );
    if (!row) throw runNotFound(runId);
    return toRun(row);
  }

  async list(actor: Actor, raw: ListRunsInput, options: RunListOptions = {}): Promise<Page<Run>> {
    const input = listRunsInput.parse(raw);
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
    return this.#page(where, input.order, input.limit, input.cursor, options.until);
  }

  /**
   * The cursor of `runs.list` in `order` positioned at this run, as if a page had ended on it: what the Letta REST
   * layer's `after`/`before` run ids become. NotFound for an unknown run (or another organization's).
   */
  async cursorFor(actor: Actor, runId: string, order: Order): Promise<string> {
    const row = await requireRun(this.#db, actor, assertId('run', runId));
    return timestampCursor(RUNS_SCOPE, order, row.createdAt, row.id);
  }

  /** Created or running runs, newest first. */
  async listActive(actor: Actor, raw: ListActiveRunsInput): Promise<Page<Run>> {
    const input = listActiveRunsInput.parse(raw);
    return this.list(actor, { ...input, statuses: [...ACTIVE_STATUSES], order: 'desc' });
  }

  #page(
    where: SQL[],
    order: Order,
    limit: number,
    cursor: string | null | undefined,
    until: string | null | undefined,
  ): Promise<Page<Run>> {
    return timestampPage({
      scope: RUNS_SCOPE,
      order,
      limit,
      cursor,
      until,
      createdAt: runs.createdAt,
      id: runs.id,
      where,
      fetch: async (condition, orderBy, rowLimit) =>
        rowsOf<RunRecord>(
          await this.#db.execute(
            sql`${selectRunRecords} where ${condition} order by ${sql.join(orderBy, sql`, `)} limit ${rowLimit}`,
          ),
        ),
      keyOf: (r) => r,
      map: toRun,
    });
  }

  async update(actor: Actor, raw: UpdateRunInput): Promise<Run> {
    const input = updateRunInput.parse(raw);
    const target =
      input.status ?? (input.stopReason !== undefined ? statusForStopReason(input.stopReason) : undefined);
    if (input.status && input.stopReason && statusForStopReason(input.stopReason) !== input.status) {
      throw new InvalidArgument(
        `stopReason '${input.stopReason}' means status '${statusForStopReason(input.stopReason)}', not '${input.status}'`,
        { field: 'stopReason' },
      );
    }
    return this.#applyUpdate(actor, input.runId, { ...input, status: target }, false);
  }

  /**
   * Cancels a run. Idempotent: a run that already ended (other than one waiting for approval) is returned unchanged.
   */
  async cancel(actor: Actor, raw: RunIdInput): Promise<Run> {
    const { runId } = runIdInput.parse(raw);
    return this.#applyUpdate(actor, runId, { status: 'cancelled', stopReason: 'cancelled' }, true);
  }

  async #applyUpdate(
    actor: Actor,
    runId: string,
    patch: {
      status?: RunStatus | undefined;
      stopReason?: StopReason | undefined;
      metadata?: Record<string, unknown> | undefined;
      ttftNs?: bigint | undefined;
      totalDurationNs?: bigint | undefined;
      completedAt?: string | undefined;
    },
    isCancel: boolean,
  ): Promise<Run> {
    const outcome = await this.#db.transaction(async (tx) => {
      const current = await requireRun(tx, actor, runId, true);
      const from = current.status as RunStatus;
      if (isCancel && isTerminal(from) && !(from === 'completed' && current.stopReason === 'requires_approval')) {
        return { changed: false as const, from };
      }
      if (patch.status) {
        const why = transitionError(from, current.stopReason, patch.status);
        if (why) throw new Conflict(`Cannot update run ${runId}: ${why}`, { field: 'status' });
      }
      const firstTerminal = patch.status !== undefined && isTerminal(patch.status) && current.completedAt === null;
      const set: Record<string, unknown> = { updatedAt: sql`clock_timestamp()` };
      if (patch.status) set.status = patch.status;
      if (patch.stopReason) set.stopReason = patch.stopReason;
      if (patch.metadata) {
        set.metadata = sql`coalesce(${runs.metadata}, '{}'::jsonb) || ${JSON.stringify(patch.metadata)}::jsonb`;
      }
      if (patch.ttftNs !== undefined) set.ttftNs = patch.ttftNs;
      if (patch.totalDurationNs !== undefined) set.totalDurationNs = patch.totalDurationNs;
      if (patch.completedAt) set.completedAt = patch.completedAt;
      else if (firstTerminal) set.completedAt = sql`clock_timestamp()`;
      if (firstTerminal) {
        set.runNs =
          patch.totalDurationNs ??
          sql`${nowNs()}::bigint - (select ${runMetrics.runStartNs} from ${runMetrics} where ${runMetrics.id} = ${runId})`;
      }
      const [updated] = await tx.update(runs).set(set).where(eq(runs.id, runId)).returning();
      if (!updated) throw runNotFound(runId);

      const metricsSet: Record<string, unknown> = {
        numSteps: sql`(select count(*)::int from ${steps} where ${steps.runId} = ${runId})`,
      };
      if (firstTerminal) {
        metricsSet.runNs = updated.runNs;
        metricsSet.toolsUsed = sql`(select jsonb_agg(distinct ${messages.body}->'toolCall'->>'name')
          from ${messages} where ${messages.runId} = ${runId} and ${messages.messageType} = 'tool_call_message'
          and ${messages.body}->'toolCall'->>'name' is not null)`;
      }
      await tx.update(runMetrics).set(metricsSet).where(eq(runMetrics.id, runId));
      if (firstTerminal && patch.stopReason) {
        await tx
          .update(agents)
          .set({ lastStopReason: patch.stopReason })
          .where(and(eq(agents.organizationId, actor.organizationId), eq(agents.id, updated.agentId)));
      }
      return { changed: true as const, from, firstTerminal, run: toRun(updated) };
    });
    if (!outcome.changed) {
      const run = await this.#retrieve(this.#db, actor, runId);
      if (isTerminal(run.status)) await this.#afterTerminal?.(actor, run);
      return run;
    }
    if (outcome.firstTerminal && outcome.run.callbackUrl) this.#sendCallback(actor, outcome.run);
    this.#emit({ type: 'updated', organizationId: actor.organizationId, run: outcome.run, previousStatus: outcome.from });
    if (patch.status && isTerminal(outcome.run.status)) await this.#afterTerminal?.(actor, outcome.run);
    return outcome.run;
  }

  /** Deletes a run (cancelling it first if it is still active) with its steps, messages, metrics and traces. */
  async delete(actor: Actor, raw: RunIdInput): Promise<Run> {
    const { runId } = runIdInput.parse(raw);
    let run = await this.#retrieve(this.#db, actor, runId);
    if (!isTerminal(run.status)) run = await this.cancel(actor, { runId });
    await this.#db.transaction(async (tx) => {
      await tx
        .delete(providerTraces)
        .where(and(eq(providerTraces.organizationId, actor.organizationId), eq(providerTraces.runId, runId)));
      // the ids its traces claimed are free again: a retry must not answer a trace that no longer exists
      await tx
        .delete(providerTraceIds)
        .where(and(eq(providerTraceIds.organizationId, actor.organizationId), eq(providerTraceIds.runId, runId)));
      const deleted = await tx
        .delete(runs)
        .where(and(eq(runs.id, runId), eq(runs.organizationId, actor.organizationId)))
        .returning({ id: runs.id });
      if (deleted.length === 0) throw runNotFound(runId);
    });
    await this.#deleteRunData?.(actor, runId);
    this.#emit({ type: 'deleted', organizationId: actor.organizationId, run, previousStatus: run.status });
    return run;
  }

  /** Token usage summed over every step of the run. */
  async usage(actor: Actor, raw: RunIdInput): Promise<RunUsage> {
    const { runId } = runIdInput.parse(raw);
    await requireRun(this.#db, actor, runId);
    // Only keys that steps.create validates as token counts: any other jsonb value would make this cast fail.
    const detail = (column: AnyPgColumn, key: TokenDetailKey) =>
      sql`nullif((${column}->>${sql.raw(`'${key}'`)})::bigint, 0)`;
    const [row] = await this.#db
      .select({
        promptTokens: sql<string>`coalesce(sum(${steps.promptTokens}), 0)`,
        completionTokens: sql<string>`coalesce(sum(${steps.completionTokens}), 0)`,
        totalTokens: sql<string>`coalesce(sum(${steps.totalTokens}), 0)`,
        stepCount: sql<string>`count(*)`,
        cachedInputTokens: sql<string | null>`sum(coalesce(${detail(steps.promptTokensDetails, 'cached_tokens')}, ${detail(
          steps.promptTokensDetails,
          'cache_read_tokens',
        )}))`,
        cacheWriteTokens: sql<string | null>`sum(${detail(steps.promptTokensDetails, 'cache_creation_tokens')})`,
        reasoningTokens: sql<string | null>`sum(${detail(steps.completionTokensDetails, 'reasoning_tokens')})`,
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
    };
  }

  async metrics(actor: Actor, raw: RunIdInput): Promise<RunMetrics> {
    const { runId } = runIdInput.parse(raw);
    const [row] = await this.#db
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

  /** Resolves when every callback started so far has finished (and its outcome is stored). */
  async settleCallbacks(): Promise<void> {
    while (this.#pendingCallbacks.size) await Promise.all([...this.#pendingCallbacks]);
  }

  /** Drains pending callbacks. */
  async close(): Promise<void> {
    await this.settleCallbacks();
  }

  #sendCallback(actor: Actor, run: Run): void {
    const url = run.callbackUrl;
    if (!url) return;
    const body = { run_id: run.id, status: run.status, completed_at: run.completedAt, metadata: run.metadata };
    const task = postCallback(url, body, this.#callbacks)
      .then((result) =>
        this.#db
          .update(runs)
          .set({
            callbackSentAt: result.sentAt.toISOString(),
            callbackStatusCode: result.statusCode,
            callbackError: result.error,
          })
          .where(and(eq(runs.id, run.id), eq(runs.organizationId, actor.organizationId))),
      )
      .then(
        () => undefined,
        (err: unknown) => this.#logger.error({ err, runId: run.id }, 'storing the callback result failed'),
      );
    this.#pendingCallbacks.add(task);
    void task.finally(() => this.#pendingCallbacks.delete(task));
  }

  #emit(change: RunChange): void {
    if (!this.#onChange) return;
    Promise.resolve()
      .then(() => this.#onChange?.(change))
      .catch((err: unknown) => this.#logger.error({ err, runId: change.run.id }, 'run change listener failed'));
  }
}


