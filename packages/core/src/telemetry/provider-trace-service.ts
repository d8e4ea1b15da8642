import { z } from 'zod';
import type { Actor } from '../actor.ts';
import type { Db } from '../db/connect.ts';
import { idSchema } from '../ids.ts';
import { requireRun } from '../runs/require-run.ts';
import { requireStep } from '../steps/require-step.ts';
import { type ProviderTrace, type ProviderTraceInput, toProviderTrace } from './provider-trace.ts';
import { claimProviderTraceId, releaseProviderTraceId } from './provider-trace-ids.ts';
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
    const trace = toProviderTrace(input);
    await this.#checkReferences(actor, trace);
    const claimed = input.id != null;
    if (claimed) {
      const retried = await claimProviderTraceId(this.#db, actor, trace, input.createdAt != null);
      if (retried) return retried;
    }
    const stored = await this.#telemetry.create(actor, trace);
    // null with a readable backend configured: every durable write failed (counted and logged by the manager)
    if (!stored && claimed && this.#telemetry.primary) await releaseProviderTraceId(this.#db, actor, trace.id);
    return stored ?? trace;
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

  async #checkReferences(actor: Actor, trace: ProviderTrace): Promise<void> {
    await Promise.all([
      trace.runId ? requireRun(this.#db, actor, trace.runId) : undefined,
      trace.stepId ? requireStep(this.#db, actor, trace.stepId) : undefined,
    ]);
  }
}
