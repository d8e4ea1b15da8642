import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../actor.ts';
import { connectDatabase, rowsOf } from '../db/connect.ts';
import { NotFound } from '../errors.ts';
import { createLogger } from '../logger.ts';
import { createTestRuntime, databaseTargets, newId, type TestRuntime } from '../testing/index.ts';
import type { PurgeCounts } from './purge-batch.ts';
import { RetentionJob, type RetentionJobOptions } from './retention-job.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY_MS).toISOString();

/** Children of one run, per table, straight from the database. */
const childCountsQuery = (runId: string) => sql`
  select (select count(*) from runs where id = ${runId})::int as runs,
    (select count(*) from steps where run_id = ${runId})::int as steps,
    (select count(*) from messages where run_id = ${runId})::int as messages,
    (select count(*) from run_metrics where id = ${runId})::int as run_metrics,
    (select count(*) from provider_traces where run_id = ${runId})::int as provider_traces,
    (select count(*) from provider_trace_ids where run_id = ${runId})::int as provider_trace_ids`;

/** What {@link seedRun} stores of a run, and what is left of it once purged. */
const WHOLE = { runs: 1, steps: 2, messages: 3, run_metrics: 1, provider_traces: 2, provider_trace_ids: 1 };
const GONE = { runs: 0, steps: 0, messages: 0, run_metrics: 0, provider_traces: 0, provider_trace_ids: 0 };

/** Rows whose run is gone: what an interrupted or half-done purge would leave behind. */
const ORPHANS = `
  select (select count(*) from steps where run_id not in (select id from runs))
    + (select count(*) from messages where run_id not in (select id from runs))
    + (select count(*) from run_metrics where id not in (select id from runs))
    + (select count(*) from provider_traces where run_id is not null and run_id not in (select id from runs))
    + (select count(*) from provider_trace_ids where run_id is not null and run_id not in (select id from runs))
    as n`;

