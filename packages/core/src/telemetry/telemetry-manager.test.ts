import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../actor.ts';
import { NotImplemented } from '../errors.ts';
import { newId } from '../ids.ts';
import { createLogger } from '../logger.ts';
import { createTestRuntime, databaseTargets, type TestRuntime } from '../testing/index.ts';
import type { BackendStats, OrganizationStats, ProviderTraceBackend } from './backend.ts';
import type { BackendName } from './backend-registry.ts';
import { PostgresProviderTraceBackend } from './backends/postgres.ts';
import type { ProviderTrace } from './provider-trace.ts';
import { TelemetryManager } from './telemetry-manager.ts';

/** A backend that misbehaves on purpose: the manager must isolate it. */
class UnreliableBackend implements ProviderTraceBackend {
  calls = 0;
  closed = false;
  constructor(
    readonly name: BackendName,
    readonly mode: 'throw' | 'hang' | 'slow' | 'null',
    readonly delayMs = 0,
  ) {}
  async create(_actor: Actor, trace: ProviderTrace): Promise<ProviderTrace | null> {
    this.calls += 1;
    if (this.mode === 'throw') throw new Error('backend exploded');
    if (this.mode === 'hang') return new Promise(() => {});
    if (this.mode === 'slow') await new Promise((r) => setTimeout(r, this.delayMs));
    return this.mode === 'null' ? null : { ...trace, callType: `from-${this.name}` };
  }
  enqueue(): void {
    this.calls += 1;
    if (this.mode === 'throw') throw new Error('enqueue exploded');
  }
  stats(): BackendStats {
    return { queueDepth: 0, queueBytes: 0, dropped: 0, reconnects: 0 };
  }
  statsFor(): OrganizationStats {
    return { dropped: 0, possiblyLost: 0 };
  }
  async close() {
    this.closed = true;
  }
}

const silent = createLogger('silent');
const input = () => ({ requestJson: { model: 'm' }, responseJson: { ok: true }, stepId: newId('step') });

