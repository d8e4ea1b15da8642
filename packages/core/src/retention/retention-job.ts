import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { Counter, Gauge, type Registry } from 'prom-client';
import { type Database, type Db, rowsOf } from '../db/connect.ts';
import type { Logger } from '../logger.ts';
import { PURGED_TABLES, type PurgeCounts, purgeExpiredRuns, purgeExpiredTraces } from './purge-batch.ts';
import { effectiveRetentionDays } from './retention-settings.ts';

/** An arbitrary constant beside the migrations' one: every Runtrace process purges under this advisory lock. */
export const RETENTION_LOCK_KEY = 7_254_110_422;

export interface RetentionJobOptions {
  database: Pick<Database, 'withSession'>;
  logger: Logger;
  /** RUNTRACE_RETENTION_DAYS; null: off (organizations with an override of their own are still purged). */
  defaultDays: number | null;
  /** Time between passes; the first pass starts one interval after {@link RetentionJob.start}. */
  intervalMs: number;
  /** Most runs (or orphan traces) one statement deletes. */
  batchSize: number;
  /** Pause between two statements, so the purge leaves the database to requests in between. @default 10 */
  pauseMs?: number;
  /** Where runtrace_retention_* metrics register (the api's /metrics registry). */
  registry?: Registry;
  /** Called after each statement with what it deleted (progress for benches and tests); awaited before the next. */
  onBatch?: (organizationId: string, counts: PurgeCounts) => void | Promise<void>;
}

/** What one pass did; `locked: false` when another process held the lock and this one deleted nothing. */
export interface RetentionPass {
  locked: boolean;
  deleted: PurgeCounts;
  batches: number;
  /** Stopped by close() before it finished. */
  interrupted: boolean;
  durationMs: number;
}

const zeroCounts = (): PurgeCounts => Object.fromEntries(PURGED_TABLES.map((t) => [t, 0])) as unknown as PurgeCounts;

/**
 * Deletes expired runs and provider traces in Postgres, every `intervalMs`, in one process at a time: a pass runs on
 * one connection holding a session advisory lock (pg_try_advisory_lock: a second process skips its pass instead of
 * queueing behind the first). Each statement deletes a bounded batch and commits alone (purge-batch.ts), so locks
 * last one batch and {@link close} stops between two statements without leaving half a run behind. PGlite has one
 * process and one connection: the same code, the lock always granted.
 */
export class RetentionJob {
  readonly #options: RetentionJobOptions;
  readonly #deleted: Counter<'table'> | null;
  readonly #lastRun: Gauge | null;
  readonly #lastDuration: Gauge | null;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<RetentionPass> | null = null;
  #stopping = false;

  constructor(options: RetentionJobOptions) {
    this.#options = options;
    const registers = options.registry ? [options.registry] : null;
    this.#deleted = registers
      ? new Counter({
          name: 'runtrace_retention_deleted_total',
          help: 'Rows the retention job deleted, per table',
          labelNames: ['table'],
          registers,
        })
      : null;
    this.#lastRun = registers
      ? new Gauge({
          name: 'runtrace_retention_last_run_timestamp_seconds',
          help: 'When the last retention pass that held the lock finished (Unix time)',
          registers,
        })
      : null;
    this.#lastDuration = registers
      ? new Gauge({
          name: 'runtrace_retention_last_run_duration_seconds',
          help: 'How long the last retention pass that held the lock took',
          registers,
        })
      : null;
  }

  /** Schedules a pass every interval until {@link close}. */
  start(): void {
    if (this.#stopping || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.runOnce()
        .catch((err: unknown) => this.#options.logger.error({ err }, 'retention pass failed'))
        .finally(() => {
          if (!this.#stopping) this.start();
        });
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Runs one pass now (or joins the one under way). */
  runOnce(): Promise<RetentionPass> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /** Stops scheduling, and stops the pass under way after its current statement; resolves when it has. */
  async close(): Promise<void> {
    this.#stopping = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running?.catch(() => {});
  }

  async #pass(): Promise<RetentionPass> {
    const started = performance.now();
    const pass: RetentionPass = { locked: false, deleted: zeroCounts(), batches: 0, interrupted: false, durationMs: 0 };
    await this.#options.database.withSession(async (session) => {
      const [lock] = rowsOf<{ locked: boolean }>(
        await session.execute(sql`select pg_try_advisory_lock(${RETENTION_LOCK_KEY}) as locked`),
      );
      if (!lock?.locked) return;
      pass.locked = true;
      try {
        await this.#purgeAll(session, pass);
      } finally {
        await session.execute(sql`select pg_advisory_unlock(${RETENTION_LOCK_KEY})`);
      }
    });
    pass.durationMs = performance.now() - started;
    if (pass.locked) {
      this.#lastRun?.set(Date.now() / 1000);
      this.#lastDuration?.set(pass.durationMs / 1000);
      if (pass.deleted.runs > 0 || pass.deleted.provider_traces > 0) {
        this.#options.logger.info(
          {
            deleted: pass.deleted,
            batches: pass.batches,
            durationMs: Math.round(pass.durationMs),
            interrupted: pass.interrupted,
          },
          'retention pass done',
        );
      }
    }
    return pass;
  }

  async #purgeAll(session: Db, pass: RetentionPass): Promise<void> {
    const { defaultDays, batchSize } = this.#options;
    const orgs = rowsOf<{ id: string; retention_days: number | null }>(
      await session.execute(sql`select id, retention_days from organizations order by id`),
    );
    for (const org of orgs) {
      const days = effectiveRetentionDays(org.retention_days, defaultDays);
      if (days === null) continue;
      for (const purge of [purgeExpiredRuns, purgeExpiredTraces]) {
        for (;;) {
          if (this.#stopping) {
            pass.interrupted = true;
            return;
          }
          const counts = await purge(session, org.id, days, batchSize);
          pass.batches++;
          this.#count(pass, counts);
          await this.#options.onBatch?.(org.id, counts);
          const main = purge === purgeExpiredRuns ? counts.runs : counts.provider_traces;
          if (main < batchSize) break;
          this.#options.logger.debug({ organizationId: org.id, deleted: counts }, 'retention batch');
          await sleep(this.#options.pauseMs ?? 10);
        }
      }
    }
  }

  #count(pass: RetentionPass, counts: PurgeCounts): void {
    for (const table of PURGED_TABLES) {
      pass.deleted[table] += counts[table];
      if (counts[table]) this.#deleted?.inc({ table }, counts[table]);
    }
  }
}
