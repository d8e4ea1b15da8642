/**
 * A throwaway 4th backend, all in this file: its class, its factory, and one line in a copy of the registry. The
 * contract suite runs it by name exactly as it runs the built-in ones, createBackends opens it beside them, and the
 * TelemetryManager takes its declared write timeout.
 */
import { describe, expect, it } from 'vitest';
import type { Actor } from '../../actor.ts';
import { ConfigError } from '../../config.ts';
import { newId } from '../../ids.ts';
import { createLogger } from '../../logger.ts';
import { providerTraceBackendContract } from '../backend.contract.ts';
import type { BackendFactory, BackendStats, OrganizationStats, ProviderTraceBackend } from '../backend.ts';
import { type BackendRegistry, providerTraceBackends } from '../backend-registry.ts';
import { createBackends, parseBackendNames } from '../factory.ts';
import type { ProviderTrace } from '../provider-trace.ts';
import { TelemetryManager } from '../telemetry-manager.ts';

/** The memory backend's destination: traces by id, with their organization. */
class MemoryStore {
  readonly rows = new Map<string, { organizationId: string; trace: ProviderTrace }>();
  /** Writes never finish (to see the declared timeout at work). */
  hang = false;

  of(actor: Actor): ProviderTrace[] {
    return [...this.rows.values()].filter((r) => r.organizationId === actor.organizationId).map((r) => r.trace);
  }
}

class MemoryProviderTraceBackend implements ProviderTraceBackend {
  readonly name = 'memory';
  constructor(readonly store: MemoryStore) {}

  create(actor: Actor, trace: ProviderTrace): Promise<ProviderTrace> {
    if (this.store.hang) return new Promise(() => {});
    this.enqueue(actor, trace);
    return Promise.resolve(trace);
  }
  enqueue(actor: Actor, trace: ProviderTrace): void {
    this.store.rows.set(trace.id, { organizationId: actor.organizationId, trace: structuredClone(trace) });
  }
  async readByStep(actor: Actor, stepId: string): Promise<ProviderTrace | null> {
    const traces = this.store.of(actor).filter((t) => t.stepId === stepId);
    return traces.sort((x, y) => y.createdAt.localeCompare(x.createdAt))[0] ?? null;
  }
  async listByRun(actor: Actor, runId: string, limit: number): Promise<ProviderTrace[]> {
    const traces = this.store.of(actor).filter((t) => t.runId === runId);
    return traces.sort((x, y) => x.createdAt.localeCompare(y.createdAt)).slice(0, limit);
  }
  async deleteByRun(actor: Actor, runId: string): Promise<void> {
    for (const t of this.store.of(actor)) if (t.runId === runId) this.store.rows.delete(t.id);
  }
  stats(): BackendStats {
    return { queueDepth: 0, queueBytes: 0, dropped: 0, reconnects: 0 };
  }
  statsFor(): OrganizationStats {
    return { dropped: 0, possiblyLost: 0 };
  }
  async close(): Promise<void> {}
}

const memoryBackend = {
  writeTimeoutMs: 50,
  open: (deps: { memory: MemoryStore }) => new MemoryProviderTraceBackend(deps.memory),
} satisfies BackendFactory<{ memory: MemoryStore }>;

// the one line a 4th backend adds
const registry = { ...providerTraceBackends, memory: memoryBackend } satisfies BackendRegistry;

const a: Actor = { organizationId: newId('organization'), userId: newId('user') };
const b: Actor = { organizationId: newId('organization'), userId: newId('user') };
const logger = createLogger('silent');

providerTraceBackendContract('memory', {
  registry,
  actors: () => ({ a, b }),
  create: async () => {
    const memory = new MemoryStore();
    return {
      deps: { memory },
      stored: async (actor, id) => {
        const row = memory.rows.get(id);
        return row && row.organizationId === actor.organizationId ? row.trace : null;
      },
      count: async (ids) => ids.filter((id) => memory.rows.has(id)).length,
      dispose: async () => {},
    };
  },
});

describe('a backend added to the registry', () => {
  it('is a valid name in TELEMETRY_PROVIDER_TRACE_BACKEND there, and only there', () => {
    expect(parseBackendNames(['postgres', 'memory'], registry)).toEqual(['postgres', 'memory']);
    expect(() => parseBackendNames(['memory'])).toThrow(ConfigError);
    expect(() => parseBackendNames(['memory'])).toThrow(
      /unknown backend "memory"; valid names: postgres, clickhouse, socket$/,
    );
    expect(() => parseBackendNames(['nope'], registry)).toThrow(/valid names: postgres, clickhouse, socket, memory$/);
  });

  it('opens beside the built-in backends, in configuration order', async () => {
    const memory = new MemoryStore();
    const config = { telemetrySocket: '/nonexistent/dir/telemetry.sock' };
    const backends = await createBackends(['socket', 'memory'], { logger, config, memory }, registry);
    try {
      expect(backends.map((backend) => backend.name)).toEqual(['socket', 'memory']);
      expect(backends[1]).toBeInstanceOf(MemoryProviderTraceBackend);
    } finally {
      await Promise.all(backends.map((backend) => backend.close()));
    }
  });

  it("times out after its own declared writeTimeoutMs in the TelemetryManager (not the others' 5000)", async () => {
    const memory = new MemoryStore();
    memory.hang = true;
    const backends = await createBackends(['memory'], { logger, memory }, registry);
    const manager = new TelemetryManager({ backends, logger, registry });
    const started = performance.now();
    expect(await manager.create(a, { requestJson: { q: 1 }, responseJson: { a: 1 } })).toBeNull();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(manager.metrics.totals()).toMatchObject([{ backend: 'memory', writesOk: 0, writesTimedOut: 1 }]);
    await manager.close();
  });
});
