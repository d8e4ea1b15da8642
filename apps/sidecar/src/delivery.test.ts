/**
 * The socket backend (@runtrace/core) against the real sidecar as a child process (`node --import tsx src/main.ts`,
 * what `pnpm sidecar` runs): graceful restarts with SIGTERM in the middle of a burst, overflow while it is down,
 * a SIGKILL crash, and the stop itself.
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Actor, newId } from '@runtrace/core';
import { SocketProviderTraceBackend, toProviderTrace } from '@runtrace/core/telemetry';
import { afterAll, describe, expect, it } from 'vitest';
import { type ChildSidecar, countById, failingSidecar, scrape, spawnSidecar, until } from './test-helpers.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'runtrace-delivery-'));
const running = new Set<ChildSidecar>();
afterAll(async () => {
  for (const c of running) c.process.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const actor: Actor = { organizationId: newId('organization'), userId: newId('user') };
let n = 0;
function place() {
  const dir = path.join(root, `case${++n}`);
  return { socketPath: path.join(dir, 'telemetry.sock'), dir: path.join(dir, 'files') };
}

async function sidecarAt(where: { socketPath: string; dir: string }, env: Record<string, string> = {}) {
  const child = await spawnSidecar({
    TELEMETRY_SOCKET: where.socketPath,
    RUNTRACE_SIDECAR_DIR: where.dir,
    RUNTRACE_SIDECAR_GZIP: '0',
    RUNTRACE_SHUTDOWN_TIMEOUT_MS: '10000',
    ...env,
  });
  running.add(child);
  child.exited.then(() => running.delete(child));
  return child;
}

const payload = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(600) }] };
function traces(count: number) {
  return Array.from({ length: count }, (_, i) =>
    toProviderTrace({ requestJson: { ...payload, i }, responseJson: { ok: true }, stepId: newId('step') }),
  );
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('socket backend → sidecar child process', () => {
  it('delivers every record of a burst exactly once across a SIGTERM restart in its middle', async () => {
    const where = place();
    let sidecar = await sidecarAt(where);
    const backend = new SocketProviderTraceBackend({
      socketPath: where.socketPath,
      maxRecords: 100_000,
      backoffInitialMs: 20,
      backoffMaxMs: 200,
      closeTimeoutMs: 30_000,
    });
    const all = traces(30_000);
    let restarted: Promise<void> | null = null;
    let queuedWhileAway = 0;
    for (let i = 0; i < all.length; i += 100) {
      for (const t of all.slice(i, i + 100)) backend.enqueue(actor, t);
      if (restarted) queuedWhileAway = Math.max(queuedWhileAway, backend.stats().queueDepth);
      if (i === 6_000) {
        // the sidecar goes away mid-burst and a new one comes up; the burst goes on meanwhile
        const old = sidecar;
        restarted = old.stop('SIGTERM').then(async (code) => {
          expect(code).toBe(0);
          sidecar = await sidecarAt(where);
        });
      }
      await pause(2);
    }
    await restarted;
    await backend.close();
    expect(await sidecar.stop('SIGTERM')).toBe(0);
    const counts = countById(where.dir);
    const stats = backend.deliveryStats();
    expect(stats).toMatchObject({ accepted: 30_000, written: 30_000, dropped: 0, possiblyLost: 0, queueDepth: 0 });
    expect(stats.reconnects).toBeGreaterThanOrEqual(1);
    expect(queuedWhileAway).toBeGreaterThan(1_000); // the burst really went on while no sidecar listened
    expect(counts.size).toBe(all.length);
    expect(all.every((t) => counts.get(t.id) === 1)).toBe(true);
  });

  it('drops the oldest beyond the queue bound while the sidecar is down, counting every drop exactly', async () => {
    const where = place();
    const backend = new SocketProviderTraceBackend({
      socketPath: where.socketPath,
      maxRecords: 500,
      backoffMaxMs: 100,
    });
    const all = traces(2_000);
    for (const t of all) backend.enqueue(actor, t);
    expect(backend.stats()).toMatchObject({ queueDepth: 500, dropped: 1_500 });
    const sidecar = await sidecarAt(where);
    await backend.close();
    expect(await sidecar.stop()).toBe(0);
    const counts = countById(where.dir);
    expect([...counts.keys()]).toEqual(all.slice(1_500).map((t) => t.id));
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    expect(backend.stats().dropped).toBe(1_500);
  });

  it('counts exactly what overflowed during a restart mid-burst: delivered + dropped = sent, no duplicates', async () => {
    const where = place();
    let sidecar = await sidecarAt(where);
    const backend = new SocketProviderTraceBackend({
      socketPath: where.socketPath,
      maxRecords: 1_000,
      backoffInitialMs: 20,
      backoffMaxMs: 200,
      closeTimeoutMs: 30_000,
    });
    const all = traces(12_000);
    let restarted: Promise<void> | null = null;
    for (let i = 0; i < all.length; i += 200) {
      for (const t of all.slice(i, i + 200)) backend.enqueue(actor, t);
      if (i === 2_000) {
        restarted = sidecar.stop('SIGTERM').then(async (code) => {
          expect(code).toBe(0);
          sidecar = await sidecarAt(where);
        });
      }
      await pause(2);
    }
    await restarted;
    await backend.close();
    expect(await sidecar.stop()).toBe(0);
    const counts = countById(where.dir);
    const stats = backend.deliveryStats();
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    expect(stats.dropped).toBeGreaterThan(0); // the restart takes far longer than 1,000 records
    expect(counts.size + stats.dropped).toBe(all.length);
    expect(stats.possiblyLost).toBe(0);
  });

  it('after a SIGKILL crash, delivers at most once and says how many may be lost', async () => {
    const where = place();
    let sidecar = await sidecarAt(where);
    const backend = new SocketProviderTraceBackend({
      socketPath: where.socketPath,
      maxRecords: 100_000,
      backoffInitialMs: 20,
      backoffMaxMs: 200,
      closeTimeoutMs: 30_000,
    });
    const all = traces(20_000);
    let restarted: Promise<void> | null = null;
    for (let i = 0; i < all.length; i += 100) {
      for (const t of all.slice(i, i + 100)) backend.enqueue(actor, t);
      if (i === 8_000) {
        restarted = sidecar.stop('SIGKILL').then(async (code) => {
          expect(code).toBeNull();
          sidecar = await sidecarAt(where);
        });
      }
      await pause(1);
    }
    await restarted;
    await backend.close();
    const log = sidecar.output();
    expect(await sidecar.stop()).toBe(0);
    const counts = countById(where.dir);
    const stats = backend.deliveryStats();
    expect([...counts.values()].every((c) => c === 1)).toBe(true); // at most once
    const missing = all.length - counts.size;
    expect(stats.dropped).toBe(0);
    expect(missing).toBeLessThanOrEqual(stats.possiblyLost);
    console.info(
      `SIGKILL mid-burst: ${missing} of ${all.length} records missing; possiblyLost said ${stats.possiblyLost}`,
    );
    expect(stats.accepted).toBe(all.length);
    expect(stats.written + stats.writeFailed).toBe(all.length);
    // the crashed sidecar's unfinished file was completed by the next one, and nothing is left half-written
    expect(readdirSync(where.dir).filter((f) => f.endsWith('.part'))).toEqual([]);
    expect(log).toMatch(/completed files left by a sidecar that did not stop cleanly/);
  });

  it('on SIGTERM: removes its socket, flushes its files, exits 0; its socket is 0600; /metrics counts', async () => {
    const where = place();
    const sidecar = await sidecarAt(where);
    expect(statSync(where.socketPath).mode & 0o777).toBe(0o600);
    const backend = new SocketProviderTraceBackend({ socketPath: where.socketPath });
    const all = traces(1_000);
    for (const t of all) backend.enqueue(actor, t);
    await until(
      async () => (await scrape(sidecar.metricsPort)).get('runtrace_sidecar_records_accepted_total') === 1_000,
    );
    const metrics = await scrape(sidecar.metricsPort);
    expect(metrics.get('runtrace_sidecar_connections_active')).toBeLessThanOrEqual(1); // one connection at a time
    // the checkpoint at the burst's end (the idle queue), and the connection proving it
    expect(metrics.get('runtrace_sidecar_connections_total')).toBeLessThanOrEqual(2);
    // SIGTERM while the client still holds its connection open: the sidecar says goodbye, the client ends
    expect(await sidecar.stop('SIGTERM')).toBe(0);
    expect(() => statSync(where.socketPath)).toThrow();
    const counts = countById(where.dir);
    expect(counts.size).toBe(1_000);
    expect(readdirSync(where.dir).filter((f) => f.endsWith('.part'))).toEqual([]);
    await backend.close();
    expect(backend.deliveryStats()).toMatchObject({ possiblyLost: 0, dropped: 0 });
  });

  it('refuses to start, exit 1, naming TELEMETRY_SOCKET, when the socket directory cannot be created', async () => {
    const where = place();
    const blocker = path.join(root, `blocker${n}`);
    writeFileSync(blocker, '');
    const { code, output } = await failingSidecar({
      TELEMETRY_SOCKET: path.join(blocker, 'run', 'telemetry.sock'),
      RUNTRACE_SIDECAR_DIR: where.dir,
    });
    expect(code).toBe(1);
    expect(output).toMatch(/socket directory .*blocker.* does not exist and cannot be created/);
    expect(output).toMatch(/TELEMETRY_SOCKET/);
  });
});
