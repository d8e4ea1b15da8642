import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Actor } from '../actor.ts';
import type { AnalyticsFeed } from '../analytics/clickhouse/analytics-feed.ts';
import { type Db, rowsOf } from '../db/connect.ts';
import { providerTraceIds, providerTraces, runs } from '../db/schema.ts';
import { InvalidArgument } from '../errors.ts';
import type { Order, Page } from '../pagination.ts';
import type { RunEvent } from '../streams/run-event.ts';
import {
  applyLockedRunUpdates,
  applyRunUpdate,
  type LockedRun,
  patchRefusal,
  type RunPatch,
  type RunUpdateOutcome,
} from './apply-run-update.ts';
import type { CallbackOptions } from './callback.ts';
import { countRuns } from './count-runs.ts';
import { insertRun, insertRuns } from './insert-run.ts';
import { listRuns, type RunListOptions, runCursor } from './list-runs.ts';
import { runNotFound, withRunsLocked } from './require-run.ts';
import { RunCallbackSender } from './run-callback-sender.ts';
import { type RunRecord, retrieveRun, selectRunRecords, toRun } from './run-record.ts';
import { runMetricsOf, runUsage } from './run-usage.ts';
import {
  type CountRunsInput,
  type CreateRunInput,
  countRunsInput,
  createRunInput,
  type ListActiveRunsInput,
  type ListRunsInput,
  listActiveRunsInput,
  listRunsInput,
  type Run,
  type RunCount,
  type RunIdInput,
  type RunMetrics,
  type RunUsage,
  runIdInput,
  type UpdateRunInput,
  updateRunInput,
} from './schemas.ts';
import { ACTIVE_STATUSES, isTerminal, type RunStatus, statusForStopReason } from './status.ts';

export type { RunListOptions };

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
   * Ends what another store keeps open for a run that is terminal after an update or cancel: the stream layer ends
   * the run's stream here (CONTRACTS §6). Called inside the update's transaction, with the run's row locked, before
   * the status commits; also when the run already was terminal (a repeated call), so it must be idempotent. Hence
   * concurrent terminal updates are ordered by the row lock: the update whose status commits is the one whose end
   * was written, and when the hook throws (the stream store is down, the stream refused `final`) nothing commits
   * and the caller gets that error.
   */
  onTerminal?: (actor: Actor, run: Run, final: TerminalEnd | undefined) => Promise<void>;
  /** Copies each committed change to ClickHouse for analytics (RUNTRACE_ANALYTICS_SOURCE=clickhouse). */
  analytics?: Pick<AnalyticsFeed, 'runChanged' | 'runDeleted'> | null;
}

/** The last events of a run's stream, handed to {@link RunManager.update} by the call that ends the stream with them. */
export interface TerminalEnd {
  /** Written by the `onTerminal` hook with the stream's end marker, in one atomic step, or refused with the update. */
  events: readonly RunEvent[];
  /** The ids the hook gave `events` (`"<epoch>:<seq>"`), in order. */
  ids?: string[];
}

/** An update's input checked: the run and the patch, with the status its stop reason implies. */
function parseUpdate(raw: UpdateRunInput, final: TerminalEnd | undefined): { runId: string; patch: RunPatch } {
  const input = updateRunInput.parse(raw);
  const target = input.status ?? (input.stopReason !== undefined ? statusForStopReason(input.stopReason) : undefined);
  if (input.status && input.stopReason && statusForStopReason(input.stopReason) !== input.status) {
    throw new InvalidArgument(
      `stopReason '${input.stopReason}' means status '${statusForStopReason(input.stopReason)}', not '${input.status}'`,
      { field: 'stopReason' },
    );
  }
  if (final && !(target && isTerminal(target))) {
    throw new InvalidArgument('the events that end a stream need a terminal status', { field: 'status' });
  }
  const { runId, ...rest } = input;
  return { runId, patch: { ...rest, status: target } };
}

/** A thrown value as an Error (what the batch methods answer an input with). */
const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/**
 * Runs: create, read, list, update through the status machine, cancel, delete; their usage and metrics. Each job's
 * SQL lives in a module of its own (insert-run, list-runs, apply-run-update, run-usage); this class parses inputs,
 * runs the hooks and emits the changes.
 */
export class RunManager {
  readonly #db: Db;
  readonly #logger: Logger;
  readonly #callbacks: RunCallbackSender;
  readonly #onChange: RunManagerOptions['onChange'];
  readonly #deleteRunData: RunManagerOptions['deleteRunData'];
  readonly #onTerminal: RunManagerOptions['onTerminal'];
  readonly #analytics: RunManagerOptions['analytics'];