describe.each(databaseTargets())('TelemetryManager on $name', (target) => {
  let rt: TestRuntime;
  let actor: Actor;
  beforeAll(async () => {
    rt = await createTestRuntime(target);
    actor = await rt.auth.ensureDefaultActor();
  });
  afterAll(() => rt?.dispose());

  it('writes one id everywhere and returns the first non-null result in configuration order', async () => {
    const slowSocket = new UnreliableBackend('socket', 'null');
    const postgres = new PostgresProviderTraceBackend({ db: rt.database.db });
    const other = new UnreliableBackend('clickhouse', 'slow', 20);
    const manager = new TelemetryManager({ backends: [slowSocket, postgres, other], logger: silent });
    const t = input();
    const result = await manager.create(actor, t);
    expect(result?.id).toMatch(/^provider_trace-/);
    expect(result?.callType).toBeNull(); // postgres's answer, not clickhouse's
    expect((await manager.readByStep(actor, t.stepId))?.id).toBe(result?.id);
    expect(other.calls).toBe(1);
    await manager.close();
    expect(other.closed).toBe(true);
    const health = manager.metrics.health(actor.organizationId);
    expect(health.map((h) => [h.backend, h.writesOk])).toEqual([
      ['socket', 1],
      ['postgres', 1],
      ['clickhouse', 1],
    ]);
  });

  it('isolates a throwing, a hanging and a slow backend: the caller gets the healthy answer, never an error', async () => {
    const throwing = new UnreliableBackend('clickhouse', 'throw');
    const hanging = new UnreliableBackend('socket', 'hang');
    const postgres = new PostgresProviderTraceBackend({ db: rt.database.db });
    const manager = new TelemetryManager({
      backends: [throwing, hanging, postgres],
      logger: silent,
      timeoutMs: 200,
    });
    const started = Date.now();
    const result = await manager.create(actor, input());
    expect(result).not.toBeNull();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(() => manager.enqueue(actor, input())).not.toThrow();
    await manager.close();
    const byName = Object.fromEntries(manager.metrics.health(actor.organizationId).map((h) => [h.backend, h]));
    expect(byName.clickhouse).toMatchObject({ writesFailed: 2, writesOk: 0 });
    expect(byName.socket).toMatchObject({ writesTimedOut: 1 });
    expect(byName.postgres).toMatchObject({ writesOk: 1, writesFailed: 0 });
    const text = await manager.metrics.metrics();
    expect(text).toContain('runtrace_provider_trace_writes_total{backend="clickhouse",result="failed"} 2');
    expect(text).toContain('runtrace_provider_trace_writes_total{backend="socket",result="timeout"} 1');
    expect(text).toMatch(/runtrace_provider_trace_write_seconds_bucket\{le="[0-9.]+",backend="postgres"\}/);
    expect(text).toContain('runtrace_provider_trace_queue_depth{backend="postgres"} 0');
  });

  it('returns null when every backend fails, and does not raise', async () => {
    const manager = new TelemetryManager({
      backends: [new UnreliableBackend('postgres', 'throw'), new UnreliableBackend('socket', 'hang')],
      logger: silent,
      timeoutMs: 100,
    });
    expect(await manager.create(actor, input())).toBeNull();
    await manager.close();
  });

  it('does not make the caller wait for slower backends after the primary answered', async () => {
    const postgres = new PostgresProviderTraceBackend({ db: rt.database.db });
    const slow = new UnreliableBackend('clickhouse', 'slow', 1000);
    const manager = new TelemetryManager({ backends: [postgres, slow], logger: silent });
    const started = Date.now();
    expect(await manager.create(actor, input())).not.toBeNull();
    expect(Date.now() - started).toBeLessThan(800);
    await manager.close();
    expect(manager.metrics.health(actor.organizationId)[1]?.writesOk).toBe(1);
  });

  it('reads from the first backend that can read, and says so when none can', async () => {
    const writeOnly = new UnreliableBackend('socket', 'null');
    const postgres = new PostgresProviderTraceBackend({ db: rt.database.db });
    const manager = new TelemetryManager({ backends: [writeOnly, postgres], logger: silent });
    expect(manager.primary?.name).toBe('postgres');
    await manager.close();
    const none = new TelemetryManager({ backends: [new UnreliableBackend('socket', 'null')], logger: silent });
    await expect(none.readByStep(actor, newId('step'))).rejects.toBeInstanceOf(NotImplemented);
    await expect(none.readByStep(actor, newId('step'))).rejects.toThrow(/TELEMETRY_PROVIDER_TRACE_BACKEND=socket/);
    await none.close();
  });

  it("answers a backend's createNow on return, counted like any write, and isolates its throw", async () => {
    const postgres = new PostgresProviderTraceBackend({ db: rt.database.db });
    const now = Object.assign(new UnreliableBackend('socket', 'hang'), {
      nowCalls: 0,
      createNow(): null {
        now.nowCalls += 1;
        if (now.nowCalls === 2) throw new Error('queue exploded');
        return null;
      },
    });
    // create would hang (and time out after 100 ms): createNow is what the manager calls
    const manager = new TelemetryManager({ backends: [now, postgres], logger: silent, timeoutMs: 100 });
    expect(await manager.create(actor, input())).not.toBeNull();
    expect(await manager.create(actor, input())).not.toBeNull();
    await manager.close();
    expect([now.nowCalls, now.calls]).toEqual([2, 0]);
    const socket = manager.metrics.health(actor.organizationId)[0];
    expect(socket).toMatchObject({ backend: 'socket', writesOk: 1, writesFailed: 1, writesTimedOut: 0 });
    expect(socket?.latency.count).toBe(1);
  });

  it('rejects unknown keys such as organizationId, naming the key', async () => {
    const manager = new TelemetryManager({ backends: [], logger: silent });
    await expect(
      manager.create(actor, { ...input(), organizationId: 'org-x' } as unknown as ReturnType<typeof input>),
    ).rejects.toThrow(/organizationId/);
  });
});
