import { and, eq, inArray } from 'drizzle-orm';
import { z } from 'zod';
import type { Actor } from '../actor.ts';
import type { Db } from '../db/connect.ts';
import { runs, steps } from '../db/schema.ts';
import type { NotFound } from '../errors.ts';
import { idSchema } from '../ids.ts';
import { requireRun, runNotFound } from '../runs/require-run.ts';
import { requireStep, stepNotFound } from '../steps/require-step.ts';
import { type ProviderTrace, type ProviderTraceInput, toProviderTrace } from './provider-trace.ts';
import { claimProviderTraceIds, releaseProviderTraceId } from './provider-trace-ids.ts';
import type { TelemetryManager } from './telemetry-manager.ts';

export const stepTraceInput = z.strictObject({ stepId: idSchema('step') });
export const listRunTracesInput = z.strictObject({
  runId: idSchema('run'),
  /** @default 100 */
  limit: z.number().int().min(1).max(1000).default(100),
});

/**
 * Provider traces as the API offers them: references to runs and steps are checked against the caller's
 * organization (another organization's step is NOT_FOUND), then the TelemetryManager writes or reads.
 */
export class ProviderTraceService {
  readonly #db: Db;
  readonly #telemetry: TelemetryManager;

  constructor(options: { db: Db; telemetry: TelemetryManager }) {
    this.#db = options.db;
    this.#telemetry = options.telemetry;
  }

  /**
   * Records a trace in every backend; the answer is the trace as stored (the same id everywhere). A caller-chosen id
   * is claimed first (claimProviderTraceId): a retry with the same content answers the trace as first created and
   * writes nothing; any other use of a taken id is CONFLICT, before any backend sees the trace.
   */
  async create(actor: Actor, input: ProviderTraceInput): Promise<ProviderTrace> {
    const [answer] = await this.createMany(actor, [input]);
    if (answer instanceof Error) throw answer;
    return answer as ProviderTrace;
  }

  /**
   * Records several traces, each as {@link create} would, their references checked and their ids claimed in one
   * statement each; the backends take them together (each batches concurrent writes). Each input has its own answer:
   * the trace as stored, or the error its create would have thrown (which then wrote nothing of it).
   */
  async createMany(actor: Actor, inputs: readonly ProviderTraceInput[]): Promise<(ProviderTrace | Error)[]> {
    const answers: (ProviderTrace | Error)[] = [];
    let pending: { index: number; trace: ProviderTrace; claimed: boolean; timeGiven: boolean }[] = [];
    inputs.forEach((input, index) => {
      try {
        pending.push({
          index,
          trace: toProviderTrace(input),
          claimed: input.id != null,
          timeGiven: input.createdAt != null,
        });
      } catch (err) {
        answers[index] = err instanceof Error ? err : new Error(String(err));
      }
    });
    const missing = await this.#missingReferences(
      actor,
      pending.map((p) => p.trace),
    );
    pending = pending.filter((p, i) => {
      const refused = missing[i];
      if (refused) answers[p.index] = refused;
      return !refused;
    });
    const claims = pending.filter((p) => p.claimed);
    const claimAnswers = await claimProviderTraceIds(this.#db, actor, claims);
    const retried = new Set<number>();
    claims.forEach((p, i) => {
      const answer = claimAnswers[i];
      if (answer) {
        answers[p.index] = answer;
        retried.add(p.index);
      }
    });
    await Promise.all(
      pending
        .filter((p) => !retried.has(p.index))
        .map(async ({ index, trace, claimed }) => {
          const stored = await this.#telemetry.create(actor, trace);
          // null with a readable backend configured: every durable write failed (counted and logged by the manager)
          if (!stored && claimed && this.#telemetry.primary) await releaseProviderTraceId(this.#db, actor, trace.id);
          answers[index] = stored ?? trace;
        }),
    );
    return answers;
  }

  /** The step's newest trace from the primary backend, or null when it has none. */
  async forStep(actor: Actor, raw: z.input<typeof stepTraceInput>): Promise<ProviderTrace | null> {
    const { stepId } = stepTraceInput.parse(raw);
    await requireStep(this.#db, actor, stepId);
    return this.#telemetry.readByStep(actor, stepId);
  }

  /** A run's traces from the primary backend, oldest first. */
  async listByRun(actor: Actor, raw: z.input<typeof listRunTracesInput>): Promise<{ items: ProviderTrace[] }> {
    const { runId, limit } = listRunTracesInput.parse(raw);
    await requireRun(this.#db, actor, runId);
    return { items: await this.#telemetry.listByRun(actor, runId, limit) };
  }

  /** For each trace, the NotFound its run or step reference gets (another organization's is unknown), or null. */
  async #missingReferences(actor: Actor, traces: readonly ProviderTrace[]): Promise<(NotFound | null)[]> {
    const runIds = [...new Set(traces.flatMap((t) => (t.runId ? [t.runId] : [])))];
    const stepIds = [...new Set(traces.flatMap((t) => (t.stepId ? [t.stepId] : [])))];
    const org = actor.organizationId;
    const [knownRuns, knownSteps] = await Promise.all([
      runIds.length
        ? this.#db
            .select({ id: runs.id })
            .from(runs)
            .where(and(inArray(runs.id, runIds), eq(runs.organizationId, org)))
        : [],
      stepIds.length
        ? this.#db
            .select({ id: steps.id })
            .from(steps)
            .where(and(inArray(steps.id, stepIds), eq(steps.organizationId, org)))
        : [],
    ]);
    const runSet = new Set(knownRuns.map((r) => r.id));
    const stepSet = new Set(knownSteps.map((r) => r.id));
    return traces.map((t) => {
      if (t.runId && !runSet.has(t.runId)) return runNotFound(t.runId);
      if (t.stepId && !stepSet.has(t.stepId)) return stepNotFound(t.stepId);
      return null;
    });
  }
}