  constructor(options: RunManagerOptions) {
    this.#db = options.db;
    this.#logger = options.logger;
    this.#callbacks = new RunCallbackSender(options.db, options.logger, options.callbacks ?? {});
    this.#onChange = options.onChange;
    this.#deleteRunData = options.deleteRunData;
    this.#onTerminal = options.onTerminal;
    this.#analytics = options.analytics;
  }

  async create(actor: Actor, raw: CreateRunInput): Promise<Run> {
    const { run, created } = await insertRun(this.#db, actor, createRunInput.parse(raw));
    this.#afterCreate(actor, run, created);
    return run;
  }

  /**
   * Creates several runs at once, each as {@link create} would (an idempotent retry answers the existing run);
   * `created` says which were new. Each input has its own answer: the run, or the error its create would have thrown.
   */
  async createMany(actor: Actor, raws: readonly CreateRunInput[]): Promise<({ run: Run; created: boolean } | Error)[]> {
    const answers: ({ run: Run; created: boolean } | Error)[] = [];
    const parsed: { index: number; input: ReturnType<typeof createRunInput.parse> }[] = [];
    raws.forEach((raw, index) => {
      try {
        parsed.push({ index, input: createRunInput.parse(raw) });
      } catch (err) {
        answers[index] = asError(err);
      }
    });
    const inserted = await insertRuns(
      this.#db,
      actor,
      parsed.map((p) => p.input),
    );
    parsed.forEach(({ index }, i) => {
      const answer = inserted[i] as { run: Run; created: boolean } | Error;
      answers[index] = answer;
      if (!(answer instanceof Error)) this.#afterCreate(actor, answer.run, answer.created);
    });
    return answers;
  }

  #afterCreate(actor: Actor, run: Run, created: boolean): void {
    this.#analytics?.runChanged(actor, run.id);
    if (created) this.#emit({ type: 'created', organizationId: actor.organizationId, run, previousStatus: null });
  }

  async retrieve(actor: Actor, raw: RunIdInput): Promise<Run> {
    const { runId } = runIdInput.parse(raw);
    return retrieveRun(this.#db, actor, runId);
  }

  /** The actor's runs among `runIds`, by id, in one query; unknown ids (or another organization's) are left out. */
  async findMany(actor: Actor, runIds: readonly string[]): Promise<Map<string, Run>> {
    const ids = [...new Set(runIds.map((runId) => runIdInput.parse({ runId }).runId))];
    const found = new Map<string, Run>();
    if (ids.length === 0) return found;
    const rows = rowsOf<RunRecord>(
      await this.#db.execute(
        sql`${selectRunRecords} where ${inArray(runs.id, ids)} and ${runs.organizationId} = ${actor.organizationId}`,
      ),
    );
    for (const row of rows) found.set(row.id, toRun(row));
    return found;
  }

