import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { inheritedEnvironment } from '@runtrace/core/config';
import { afterAll, describe, expect, it } from 'vitest';

const apiDir = fileURLToPath(new URL('..', import.meta.url));
const tsx = path.join(apiDir, 'node_modules', '.bin', 'tsx');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'runtrace-main-'));
const env = {
  ...inheritedEnvironment(),
  RUNTRACE_DATA_DIR: dataDir,
  DATABASE_URL: '',
  LOG_LEVEL: 'info',
  NODE_ENV: 'production',
  // a free port: test files run side by side, and 4317 may be another api's
  RUNTRACE_OTLP_GRPC_PORT: '0',
};
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
/** Each case starts whole processes (tsx, PGlite, chdb): generous on a loaded 2-core machine. */
const SPAWN_TIMEOUT = 180_000;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Start-up here is not a budget (the bench measures it): the wait only bounds a hang. Its default leaves both rounds of
 * the first case inside SPAWN_TIMEOUT on a loaded machine, where a PGlite start took 25 s. A child that never answers
 * is killed, so that it does not keep the PGlite directory locked for the cases after it.
 */
async function waitForHealth(url: string, child: ChildProcess, ms = 80_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < ms) {
    if (child.exitCode !== null) throw new Error(`api exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) return Date.now() - started;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`api never answered /healthz within ${ms} ms`);
}

describe('the main job (embedded PGlite)', { timeout: SPAWN_TIMEOUT }, () => {
  it('serves /healthz and tRPC, logs where it listens, keeps data across restarts, and exits 0 on SIGTERM', async () => {
    let runId = '';
    for (const round of [1, 2]) {
      const port = await freePort();
      const child = spawn(tsx, ['src/main.ts'], { cwd: apiDir, env: { ...env, PORT: String(port) } });
      let output = '';
      child.stdout.on('data', (d) => {
        output += d;
      });
      child.stderr.on('data', (d) => {
        output += d;
      });
      const url = `http://127.0.0.1:${port}`;
      await waitForHealth(url, child);
      // the log line may reach us after /healthz answers (a loaded machine): wait for it a moment
      for (let i = 0; i < 100 && !output.includes('listening on'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(output).toContain(`listening on ${url}`);
      // the OTLP/gRPC receiver, on a port of its own (free: RUNTRACE_OTLP_GRPC_PORT=0), says where it listens
      const grpcPort = Number(/OTLP\/gRPC traces on port (\d+)/.exec(output)?.[1]);
      expect(grpcPort).toBeGreaterThan(0);
      expect(grpcPort).not.toBe(port);
      await new Promise<void>((resolve, reject) =>
        net
          .connect(grpcPort, '127.0.0.1')
          .once('connect', function (this: net.Socket) {
            this.destroy();
            resolve();
          })
          .once('error', reject),
      );
      if (round === 1) {
        const res = await fetch(`${url}/trpc/runs.create`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ agentId: 'agent-00000000-0000-4000-8000-00000000000a' }),
        });
        runId = ((await res.json()) as { result: { data: { id: string } } }).result.data.id;
        expect(runId).toMatch(/^run-/);
      } else {
        const input = encodeURIComponent(JSON.stringify({ runId }));
        const res = await fetch(`${url}/trpc/runs.retrieve?input=${input}`);
        expect(res.status).toBe(200);
      }
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).toContain('stopped');
      expect(output).not.toMatch(/Bearer|rt_[A-Za-z0-9_-]{20,}/);
    }
  });

  it('refuses to start on a bad configuration, naming the variable', async () => {
    const child = spawn(tsx, ['src/main.ts'], { cwd: apiDir, env: { ...env, PORT: 'eighty' } });
    let output = '';
    child.stderr.on('data', (d) => {
      output += d;
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).not.toBe(0);
    expect(output).toMatch(/PORT/);
    const grpc = spawn(tsx, ['src/main.ts'], { cwd: apiDir, env: { ...env, RUNTRACE_OTLP_GRPC_PORT: 'grpc' } });
    let grpcOutput = '';
    grpc.stderr.on('data', (d) => {
      grpcOutput += d;
    });
    expect(await new Promise<number | null>((resolve) => grpc.on('exit', (c) => resolve(c)))).not.toBe(0);
    expect(grpcOutput).toMatch(/RUNTRACE_OTLP_GRPC_PORT: must be a port \(0 to 65535; 0 picks a free one\) or off/);
  });
});

describe('the admin CLI', { timeout: SPAWN_TIMEOUT }, () => {
  const run = async (...args: string[]) => {
    const { stdout } = await promisify(execFile)(tsx, ['src/cli.ts', ...args, '--json'], { cwd: apiDir, env });
    return JSON.parse(stdout);
  };

  it('creates organizations and keys, lists keys without their secret, and revokes them', async () => {
    const org = await run('orgs', 'create', 'acme');
    expect(org.id).toMatch(/^org-/);
    const key = await run('keys', 'create', '--org', org.id, '--name', 'ingest');
    expect(key.key).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
    const keys = await run('keys', 'list', '--org', org.id);
    expect(keys).toHaveLength(1);
    expect(JSON.stringify(keys)).not.toContain(key.key);
    expect(keys[0]).toMatchObject({ id: key.id, name: 'ingest', revokedAt: null });
    const revoked = await run('keys', 'revoke', key.id);
    expect(revoked.revokedAt).not.toBeNull();
    const orgs = await run('orgs', 'list');
    expect(orgs.map((o: { name: string }) => o.name)).toEqual(expect.arrayContaining(['default', 'acme']));
  });

  it('exits non-zero with a clear message on a bad id or unknown command', async () => {
    await expect(run('keys', 'revoke', 'apikey-x')).rejects.toMatchObject({
      stderr: expect.stringContaining('Invalid API key ID format'),
    });
    await expect(run('nope', 'nothing')).rejects.toMatchObject({ stderr: expect.stringContaining('unknown command') });
  });
});
