import { and, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../actor.ts';
import { providerTraces } from '../../db/schema.ts';
import { newId } from '../../ids.ts';
import { createLogger } from '../../logger.ts';
import { createTestRuntime, databaseTargets, sampleTraces, type TestRuntime } from '../../testing/index.ts';
import { toIso } from '../../time.ts';
import { providerTraceBackendContract } from '../backend.contract.ts';
import { toProviderTrace } from '../provider-trace.ts';
import { TelemetryManager } from '../telemetry-manager.ts';
import { PostgresProviderTraceBackend } from './postgres.ts';

describe.each(databaseTargets())('postgres provider-trace backend on $name', (target) => {
  let rt: TestRuntime;
  let a: Actor;
  let b: Actor;
  beforeAll(async () => {
    rt = await createTestRuntime(target);
    a = await rt.auth.ensureDefaultActor();
    const org = await rt.auth.createOrganization('b');
    b = { organizationId: org.id, userId: org.userId };
  });
  afterAll(() => rt?.dispose());

  providerTraceBackendContract('postgres', {
    actors: () => ({ a, b }),
    create: async () => ({
      deps: { db: rt.database.db },
      async stored(actor, id) {
        const [row] = await rt.database.db
          .select()
          .from(providerTraces)
          .where(and(eq(providerTraces.id, id), eq(providerTraces.organizationId, actor.organizationId)));
        return row ? { ...row, agentTags: row.agentTags ?? null, createdAt: toIso(row.createdAt) } : null;
      },
      async count(ids) {
        const [row] = await rt.database.db
          .select({ n: sql<number>`count(*)::int` })
          .from(providerTraces)
          .where(inArray(providerTraces.id, ids));
        return Number(row?.n ?? 0);
      },
      dispose: async () => {},
    }),
  });

  /** The backend on a db that counts the statements it runs. */
  const countingBackend = () => {
    const counted = { statements: 0 };
    const db = new Proxy(rt.database.db, {
      get(target, prop, receiver) {
        if (prop === 'execute') counted.statements += 1;
        return Reflect.get(target, prop, receiver);
      },
    });
    return { backend: new PostgresProviderTraceBackend({ db }), counted };
  };

  it('coalesces concurrent creates into few multi-row INSERTs (group commit)', async () => {
    const { backend, counted } = countingBackend();
    const traces = Array.from({ length: 400 }, () =>
      toProviderTrace({ requestJson: { q: 1 }, responseJson: { a: 2 } }),
    );
    await Promise.all(traces.map((t) => backend.create(a, t)));
    await backend.close();
    expect(counted.statements).toBeGreaterThan(0);
    expect(counted.statements).toBeLessThanOrEqual(10);
  });

  it('keeps batches large when each caller creates again as soon as its last create is written', async () => {
    // An INSERT resumes all of its callers at once (here through the TelemetryManager's layers, which take a few
    // turns of the microtask queue): the first of them back must not take a free slot for its trace alone.
    const { backend, counted } = countingBackend();
    const manager = new TelemetryManager({ backends: [backend], logger: createLogger('silent') });
    const producers = 256;
    const each = 4;
    const samples = sampleTraces();
    await Promise.all(
      Array.from({ length: producers }, async (_, p) => {
        for (let i = 0; i < each; i++) {
          const s = samples[(p + i) % samples.length] as (typeof samples)[number];
          await manager.create(a, toProviderTrace({ requestJson: s.requestJson, responseJson: s.responseJson }));
        }
      }),
    );
    await manager.close();
    expect(counted.statements).toBeGreaterThan(0);
    // 1,024 rows: ~8 INSERTs of ~128 when the two slots share each wave of 256 (on Postgres it was 24 when the first
    // caller back took a slot alone)
    expect(counted.statements).toBeLessThanOrEqual((producers * each) / 64);
  });

  it('fails only the callers of a row that cannot be written, and answers a reused id of another organization with a conflict', async () => {
    const backend = new PostgresProviderTraceBackend({ db: rt.database.db });
    const good = Array.from({ length: 20 }, () => toProviderTrace({ requestJson: { ok: true }, responseJson: {} }));
    const bad = toProviderTrace({ requestJson: { ok: false }, responseJson: {} });
    // created_at that Postgres cannot parse fails the statement it is in
    const results = await Promise.allSettled([
      ...good.map((t) => backend.create(a, t)),
      backend.create(a, { ...bad, createdAt: 'not a timestamp' }),
    ]);
    expect(results.slice(0, 20).every((r) => r.status === 'fulfilled')).toBe(true);
    expect(results[20]?.status).toBe('rejected');
    const again = await backend.create(a, good[0]!);
    expect(again.id).toBe(good[0]?.id);
    await expect(backend.create(b, good[1]!)).rejects.toMatchObject({ code: 'CONFLICT' });
    const [row] = await rt.database.db
      .select({ n: sql<number>`count(*)::int` })
      .from(providerTraces)
      .where(
        inArray(
          providerTraces.id,
          good.map((t) => t.id),
        ),
      );
    expect(Number(row?.n)).toBe(20);
    await backend.close();
  });

  it('duplicates of one id within one batch: the batch is written, the first row keeps the id, the other organization alone gets CONFLICT', async () => {
    const backend = new PostgresProviderTraceBackend({ db: rt.database.db, maxConcurrentBatches: 1 });
    const neighbours = Array.from({ length: 10 }, () =>
      toProviderTrace({ requestJson: { n: true }, responseJson: {} }),
    );
    const dup = toProviderTrace({ requestJson: { d: 1 }, responseJson: {} });
    // all queued in one turn: one INSERT holds every row
    const callers = [a, b, a, b, a];
    const results = await Promise.allSettled([
      ...callers.map((actor) => backend.create(actor, dup)),
      ...neighbours.map((t) => backend.create(a, t)),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      ...callers.map((x) => (x === a ? 'fulfilled' : 'rejected')),
      ...neighbours.map(() => 'fulfilled'),
    ]);
    for (const r of results.slice(0, callers.length)) {
      if (r.status === 'rejected') {
        expect(r.reason).toMatchObject({
          code: 'CONFLICT',
          field: 'id',
          message: `id ${dup.id} is already taken; choose another id`,
        });
      }
    }
    const rows = await rt.database.db
      .select({ id: providerTraces.id, organizationId: providerTraces.organizationId })
      .from(providerTraces)
      .where(inArray(providerTraces.id, [dup.id, ...neighbours.map((t) => t.id)]));
    expect(rows).toHaveLength(11);
    expect(rows.find((r) => r.id === dup.id)?.organizationId).toBe(a.organizationId);
    await backend.close();
  });

  it('strips NUL characters that Postgres JSON cannot hold', async () => {
    const backend = new PostgresProviderTraceBackend({ db: rt.database.db });
    const t = toProviderTrace({ requestJson: { text: 'a\u0000b' }, responseJson: {}, stepId: newId('step') });
    await backend.create(a, t);
    expect((await backend.readByStep(a, t.stepId as string))?.requestJson).toEqual({ text: 'ab' });
    await backend.close();
  });
});