  async list(actor: Actor, raw: ListRunsInput, options: RunListOptions = {}): Promise<Page<Run>> {
    return listRuns(this.#db, actor, listRunsInput.parse(raw), options);
  }

  /** How many runs pass runs.list's filters, up to MAX_RUN_COUNT (`capped` past it). */
  async count(actor: Actor, raw: CountRunsInput): Promise<RunCount> {
    return countRuns(this.#db, actor, countRunsInput.parse(raw));
  }

  /**
   * The cursor of `runs.list` in `order` positioned at this run, as if a page had ended on it: what the Letta REST
   * layer's `after`/`before` run ids become. NotFound for an unknown run (or another organization's).
   */
  async cursorFor(actor: Actor, runId: string, order: Order): Promise<string> {
    return runCursor(this.#db, actor, runId, order);
  }

  /** Created or running runs, newest first. */
  async listActive(actor: Actor, raw: ListActiveRunsInput): Promise<Page<Run>> {
    const input = listActiveRunsInput.parse(raw);
    return this.list(actor, { ...input, statuses: [...ACTIVE_STATUSES], order: 'desc' });
  }

  /** `final`: the stream's last events, ending it with this update (see {@link TerminalEnd}); the update needs a terminal status. */
  async update(actor: Actor, raw: UpdateRunInput, final?: TerminalEnd): Promise<Run> {
    const { runId, patch } = parseUpdate(raw, final);
    return this.#applyUpdate(actor, runId, patch, false, final);
  }

  /**
   * Applies several updates, in order, in one transaction, each as {@link update} would (without `final`); one run may
   * be updated more than once. Each input has its own answer: the run after it, or the error that refused it (which
   * then changed nothing). An error of the writes themselves (Postgres, a hook) rolls back every update and is thrown.
   */
  async updateMany(actor: Actor, raws: readonly UpdateRunInput[]): Promise<(Run | Error)[]> {
    const answers: (Run | Error)[] = [];
    const parsed: { index: number; runId: string; patch: RunPatch }[] = [];
    raws.forEach((raw, index) => {
      try {
        parsed.push({ index, ...parseUpdate(raw, undefined) });
      } catch (err) {
        answers[index] = asError(err);
      }
    });
    if (parsed.length === 0) return answers;
    const onTerminal = this.#onTerminal;
    const changed = await withRunsLocked(
      this.#db,
      actor,
      parsed.map((p) => p.runId),
      async (tx, locked) => {
        const rows = new Map<string, LockedRun>(locked);
        // In waves, one statement each: every run's next update, so that a run's updates apply in their order, each
        // seeing the run as the one before left it.
        const byIndex = new Map<number, Extract<RunUpdateOutcome, { changed: true }>>();
        let pending = parsed;
        while (pending.length) {
          const wave: ((typeof parsed)[number] & { current: LockedRun })[] = [];
          const later: typeof parsed = [];
          const inWave = new Set<string>();
          for (const update of pending) {
            if (inWave.has(update.runId)) {
              later.push(update);
              continue;
            }
            const current = rows.get(update.runId);
            const refused = current ? patchRefusal(current, update.patch) : runNotFound(update.runId);
            if (!current || refused) {
              answers[update.index] = refused ?? runNotFound(update.runId);
              continue;
            }
            inWave.add(update.runId);
            wave.push({ ...update, current });
          }
          const written = await applyLockedRunUpdates(
            tx,
            actor,
            wave,
            onTerminal && ((run) => onTerminal(actor, run, undefined)),
          );
          wave.forEach(({ index, runId }, i) => {
            const { outcome, row } = written[i] as (typeof written)[number];
            rows.set(runId, row);
            answers[index] = outcome.run;
            byIndex.set(index, outcome);
          });
          pending = later;
        }
        const outcomes = parsed.flatMap(({ index }) => byIndex.get(index) ?? []);
        return outcomes;
      },
    );
    for (const outcome of changed) this.#afterUpdate(actor, outcome);
    return answers;
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
    patch: RunPatch,
    isCancel: boolean,
    final?: TerminalEnd,
  ): Promise<Run> {
    const onTerminal = this.#onTerminal;
    const outcome = await applyRunUpdate(this.#db, actor, runId, patch, {
      isCancel,
      onTerminal: onTerminal && ((run) => onTerminal(actor, run, final)),
    });
    if (outcome.changed) this.#afterUpdate(actor, outcome);
    return outcome.run;
  }

  #afterUpdate(actor: Actor, outcome: Extract<RunUpdateOutcome, { changed: true }>): void {
    this.#analytics?.runChanged(actor, outcome.run.id);
    if (outcome.firstTerminal && outcome.run.callbackUrl) this.#callbacks.send(actor, outcome.run);
    this.#emit({
      type: 'updated',
      organizationId: actor.organizationId,
      run: outcome.run,
      previousStatus: outcome.from,
    });
  }

  /** Deletes a run (cancelling it first if it is still active) with its steps, messages, metrics and traces. */
  async delete(actor: Actor, raw: RunIdInput): Promise<Run> {
    const { runId } = runIdInput.parse(raw);
    let run = await retrieveRun(this.#db, actor, runId);
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
    this.#analytics?.runDeleted(actor, runId);
    this.#emit({ type: 'deleted', organizationId: actor.organizationId, run, previousStatus: run.status });
    return run;
  }

  /** Token usage summed over every step of the run. */
  async usage(actor: Actor, raw: RunIdInput): Promise<RunUsage> {
    const { runId } = runIdInput.parse(raw);
    return runUsage(this.#db, actor, runId);
  }

  async metrics(actor: Actor, raw: RunIdInput): Promise<RunMetrics> {
    const { runId } = runIdInput.parse(raw);
    return runMetricsOf(this.#db, actor, runId);
  }

  /** Resolves when every callback started so far has finished (and its outcome is stored). */
  async settleCallbacks(): Promise<void> {
    await this.#callbacks.settle();
  }

  /** Drains pending callbacks. */
  async close(): Promise<void> {
    await this.settleCallbacks();
  }

  #emit(change: RunChange): void {
    if (!this.#onChange) return;
    Promise.resolve()
      .then(() => this.#onChange?.(change))
      .catch((err: unknown) => this.#logger.error({ err, runId: change.run.id }, 'run change listener failed'));
  }
}