/** A promise and the function that resolves it: a gate a test opens when it chooses. */
function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe.each(databaseTargets())('retention on $name', (target) => {
  let rt: TestRuntime;
  let a: Actor;
  let b: Actor;
  let c: Actor;

  const scalar = async (query: string) =>
    Number(Object.values(rowsOf<Record<string, unknown>>(await rt.database.db.execute(sql.raw(query)))[0] ?? {})[0]);
  const childCounts = async (runId: string) =>
    rowsOf<PurgeCounts>(await rt.database.db.execute(childCountsQuery(runId)))[0];
  const exists = async (runId: string) => (await scalar(`select count(*) from runs where id = '${runId}'`)) === 1;

  /** A run with 2 steps, 3 messages, 2 provider traces (one with a claimed id), created `ageDays` ago. */
  async function seedRun(actor: Actor, ageDays: number, status: 'completed' | 'running' | 'failed' = 'completed') {
    const run = await rt.runs.create(actor, { agentId: newId('agent') });
    const steps = [];
    for (let i = 0; i < 2; i++) steps.push(await rt.steps.create(actor, { runId: run.id, promptTokens: i }));
    await rt.messages.append(actor, {
      runId: run.id,
      messages: [1, 2, 3].map((n) => ({ messageType: 'assistant_message' as const, content: `m${n}` })),
    });
    for (const step of steps) {
      await rt.providerTraces.create(actor, {
        id: step === steps[0] ? newId('providerTrace') : undefined,
        runId: run.id,
        stepId: step.id,
        requestJson: { q: 1 },
        responseJson: { a: 2 },
        createdAt: daysAgo(ageDays),
      });
    }
    if (status !== 'running') await rt.runs.update(actor, { runId: run.id, status });
    else await rt.runs.update(actor, { runId: run.id, status: 'running' });
    await rt.database.db.execute(
      sql`update runs set created_at = now() - make_interval(days => ${ageDays}::int) where id = ${run.id}`,
    );
    return run.id;
  }

  /** A trace of no run, `ageDays` old, with a claimed id. */
  async function seedLooseTrace(actor: Actor, ageDays: number) {
    const trace = await rt.providerTraces.create(actor, {
      id: newId('providerTrace'),
      requestJson: { q: 1 },
      responseJson: { a: 2 },
      createdAt: daysAgo(ageDays),
    });
    return trace.id;
  }
  const traceExists = async (id: string) =>
    (await scalar(`select count(*) from provider_traces where id = '${id}'`)) +
    (await scalar(`select count(*) from provider_trace_ids where id = '${id}'`));

  const job = (overrides: Partial<RetentionJobOptions> = {}) =>
    new RetentionJob({
      database: rt.database,
      logger: createLogger('silent'),
      defaultDays: 30,
      intervalMs: 60 * 60 * 1000,
      batchSize: 1000,
      pauseMs: 0,
      ...overrides,
    });

  /** Deletes everything expired at 30 days so that each test starts from what it seeds. */
  const clearOld = async () => {
    for (const table of ['runs', 'provider_traces', 'provider_trace_ids']) {
      await rt.database.db.execute(sql.raw(`delete from ${table}`));
    }
  };

  beforeAll(async () => {
    // The runtime's own job waits an hour: only the jobs the tests create run.
    rt = await createTestRuntime(target, { RUNTRACE_RETENTION_DAYS: '30', RUNTRACE_RETENTION_INTERVAL_MS: '3600000' });
    a = await rt.auth.ensureDefaultActor();
    const orgB = await rt.auth.createOrganization('keeps everything');
    b = { organizationId: orgB.id, userId: orgB.userId };
    const orgC = await rt.auth.createOrganization('keeps 90 days');
    c = { organizationId: orgC.id, userId: orgC.userId };
    await rt.retention.set(b, { days: 'off' });
    await rt.retention.set(c, { days: 90 });
  });
  afterAll(async () => {
    await rt?.dispose();
  });

  it('deletes expired finished runs with every child, keeps fresh, running and other organizations’ runs', async () => {
    const expired = [await seedRun(a, 40), await seedRun(a, 31, 'failed')];
    const fresh = await seedRun(a, 5);
    const running = await seedRun(a, 40, 'running');
    const keptByOff = await seedRun(b, 400);
    const keptBy90 = await seedRun(c, 40);
    const expiredAt90 = await seedRun(c, 100);
    const oldLoose = await seedLooseTrace(a, 40);
    const freshLoose = await seedLooseTrace(a, 1);
    const oldLooseOfB = await seedLooseTrace(b, 400);
    for (const id of expired) expect(await childCounts(id)).toEqual(WHOLE);

    const registry = new Registry();
    const pass = await job({ registry }).runOnce();

    expect(pass).toMatchObject({ locked: true, interrupted: false });
    expect(pass.deleted).toEqual({
      runs: 3,
      steps: 6,
      messages: 9,
      run_metrics: 3,
      provider_traces: 7,
      provider_trace_ids: 4,
    });
    for (const id of [...expired, expiredAt90]) {
      expect(await childCounts(id)).toEqual(GONE);
    }
    for (const id of [fresh, running, keptByOff, keptBy90]) {
      expect(await childCounts(id)).toEqual(WHOLE);
    }
    expect(await traceExists(oldLoose)).toBe(0);
    expect(await traceExists(freshLoose)).toBe(2);
    expect(await traceExists(oldLooseOfB)).toBe(2);
    expect(await scalar(ORPHANS)).toBe(0);
    const metrics = await registry.metrics();
    expect(metrics).toContain('runtrace_retention_deleted_total{table="runs"} 3');
    expect(metrics).toContain('runtrace_retention_deleted_total{table="provider_traces"} 7');
    expect(metrics).toMatch(/runtrace_retention_last_run_timestamp_seconds \d+/);
    expect(metrics).toMatch(/runtrace_retention_last_run_duration_seconds \d/);
    // A second pass finds nothing left to delete.
    expect((await job().runOnce()).deleted.runs).toBe(0);
    await clearOld();
  });

  it('with the global default off keeps everything, except where an organization set days of its own', async () => {
    const keptA = await seedRun(a, 400);
    const goneC = await seedRun(c, 100);
    const pass = await job({ defaultDays: null }).runOnce();
    expect(pass.deleted.runs).toBe(1);
    expect(await exists(keptA)).toBe(true);
    expect(await exists(goneC)).toBe(false);
    await clearOld();
  });

  it('deletes in batches of at most batchSize runs', async () => {
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push(await seedRun(a, 40));
    const batches: number[] = [];
    const pass = await job({
      batchSize: 5,
      onBatch: (org, counts) => {
        if (org === a.organizationId && counts.runs) batches.push(counts.runs);
      },
    }).runOnce();
    expect(batches).toEqual([5, 5, 2]);
    expect(pass.deleted.runs).toBe(12);
    for (const id of ids) expect(await exists(id)).toBe(false);
    await clearOld();
  });

  it('stops between two statements on close(), leaving whole runs and no orphans', async () => {
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push(await seedRun(a, 40));
    let closing: Promise<void> | undefined;
    const purger = job({
      batchSize: 5,
      onBatch: () => {
        closing ??= purger.close();
      },
    });
    const pass = await purger.runOnce();
    await closing;
    expect(pass).toMatchObject({ interrupted: true, batches: 1 });
    expect(pass.deleted.runs).toBe(5);
    const left = [];
    for (const id of ids) if (await exists(id)) left.push(id);
    expect(left).toHaveLength(7);
    for (const id of left) {
      expect(await childCounts(id)).toEqual(WHOLE);
    }
    expect(await scalar(ORPHANS)).toBe(0);
    // A closed job schedules nothing more.
    purger.start();
    await clearOld();
  });

  it('once started, passes every interval until closed', async () => {
    const id = await seedRun(a, 40);
    let passes = 0;
    const scheduled = job({
      intervalMs: 50,
      onBatch: (org) => {
        if (org === a.organizationId) passes++;
      },
    });
    scheduled.start();
    await expect.poll(() => passes, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    expect(await exists(id)).toBe(false);
    await scheduled.close();
    const after = passes;
    await new Promise((r) => setTimeout(r, 300));
    expect(passes).toBe(after);
    await clearOld();
  });

  describe('settings', () => {
    it('reads and sets the caller’s organization only; the override wins over the default', async () => {
      expect(await rt.retention.get(a)).toEqual({
        organizationId: a.organizationId,
        override: null,
        defaultDays: 30,
        effectiveDays: 30,
      });
      expect(await rt.retention.get(b)).toMatchObject({ override: 'off', effectiveDays: 'off' });
      expect(await rt.retention.get(c)).toMatchObject({ override: 90, effectiveDays: 90 });
      const orgD = await rt.auth.createOrganization('d');
      const d = { organizationId: orgD.id, userId: orgD.userId };
      expect(await rt.retention.set(d, { days: 7 })).toMatchObject({ override: 7, effectiveDays: 7 });
      expect(await rt.retention.get(a)).toMatchObject({ override: null });
      expect(await rt.retention.set(d, { days: null })).toMatchObject({ override: null, effectiveDays: 30 });
    });

    it('refuses bad days naming the field, and unknown organizations as NotFound', async () => {
      for (const days of [0, -1, 1.5, 36_501, 'forever', '7', undefined]) {
        await expect(rt.retention.set(a, { days } as never)).rejects.toMatchObject({
          issues: [expect.objectContaining({ path: ['days'] })],
        });
      }
      await expect(rt.retention.getFor(newId('organization'))).rejects.toBeInstanceOf(NotFound);
      await expect(rt.retention.setFor('org-nope', { days: 3 })).rejects.toBeInstanceOf(NotFound);
      expect(await rt.retention.get(a)).toMatchObject({ override: null });
    });
  });
});

describe.each(databaseTargets().filter((t) => t.name === 'postgres'))(
  'retention across processes ($name)',
  (target) => {
    it('two jobs on one database never both purge: the second skips its pass while the first holds the lock', async () => {
      const rt = await createTestRuntime(target, {
        RUNTRACE_RETENTION_DAYS: '30',
        RUNTRACE_RETENTION_INTERVAL_MS: '3600000',
      });
      // A second process's pool on the same database.
      const second = await connectDatabase({ url: rt.config.databaseUrl });
      try {
        const actor = await rt.auth.ensureDefaultActor();
        for (let i = 0; i < 6; i++) {
          const run = await rt.runs.create(actor, { agentId: newId('agent') });
          await rt.runs.update(actor, { runId: run.id, status: 'completed' });
        }
        await rt.database.db.execute(sql`update runs set created_at = now() - interval '40 days'`);
        const { promise: gate, resolve: release } = deferred();
        const { promise: inside, resolve: firstBatch } = deferred();
        const options = {
          logger: createLogger('silent'),
          defaultDays: 30,
          intervalMs: 3_600_000,
          batchSize: 2,
          pauseMs: 0,
        };
        const one = new RetentionJob({
          ...options,
          database: rt.database,
          onBatch: async () => {
            firstBatch();
            await gate;
          },
        });
        const two = new RetentionJob({ ...options, database: second });
        const running = one.runOnce();
        await inside;
        const skipped = await two.runOnce();
        expect(skipped).toMatchObject({ locked: false, batches: 0 });
        expect(skipped.deleted.runs).toBe(0);
        release();
        expect((await running).deleted.runs).toBe(6);
        // Released at the end of the pass: the other process takes the next one.
        expect(await two.runOnce()).toMatchObject({ locked: true });
      } finally {
        await second.close();
        await rt.dispose();
      }
    });
    it('never waits on a run a request holds locked: skips it, and takes it at the next pass', async () => {
      const rt = await createTestRuntime(target, {
        RUNTRACE_RETENTION_DAYS: '30',
        RUNTRACE_RETENTION_INTERVAL_MS: '3600000',
      });
      const holder = postgres(rt.config.databaseUrl as string, { max: 1, onnotice: () => {} });
      try {
        const actor = await rt.auth.ensureDefaultActor();
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) {
          const run = await rt.runs.create(actor, { agentId: newId('agent') });
          await rt.runs.update(actor, { runId: run.id, status: 'completed' });
          ids.push(run.id);
        }
        await rt.database.db.execute(sql`update runs set created_at = now() - interval '40 days'`);
        const options = { logger: createLogger('silent'), defaultDays: 30, intervalMs: 3_600_000, batchSize: 10 };
        const job = new RetentionJob({ ...options, database: rt.database });
        const { promise: held, resolve: release } = deferred();
        const { promise: isLocked, resolve: locked } = deferred();
        const transaction = holder.begin(async (tx) => {
          await tx`select id from runs where id = ${ids[0] as string} for update`;
          locked();
          await held;
        });
        await isLocked;
        const t0 = performance.now();
        const pass = await job.runOnce();
        expect(performance.now() - t0).toBeLessThan(5_000);
        expect(pass.deleted.runs).toBe(2);
        release();
        await transaction;
        expect((await job.runOnce()).deleted.runs).toBe(1);
      } finally {
        await holder.end();
        await rt.dispose();
      }
    });
  },
);
