/**
 * The deploy folders (`pnpm --filter <app> deploy --prod <dir>`) outside the repository, run as production runs them:
 * `node dist/main.js` with environment variables only — no tsx, no workspace, no dev dependencies.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createScratchDatabase, newId, testConfig } from '@runtrace/core/testing';
import { encodeRecord, toProviderTrace, toSocketRecord } from '@runtrace/core/telemetry';
import { readSinkLines, spawnSidecar } from '@runtrace/sidecar/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntraceClient } from './create-runtrace-client.ts';
import { spawnApi } from './testing/api-process.ts';
import { buildApiAndSidecar, deployFolder } from './testing/built.ts';

/** Building, deploying (pnpm copies ~700 MB, chdb included) and starting whole processes on a loaded 2-core machine. */
const SLOW = 300_000;

let root: string;
let apiDir: string;
let sidecarDir: string;

beforeAll(() => {
  buildApiAndSidecar();
  root = mkdtempSync(path.join(os.tmpdir(), 'runtrace-deploy-'));
  apiDir = path.join(root, 'api');
  sidecarDir = path.join(root, 'sidecar');
  deployFolder('@runtrace/api', apiDir);
  deployFolder('@runtrace/sidecar', sidecarDir);
}, SLOW);
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the api deploy folder', { timeout: SLOW }, () => {
  it('holds the build, the dashboard and production dependencies only', () => {
    expect(existsSync(path.join(apiDir, 'dist', 'main.js'))).toBe(true);
    expect(existsSync(path.join(apiDir, 'dist', 'cli.js'))).toBe(true);
    expect(existsSync(path.join(apiDir, 'dist', 'dashboard', 'index.html'))).toBe(true);
    expect(existsSync(path.join(apiDir, 'src'))).toBe(false);
    const core = path.join(apiDir, 'node_modules', '@runtrace', 'core');
    expect(existsSync(path.join(core, 'dist', 'db', 'migrations', 'meta', '_journal.json'))).toBe(true);
    expect(existsSync(path.join(core, 'src'))).toBe(false);
    for (const dev of ['tsx', 'vitest', 'typescript', '@runtrace/dashboard', '@runtrace/client']) {
      expect(existsSync(path.join(apiDir, 'node_modules', dev)), dev).toBe(false);
    }
  });

  const targets: { name: string; env: () => Promise<{ env: Record<string, string>; drop(): Promise<void> }> }[] = [
    {
      // chdb embedded too: the native ClickHouse library must be in the folder.
      name: 'PGlite and chdb in a data directory',
      env: async () => {
        const dataDir = mkdtempSync(path.join(os.tmpdir(), 'runtrace-deploy-data-'));
        return {
          env: { RUNTRACE_DATA_DIR: dataDir, CLICKHOUSE_URL: '' },
          drop: async () => rmSync(dataDir, { recursive: true, force: true }),
        };
      },
    },
  ];
  const serverUrl = testConfig.databaseUrl;
  if (serverUrl) {
    targets.push({
      name: 'DATABASE_URL',
      env: async () => {
        const scratch = await createScratchDatabase(serverUrl);
        return { env: { DATABASE_URL: scratch.url }, drop: () => scratch.drop() };
      },
    });
  }

  it.each(targets)('serves /healthz, tRPC, REST and the dashboard, and exits 0 on SIGTERM ($name)', async (target) => {
    const { env, drop } = await target.env();
    const api = await spawnApi(env, { builtDir: apiDir, startTimeoutMs: 120_000 });
    try {
      expect(await (await fetch(`${api.url}/healthz`)).json()).toMatchObject({ status: 'ok' });
      const client = createRuntraceClient({ url: api.url });
      const agentId = newId('agent');
      const run = await client.runs.create.mutate({ agentId });
      expect((await client.runs.retrieve.query({ runId: run.id })).agentId).toBe(agentId);
      const rest = await fetch(`${api.url}/v1/runs/${run.id}`);
      expect(rest.status).toBe(200);
      expect(await rest.json()).toMatchObject({ id: run.id, agent_id: agentId });
      const page = await fetch(`${api.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<title>Runtrace</title>');
    } finally {
      const code = await api.stop();
      await drop();
      expect(code, api.output()).toBe(0);
    }
  });
});

describe('the sidecar deploy folder', { timeout: SLOW }, () => {
  it('takes a socket record into its files and exits 0 on SIGTERM', async () => {
    expect(existsSync(path.join(sidecarDir, 'dist', 'file-writer.worker.mjs'))).toBe(true);
    expect(existsSync(path.join(sidecarDir, 'node_modules', 'tsx'))).toBe(false);
    const work = mkdtempSync(path.join(os.tmpdir(), 'runtrace-deploy-sidecar-'));
    const socketPath = path.join(work, 'telemetry.sock');
    const filesDir = path.join(work, 'files');
    try {
      const sidecar = await spawnSidecar(
        { TELEMETRY_SOCKET: socketPath, RUNTRACE_SIDECAR_DIR: filesDir },
        { builtDir: sidecarDir },
      );
      const trace = toProviderTrace({ requestJson: { model: 'm' }, responseJson: { ok: true }, stepId: newId('step') });
      await new Promise<void>((resolve, reject) => {
        const socket = createConnection(socketPath, () => socket.end(encodeRecord(toSocketRecord(trace)), resolve));
        socket.once('error', reject);
      });
      // Written on shutdown at the latest: SIGTERM drains what was received into the files.
      const code = await sidecar.stop('SIGTERM');
      expect(code, sidecar.output()).toBe(0);
      const ids = readSinkLines(filesDir, true).map(
        (line) => (JSON.parse(line) as { provider_trace_id: string }).provider_trace_id,
      );
      expect(ids).toEqual([trace.id]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
