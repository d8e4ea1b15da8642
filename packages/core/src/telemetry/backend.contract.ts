/**
 * The ONE behavioural suite every provider-trace backend passes (as drizzle's pg-common.ts is for its drivers).
 * A backend's test file calls `providerTraceBackendContract(name, ...)` with a fresh destination for each test; the
 * suite opens the backend registered under `name` on it, as createBackends opens it from configuration.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Actor } from '../actor.ts';
import { newId } from '../ids.ts';
import { createLogger } from '../logger.ts';
import { sampleTraces } from '../testing/sample-traces.ts';
import type { ProviderTraceBackend } from './backend.ts';
import { type BackendRegistry, providerTraceBackends, type RegistryDependencies } from './backend-registry.ts';
import { type BackendDependencies, createBackends } from './factory.ts';
import { type ProviderTrace, toProviderTrace } from './provider-trace.ts';

export interface ContractHarness<Deps = unknown> {
  /** What the backend is opened with on this destination (its factory's dependencies; a silent logger is added). */
  deps: Deps;
  /**
   * What the backend's destination holds for this id, looked up directly (SQL, ClickHouse query, the sidecar's
   * received records) rather than through the backend, or null. `actor` scopes the lookup where the store has
   * organizations.
   */
  stored(actor: Actor, id: string): Promise<ProviderTrace | null>;
  /** How many records with these ids the destination holds (to prove exactly-once). */
  count(ids: string[]): Promise<number>;
  /** Releases everything the harness made (the backend is closed by the suite). */
  dispose(): Promise<void>;
}

export interface ContractOptions<R extends BackendRegistry, N extends keyof R & string> {
  /** Two organizations that exist in the store. */
  actors: () => { a: Actor; b: Actor };
  /** A fresh (or shared, id-isolated) destination for a fresh backend. */
  create: () => Promise<ContractHarness<RegistryDependencies<Pick<R, N>>>>;
  /** Where `name` is looked up. @default providerTraceBackends */
  registry?: R;
  /** How long delivery may take after `close()` for backends whose create resolves before the write. @default 0 */
  settleMs?: number;
}

async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await probe();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    value = await probe();
  }
  return value;
}

function trace(overrides: Partial<ProviderTrace> = {}, sample = 0): ProviderTrace {
  const samples = sampleTraces();
  const s = samples[sample % samples.length];
  if (!s) throw new Error('no sample traces');
  return {
    ...toProviderTrace({
      requestJson: s.requestJson,
      responseJson: s.responseJson,
      callType: s.callType,
      stepId: newId('step'),
      runId: newId('run'),
      agentId: newId('agent'),
      agentTags: ['contract', 'test'],
    }),
    ...overrides,
  };
}

export function providerTraceBackendContract<
  R extends BackendRegistry = typeof providerTraceBackends,
  N extends keyof R & string = keyof R & string,
