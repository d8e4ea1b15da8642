import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../actor.ts';
import { rowsOf } from '../db/connect.ts';
import { Conflict } from '../errors.ts';
import { newId } from '../ids.ts';
import { createLogger } from '../logger.ts';
import { createTestRuntime, databaseTargets, type TestRuntime } from '../testing/index.ts';
import type { ProviderTraceBackend } from './backend.ts';
import { PostgresProviderTraceBackend } from './backends/postgres.ts';
import type { ProviderTraceInput } from './provider-trace.ts';
import { ProviderTraceService } from './provider-trace-service.ts';
import { TelemetryManager } from './telemetry-manager.ts';

/** An error's answer as a caller sees it: class, message (the id written as <id>) and field. */
const answer = (err: unknown, id: string) => {
  expect(err).toBeInstanceOf(Conflict);
  const e = err as Conflict;
  return { code: e.code, field: e.field, message: e.message.replaceAll(id, '<id>') };
};
const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (err: unknown) => err,
  );

/**
 * Caller-chosen provider-trace ids (CONTRACTS §2/§3): same organization and content → the trace as first created,
 * anything else → the one CONFLICT for a taken id, whichever backends are configured, and only the first trace is
 * stored anywhere.
 */
describe.each(databaseTargets())('provider-trace ids on $name', (target) => {
  describe.each([
    { backends: 'postgres', readable: true },
    { backends: 'clickhouse', readable: true },
    { backends: 'postgres,clickhouse', readable: true },
    { backends: 'clickhouse,postgres', readable: true },
  ])('TELEMETRY_PROVIDER_TRACE_BACKEND=$backends', ({ backends }) => {
    let rt: TestRuntime;
    let a: Actor;
    let b: Actor;
    beforeAll(async () => {
      rt = await createTestRuntime(target, {
        TELEMETRY_PROVIDER_TRACE_BACKEND: backends,
        ...(backends.includes('clickhouse') ? { CLICKHOUSE_URL: 'chdb:memory' } : {}),
      });
      a = await rt.auth.ensureDefaultActor();
      const org = await rt.auth.createOrganization('b');
      b = { organizationId: org.id, userId: org.userId };
    });
    afterAll(() => rt?.dispose());

    /** What every backend holds under `id`, in any organization. */
    const storedEverywhere = async (id: string) => {
      // create() answers with the first backend's write; the others are still writing
      await rt.telemetry.idle();
      const held: Record<string, unknown[]> = {};
      if (backends.includes('postgres')) {
        held.postgres = rowsOf<{ organization_id: string; request_json: unknown }>(
          await rt.database.db.execute(sql`select organization_id, request_json from provider_traces where id = ${id}`),
        );
      }
      if (backends.includes('clickhouse') && rt.clickhouse) {
        const result = await rt.clickhouse.client.query({
          query: `SELECT organization_id, request_json FROM \`${rt.clickhouse.database}\`.provider_traces FINAL WHERE id = {id:String}`,
          query_params: { id },
          format: 'JSONEachRow',
        });
        held.clickhouse = await result.json();
      }
      return held;
    };

    it('a retry with the same content answers the first trace; other content or another organization gets one CONFLICT', async () => {
      const run = await rt.runs.create(a, { agentId: newId('agent') });
      const id = newId('providerTrace');
      const trace: ProviderTraceInput = { id, runId: run.id, requestJson: { q: 'first' }, responseJson: { a: 1 } };
      const first = await rt.providerTraces.create(a, trace);
      expect(first.id).toBe(id);
      await new Promise((r) => setTimeout(r, 5));
      // no createdAt given: the retry's own time is not content, and the answer is the trace as first created
      expect(await rt.providerTraces.create(a, { ...trace, requestJson: { q: 'first' } })).toEqual(first);

      const own = answer(await errorOf(rt.providerTraces.create(a, { ...trace, requestJson: { q: 'other' } })), id);
      expect(own).toEqual({ code: 'CONFLICT', field: 'id', message: 'id <id> is already taken; choose another id' });
      // another organization: with other content, with the same content: the same answer
      expect(
        answer(await errorOf(rt.providerTraces.create(b, { id, requestJson: { q: 'b' }, responseJson: {} })), id),
      ).toEqual(own);
      expect(answer(await errorOf(rt.providerTraces.create(b, { ...trace, runId: null })), id)).toEqual(own);
      // an own id of b's with other content: the same answer again
      const bId = newId('providerTrace');
      await rt.providerTraces.create(b, { id: bId, requestJson: {}, responseJson: {} });
      expect(
        answer(await errorOf(rt.providerTraces.create(b, { id: bId, requestJson: { x: 1 }, responseJson: {} })), bId),
      ).toEqual(own);

      // stored once, the first content, in a's organization, in every backend; readable as created
      const held = await storedEverywhere(id);
      for (const rows of Object.values(held)) {
        expect(rows).toEqual([{ organization_id: a.organizationId, request_json: expect.anything() }]);
        const json = (rows[0] as { request_json: unknown }).request_json;
        expect(typeof json === 'string' ? JSON.parse(json) : json).toEqual({ q: 'first' });
      }
      expect(await rt.providerTraces.listByRun(a, { runId: run.id })).toEqual({ items: [first] });
    });

    it('deleting the run frees its traces’ ids: the same create stores the trace again', async () => {
      const run = await rt.runs.create(a, { agentId: newId('agent') });
      const id = newId('providerTrace');
      const trace = { id, runId: run.id, requestJson: { q: 1 }, responseJson: {} };
      await rt.providerTraces.create(a, trace);
      await rt.runs.delete(a, { runId: run.id });
      const again = await rt.runs.create(a, { id: run.id, agentId: run.agentId });
      const second = await rt.providerTraces.create(a, trace);
      expect(await rt.providerTraces.listByRun(a, { runId: again.id })).toEqual({ items: [second] });
    });

    it('a caller-chosen createdAt is content: the same instant retries, another one conflicts', async () => {
      const id = newId('providerTrace');
      const trace = { id, requestJson: {}, responseJson: {}, createdAt: '2024-05-01T12:00:00+02:00' };
      const first = await rt.providerTraces.create(a, trace);
      expect(first.createdAt).toMatch(/^2024-05-01T10:00:00(\.0+)?Z$/);
      expect(await rt.providerTraces.create(a, { ...trace, createdAt: '2024-05-01T10:00:00Z' })).toEqual(first);
      await expect(rt.providerTraces.create(a, { ...trace, createdAt: '2024-05-01T10:00:01Z' })).rejects.toBeInstanceOf(
        Conflict,
      );
    });

    it('concurrent duplicates from two organizations: one trace stored, its own retries succeed, every other caller CONFLICT', async () => {
      const id = newId('providerTrace');
      const callers = Array.from({ length: 12 }, (_, i) => ({
        actor: i % 3 === 0 ? b : a,
        input: { id, requestJson: { n: i % 2 }, responseJson: {} },
      }));
      const results = await Promise.all(
        callers.map((c) =>
          rt.providerTraces.create(c.actor, c.input).then(
            (t) => ({ t }),
            (err: unknown) => ({ err }),
          ),
        ),
      );
      const won = results.flatMap((r, i) => ('t' in r ? [i] : []));
      expect(won.length).toBeGreaterThan(0);
      const winner = callers[won[0] as number]!;
      results.forEach((r, i) => {
        const same =
          callers[i]!.actor === winner.actor && callers[i]!.input.requestJson.n === winner.input.requestJson.n;
        if (same) expect('t' in r && r.t.requestJson).toEqual(winner.input.requestJson);
        else expect(answer('err' in r ? r.err : null, id).message).toBe('id <id> is already taken; choose another id');
      });
      for (const rows of Object.values(await storedEverywhere(id))) {
        expect(rows).toEqual([{ organization_id: winner.actor.organizationId, request_json: expect.anything() }]);
      }
    });

    it('an id the server generated is taken: reusing it, from either organization, never loses a trace', async () => {
      const run = await rt.runs.create(a, { agentId: newId('agent') });
      const generated = await rt.providerTraces.create(a, {
        runId: run.id,
        requestJson: { first: true },
        responseJson: {},
      });
      for (const [i, who] of [a, b].entries()) {
        const reuse = rt.providerTraces.create(who, {
          id: generated.id,
          requestJson: { second: true },
          responseJson: {},
        });
        if (backends.includes('postgres') || i > 0) {
          // the ledger holds the generated trace (or the first reuse claimed the id): the one answer for a taken id
          expect(answer(await errorOf(reuse), generated.id).message).toBe(
            'id <id> is already taken; choose another id',
          );
        } else {
          // ClickHouse alone keeps both traces (its sort key holds the organization and the time): nothing is lost
          expect((await reuse).requestJson).toEqual({ second: true });
        }
      }
      expect((await rt.providerTraces.listByRun(a, { runId: run.id })).items.map((t) => t.requestJson)).toEqual([
        { first: true },
      ]);
    });

    it('generated ids are not claimed: no registry row, no extra statement on the hot path', async () => {
      const before = rowsOf<{ n: number }>(
        await rt.database.db.execute(sql`select count(*)::int as n from provider_trace_ids`),
      );
      await Promise.all(
        Array.from({ length: 5 }, () => rt.providerTraces.create(a, { requestJson: {}, responseJson: {} })),
      );
      const after = rowsOf<{ n: number }>(
        await rt.database.db.execute(sql`select count(*)::int as n from provider_trace_ids`),
      );
      expect(Number(after[0]?.n)).toBe(Number(before[0]?.n));
    });
  });
  it('a claim whose trace no durable backend took is freed: the retry writes it', async () => {
    const rt = await createTestRuntime(target);
    try {
      const actor = await rt.auth.ensureDefaultActor();
      const postgres = new PostgresProviderTraceBackend({ db: rt.database.db });
      let failing = true;
      // the primary, failing on demand as an unreachable store would
      const flaky: ProviderTraceBackend = {
        name: 'postgres',
        create: (who, t) => (failing ? Promise.reject(new Error('store down')) : postgres.create(who, t)),
        enqueue: () => {},
        readByStep: (who, stepId) => postgres.readByStep(who, stepId),
        stats: () => postgres.stats(),
        statsFor: (organizationId) => postgres.statsFor(organizationId),
        close: () => postgres.close(),
      };
      const telemetry = new TelemetryManager({ backends: [flaky], logger: createLogger('silent') });
      const service = new ProviderTraceService({ db: rt.database.db, telemetry });
      const stepRun = await rt.runs.create(actor, { agentId: newId('agent') });
      const step = await rt.steps.create(actor, { runId: stepRun.id });
      const trace = { id: newId('providerTrace'), stepId: step.id, requestJson: { q: 1 }, responseJson: {} };
      await service.create(actor, trace); // telemetry never fails the caller; the write failure is counted
      expect(await service.forStep(actor, { stepId: step.id })).toBeNull();
      failing = false;
      const stored = await service.create(actor, trace);
      expect(await service.forStep(actor, { stepId: step.id })).toEqual(stored);
      await telemetry.close();
    } finally {
      await rt.dispose();
    }
  });
});
