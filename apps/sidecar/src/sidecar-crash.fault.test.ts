/**
 * Fault suite, "sidecar killed mid-burst": a real sidecar process receives bursts of provider traces through the
 * socket backend behind a TelemetryManager (what the api runs), is killed with SIGKILL (several seeds: kill point
 * and restart delay) or stopped with SIGTERM in the middle, and restarted. What its files hold is compared with the
 * counters the api exports (`/metrics` text and `providerTraces.health`): every record missing must be counted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Actor, createLogger, newId } from '@runtrace/core';
import { SocketProviderTraceBackend, TelemetryManager, toProviderTrace } from '@runtrace/core/telemetry';
import { afterAll, describe, expect, it } from 'vitest';
import { type ChildSidecar, countById, spawnSidecar, until } from './test-helpers.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'runtrace-sidecar-fault-'));
const running = new Set<ChildSidecar>();
afterAll(() => {
  for (const c of running) c.process.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const SENT = 3_000;
const actor: Actor = { organizationId: newId('organization'), userId: newId('user') };
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: the kill point and restart delay of each run come from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `name{backend="socket"} value` from Prometheus text. */
function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{backend="socket"}`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

async function burstWithFault(run: number, fault: 'SIGKILL' | 'SIGTERM', faultAt: number, restartAfterMs: number) {
  const dir = path.join(root, `run${run}`);
  const env = {
    TELEMETRY_SOCKET: path.join(dir, 'telemetry.sock'),
    RUNTRACE_SIDECAR_DIR: path.join(dir, 'files'),
    RUNTRACE_SIDECAR_GZIP: '0',
  };
  const start = async () => {
    const child = await spawnSidecar(env);
    running.add(child);
    child.exited.then(() => running.delete(child));
    return child;
  };
  let sidecar = await start();
  const backend = new SocketProviderTraceBackend({
    socketPath: env.TELEMETRY_SOCKET,
    maxRecords: 100_000,
    backoffInitialMs: 20,
    backoffMaxMs: 200,
  });
  const manager = new TelemetryManager({ backends: [backend], logger: createLogger('silent') });
  const traces = Array.from({ length: SENT }, (_, i) =>
    toProviderTrace({
      requestJson: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: `${i} ${'x'.repeat(1500)}` }] },
      responseJson: { choices: [{ message: { role: 'assistant', content: 'ok' } }] },
      stepId: newId('step'),
    }),
  );
  let callerFailures = 0;
  let restarted: Promise<void> | null = null;
  for (let i = 0; i < SENT; i += 50) {
    const calls = traces.slice(i, i + 50).map((t) => manager.create(actor, t).catch(() => (callerFailures += 1)));
    await Promise.all(calls);
    if (!restarted && i + 50 > faultAt) {
      const old = sidecar;
      restarted = old.stop(fault).then(async () => {
        await pause(restartAfterMs);
        sidecar = await start();
      });
    }
    await pause(1);
  }
  await restarted;
  // delivery resumes by itself: wait until everything queued went out and every written record is proven or counted
  await until(() => backend.deliveryStats().queueDepth === 0 && backend.deliveryStats().unconfirmed === 0, 30_000);
  const text = await manager.metrics.metrics();
  const health = manager.metrics.health(actor.organizationId)[0];
  await manager.close();
  expect(await sidecar.stop('SIGTERM')).toBe(0);

  const counts = countById(env.RUNTRACE_SIDECAR_DIR);
  const written = traces.filter((t) => counts.has(t.id)).length;
  const lost = metric(text, 'runtrace_provider_trace_possibly_lost_total');
  const dropped = metric(text, 'runtrace_provider_trace_dropped_total');
  console.info(`${fault} after ${faultAt} of ${SENT} records, restarted ${restartAfterMs} ms after it exited`);
  console.log(
    `fault-table | sidecar ${fault === 'SIGKILL' ? 'killed' : 'SIGTERM restart'} mid-burst | sent ${SENT} | written ${written} | counted lost ${lost + dropped} | callers: ${callerFailures} failures`,
  );
  expect(callerFailures).toBe(0);
  expect(counts.size).toBe(written); // nothing but what was sent
  expect([...counts.values()].every((c) => c === 1)).toBe(true); // at most once
  return { written, lost, dropped, health };
}

describe('fault: sidecar killed mid-burst', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`SIGKILL (seed ${seed}): every record missing from the files is counted as possibly lost`, async () => {
      const next = random(seed);
      const faultAt = 300 + Math.floor(next() * 2_400);
      const run = await burstWithFault(seed, 'SIGKILL', faultAt, Math.floor(next() * 500));
      const { written, lost, dropped } = run;
      expect(written + lost + dropped).toBeGreaterThanOrEqual(SENT);
      expect(lost).toBeGreaterThanOrEqual(SENT - written);
      expect(run.health).toMatchObject({ possiblyLost: lost, dropped }); // one organization: its health is the total
    });
  }

  it('SIGTERM restart mid-burst: every record exactly once, nothing counted lost', async () => {
    const { written, lost, dropped } = await burstWithFault(10, 'SIGTERM', 1_500, 0);
    expect(written).toBe(SENT);
    expect(lost).toBe(0);
    expect(dropped).toBe(0);
  });
});
