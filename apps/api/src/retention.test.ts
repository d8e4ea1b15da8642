/**
 * `retention.get`/`retention.set` over HTTP: scoped to the caller's organization, bad input answered BAD_REQUEST
 * naming the field, and the job's counters on /metrics.
 */
import type { AddressInfo } from 'node:net';
import { createTestRuntime, type DatabaseTarget, databaseTargets, type TestRuntime } from '@runtrace/core/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from './server.ts';
import { scratchCli } from './test-cli.ts';

describe.each(databaseTargets())('retention procedures on $name', (target: DatabaseTarget) => {
  let rt: TestRuntime;
  let app: FastifyInstance;
  let url: string;
  let keyA: string;
  let keyB: string;
  let orgA: string;
  let orgB: string;

  const call = async (key: string, path: string, input?: unknown) => {
    const res = await fetch(`${url}/trpc/${path}`, {
      method: input === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: input === undefined ? undefined : JSON.stringify(input),
    });
    const body = (await res.json()) as { result?: { data: unknown }; error?: { data: Record<string, unknown> } };
    return { status: res.status, data: body.result?.data, error: body.error?.data };
  };

  beforeAll(async () => {
    rt = await createTestRuntime(target, {
      RUNTRACE_RETENTION_DAYS: '30',
      RUNTRACE_RETENTION_INTERVAL_MS: '3600000',
    });
    app = await buildServer(rt);
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const a = await rt.auth.createOrganization('a');
    const b = await rt.auth.createOrganization('b');
    orgA = a.id;
    orgB = b.id;
    keyA = (await rt.auth.createApiKey(a.id, 'a')).key;
    keyB = (await rt.auth.createApiKey(b.id, 'b')).key;
  });
  afterAll(async () => {
    await app?.close();
    await rt?.dispose();
  });

  it("sets and reads the caller's organization's retention, never another's", async () => {
    expect((await call(keyA, 'retention.get')).data).toEqual({
      organizationId: orgA,
      override: null,
      defaultDays: 30,
      effectiveDays: 30,
    });
    expect((await call(keyA, 'retention.set', { days: 7 })).data).toMatchObject({ organizationId: orgA, override: 7 });
    expect((await call(keyB, 'retention.set', { days: 'off' })).data).toMatchObject({
      organizationId: orgB,
      effectiveDays: 'off',
    });
    expect((await call(keyA, 'retention.get')).data).toMatchObject({ override: 7, effectiveDays: 7 });
    expect((await rt.retention.getFor(orgB)).override).toBe('off');
    expect((await call(keyA, 'retention.set', { days: null })).data).toMatchObject({
      override: null,
      effectiveDays: 30,
    });
  });

  it('answers bad days as BAD_REQUEST naming the field, changing nothing', async () => {
    await call(keyA, 'retention.set', { days: 9 });
    for (const input of [{ days: 0 }, { days: -3 }, { days: 2.5 }, { days: 'forever' }, { days: 36_501 }, {}]) {
      const { status, error } = await call(keyA, 'retention.set', input);
      expect(status).toBe(400);
      expect(error).toMatchObject({ code: 'BAD_REQUEST', field: 'days' });
    }
    expect((await rt.retention.getFor(orgA)).override).toBe(9);
  });

  it('refuses a caller without a valid key', async () => {
    expect((await call('rt_not-a-key', 'retention.get')).status).toBe(401);
  });

  it("serves the job's metrics on /metrics", async () => {
    expect((await rt.retentionJob.runOnce()).locked).toBe(true);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^runtrace_retention_last_run_timestamp_seconds \d+/m);
    expect(metrics).toMatch(/^runtrace_retention_last_run_duration_seconds \d/m);
    expect(metrics).toContain('# TYPE runtrace_retention_deleted_total counter');
  });
});

describe('pnpm runtrace retention (the CLI, on PGlite)', () => {
  const { run: cli, remove } = scratchCli('retention', { RUNTRACE_RETENTION_DAYS: '30' });
  afterAll(remove);
  const org = 'org-00000000-0000-4000-8000-000000000000';

  it('sets, shows and resets an organization’s override; refuses bad days and unknown organizations', async () => {
    const set = await cli('retention', 'set', '--org', org, '--days', '12', '--json');
    expect(JSON.parse(set.stdout)).toEqual({ organizationId: org, override: 12, defaultDays: 30, effectiveDays: 12 });
    const shown = await cli('retention', 'show', '--json');
    expect(JSON.parse(shown.stdout)).toEqual([expect.objectContaining({ organizationId: org, override: 12 })]);
    const bad = await cli('retention', 'set', '--org', org, '--days', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--days must be a whole number of days');
    const unknown = await cli('retention', 'set', '--org', 'org-nope', '--days', 'off');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Organization org-nope not found');
    const reset = await cli('retention', 'set', '--org', org, '--days', 'default');
    expect(reset.stdout).toContain(`${org}  keeps 30 days  (default: 30)`);
  }, 120_000);
});
