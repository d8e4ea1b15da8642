import { and, eq, sql } from 'drizzle-orm';
import type { Actor } from '../actor.ts';
import type { Db } from '../db/connect.ts';
import { runMetrics, steps } from '../db/schema.ts';
import { requireRun } from '../runs/require-run.ts';
import { Conflict, NotFound } from '../errors.ts';
import { newId } from '../ids.ts';
import { fingerprint } from '../json.ts';
import { type Page, timestampPage } from '../pagination.ts';
import { nsToString, toIso } from '../time.ts';
import {
  type CreateStepInput,
  createStepInput,
  type ListRunStepsInput,
  listRunStepsInput,
  type Step,
  type StepIdInput,
  stepIdInput,
} from './schemas.ts';

type StepRow = typeof steps.$inferSelect;

function toStep(row: StepRow): Step {
  return {
    id: row.id,
    runId: row.runId,
    agentId: row.agentId,
    origin: row.origin,
    providerId: row.providerId,
    providerName: row.providerName,
    providerCategory: row.providerCategory,
    model: row.model,
    modelEndpoint: row.modelEndpoint,
    contextWindowLimit: row.contextWindowLimit,
    promptTokens: row.promptTokens,
    completionTokens: row.completionTokens,
    totalTokens: row.totalTokens,
    promptTokensDetails: row.promptTokensDetails ?? null,
    completionTokensDetails: row.completionTokensDetails ?? null,
    stopReason: row.stopReason,
    tags: row.tags,
    tid: row.tid,
    traceId: row.traceId,
    requestId: row.requestId,
    feedback: row.feedback,
    projectId: row.projectId,
    errorType: row.errorType,
    errorData: row.errorData ?? null,
    status: row.status as Step['status'],
    stepStartNs: nsToString(row.stepStartNs),
    llmRequestStartNs: nsToString(row.llmRequestStartNs),
    llmRequestNs: nsToString(row.llmRequestNs),
    toolExecutionNs: nsToString(row.toolExecutionNs),
    stepNs: nsToString(row.stepNs),
    createdAt: toIso(row.createdAt),
  };
}

/** Steps of runs: each LLM call an agent made, with its tokens, timings and errors. */
export class StepManager {
  readonly #db: Db;

  constructor(options: { db: Db }) {
    this.#db = options.db;
  }

  async create(actor: Actor, raw: CreateStepInput): Promise<Step> {
    const input = createStepInput.parse(raw);
    const { id: clientId, ...content } = input;
    const id = clientId ?? newId('step');
    const createFingerprint = fingerprint(content);
    const row = await this.#db.transaction(async (tx) => {
      const run = await requireRun(tx, actor, input.runId);
      const [inserted] = await tx
        .insert(steps)
        .values({
          ...content,
          id,
          organizationId: actor.organizationId,
          agentId: run.agentId,
          totalTokens: input.totalTokens ?? input.promptTokens + input.completionTokens,
          createFingerprint,
        })
        .onConflictDoNothing()
        .returning();
      if (!inserted) {
        const [existing] = await tx.select().from(steps).where(eq(steps.id, id));
        if (existing?.organizationId === actor.organizationId && existing.createFingerprint === createFingerprint) {
          return existing;
        }
        throw new Conflict(`Step ${id} already exists with other content`, { field: 'id' });
      }
      await tx
        .update(runMetrics)
        .set({ numSteps: sql`${runMetrics.numSteps} + 1` })
        .where(eq(runMetrics.id, input.runId));
      return inserted;
    });
    return toStep(row);
  }

  async retrieve(actor: Actor, raw: StepIdInput): Promise<Step> {
    const { stepId } = stepIdInput.parse(raw);
    const [row] = await this.#db
      .select()
      .from(steps)
      .where(and(eq(steps.id, stepId), eq(steps.organizationId, actor.organizationId)));
    if (!row) throw new NotFound(`Step ${stepId} not found`, { field: 'stepId' });
    return toStep(row);
  }

  /** A run's steps, newest first by default. */
  async listByRun(actor: Actor, raw: ListRunStepsInput): Promise<Page<Step>> {
    const input = listRunStepsInput.parse(raw);
    await requireRun(this.#db, actor, input.runId);
    return timestampPage({
      scope: `steps:${input.runId}`,
      order: input.order,
      limit: input.limit,
      cursor: input.cursor,
      createdAt: steps.createdAt,
      id: steps.id,
      where: [eq(steps.organizationId, actor.organizationId), eq(steps.runId, input.runId)],
      fetch: (where, orderBy, limit) =>
        this.#db
          .select()
          .from(steps)
          .where(where)
          .orderBy(...orderBy)
          .limit(limit),
      keyOf: (r) => r,
      map: toStep,
    });
  }
}