>(name: N, options: ContractOptions<R, N>): void {
  const settle = options.settleMs ?? 0;
  /** Every one of `ids` becomes readable (a batching backend may take until `settle`). */
  const expectAllStored = async (h: Pick<ContractHarness, 'count'>, ids: string[]) =>
    expect(
      await eventually(
        () => h.count(ids),
        (n) => n >= ids.length,
        settle,
      ),
    ).toBe(ids.length);
  const registry = options.registry ?? (providerTraceBackends as BackendRegistry as R);
  const logger = createLogger('silent');
  describe(`provider-trace backend contract: ${name}`, () => {
    let harness: ContractHarness | null = null;
    let backend: ProviderTraceBackend | undefined;
    const open = async () => {
      const opened = await options.create();
      harness = opened;
      // what N declared is what createBackends needs for [N] (`string extends N` is left open for a generic N)
      const deps = Object.assign({ logger }, opened.deps) as unknown as BackendDependencies<R, N>;
      [backend] = await createBackends([name], deps, registry);
      if (!backend) throw new Error(`createBackends opened no ${name} backend`);
      return { ...harness, backend };
    };
    afterEach(async () => {
      if (!harness) return;
      await backend?.close();
      await harness.dispose();
      harness = null;
      backend = undefined;
    });

    it('create resolves with the same trace (or null when the backend cannot promise durability) and stores it intact', async () => {
      const h = await open();
      const { a } = options.actors();
      for (let i = 0; i < sampleTraces().length; i++) {
        const t = trace({}, i);
        const result = await h.backend.create(a, t);
        if (result !== null) expect(result.id).toBe(t.id);
      }
      const t = trace({ requestJson: { unicode: 'héllo — 你好 🎉', nested: { deep: [1, 2, { x: null }] } } });
      await h.backend.create(a, t);
      await h.backend.close();
      const got = await eventually(
        () => h.stored(a, t.id),
        (v) => v !== null,
        settle,
      );
      expect(got).not.toBeNull();
      expect(got?.requestJson).toEqual(t.requestJson);
      expect(got?.responseJson).toEqual(t.responseJson);
      expect(got).toMatchObject({
        id: t.id,
        stepId: t.stepId,
        runId: t.runId,
        agentId: t.agentId,
        callType: t.callType,
      });
    });

    it('stores every one of 300 concurrent creates exactly once', async () => {
      const h = await open();
      const { a } = options.actors();
      const traces = Array.from({ length: 300 }, (_, i) => trace({}, i));
      await Promise.all(traces.map((t) => h.backend.create(a, t)));
      await h.backend.close();
      const ids = traces.map((t) => t.id);
      await expectAllStored(h, ids);
    });

    it('enqueue returns at once, never throws, and close() drains what it accepted', async () => {
      const h = await open();
      const { a } = options.actors();
      const traces = Array.from({ length: 100 }, (_, i) => trace({}, i));
      const started = performance.now();
      for (const t of traces) h.backend.enqueue(a, t);
      expect(performance.now() - started).toBeLessThan(250);
      await h.backend.close();
      expect(() => h.backend.enqueue(a, trace())).not.toThrow();
      const ids = traces.map((t) => t.id);
      await expectAllStored(h, ids);
      expect(h.backend.stats().queueDepth).toBe(0);
    });

    it('reads (where it can) the newest trace of a step, only within the caller organization', async () => {
      const h = await open();
      if (!h.backend.readByStep) {
        expect(h.backend.listByRun).toBeUndefined();
        return;
      }
      const { a, b } = options.actors();
      const stepId = newId('step');
      const runId = newId('run');
      const older = trace({ stepId, runId, createdAt: '2026-01-01T00:00:00.000Z' });
      const newer = trace({ stepId, runId, createdAt: '2026-01-01T00:00:01.000Z' }, 1);
      await Promise.all([h.backend.create(a, older), h.backend.create(a, newer)]);
      const foreign = trace({ stepId: newId('step'), runId: newId('run') });
      await h.backend.create(b, foreign);
      expect((await h.backend.readByStep(a, stepId))?.id).toBe(newer.id);
      expect(await h.backend.readByStep(b, stepId)).toBeNull();
      expect(await h.backend.readByStep(a, foreign.stepId as string)).toBeNull();
      expect(await h.backend.readByStep(a, newId('step'))).toBeNull();
      const listed = await h.backend.listByRun?.(a, runId, 100);
      expect(listed?.map((t) => t.id)).toEqual([older.id, newer.id]);
      expect(await h.backend.listByRun?.(b, runId, 100)).toEqual([]);
      if (h.backend.deleteByRun) {
        await h.backend.deleteByRun(b, runId);
        expect(await h.backend.listByRun?.(a, runId, 100)).toHaveLength(2);
        await h.backend.deleteByRun(a, runId);
        expect(await h.backend.readByStep(a, stepId)).toBeNull();
        expect(await h.backend.listByRun?.(a, runId, 100)).toEqual([]);
      }
    });

    it("reports its queue in stats(), and one organization's counts in statsFor()", async () => {
      const h = await open();
      const { possiblyLost, ...stats } = h.backend.stats();
      expect(stats).toEqual({
        queueDepth: expect.any(Number),
        queueBytes: expect.any(Number),
        dropped: expect.any(Number),
        reconnects: expect.any(Number),
      });
      expect(possiblyLost === undefined || typeof possiblyLost === 'number').toBe(true);
      const { lastDroppedAt, ...counts } = h.backend.statsFor(options.actors().a.organizationId);
      expect(counts).toEqual({ dropped: expect.any(Number), possiblyLost: expect.any(Number) });
      // when one of the organization's records was last dropped: never set without a drop (absent: not kept)
      if (counts.dropped === 0) expect(lastDroppedAt ?? null).toBeNull();
      else expect(lastDroppedAt === undefined || typeof lastDroppedAt === 'number').toBe(true);
    });
  });
}
