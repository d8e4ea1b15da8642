/**
 * `runs.count` over HTTP: the caller organization's runs only, runs.list's filters, bad input answered BAD_REQUEST
 * naming the field (the count's bound itself is core's test: ten thousand runs are written there in one statement).
 */
import type { AddressInfo } from 'node:net';
import { newId } from '@runtrace/core';
import { createTestRuntime, type DatabaseTarget, databaseTargets, type TestRuntime } from '@runtrace/core/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from './server.ts';

describe.each(databaseTargets())('runs.count on $name', (target: DatabaseTarget) => {
  let rt: TestRuntime;
  let app: FastifyInstance;
  let url: string;
  let keyA: string;
  let keyB: string;

  const count = async (key: string, input: unknown) => {
    const res = await fetch(`${url}/trpc/runs.count?input=${encodeURIComponent(JSON.stringify(input))}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const body = (await res.json()) as { result?: { data: unknown }; error?: { data: Record<string, unknown> } };
    return { status: res.status, data: body.result?.data, error: body.error?.data };
  };

  beforeAll(async () => {
    rt = await createTestRuntime(target);
    app = await buildServer(rt);
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const a = await rt.auth.createOrganization('a');
    const b = await rt.auth.createOrganization('b');
    keyA = (await rt.auth.createApiKey(a.id, 'a')).key;
    keyB = (await rt.auth.createApiKey(b.id, 'b')).key;
    const actorA = { organizationId: a.id, userId: a.userId };
    const agentId = newId('agent');
    for (let i = 0; i < 3; i += 1)
      await rt.runs.create(actorA, { agentId, agentName: 'Helpdesk', background: i === 0 });
  });
  afterAll(async () => {
    await app?.close();
    await rt?.dispose();
  });

  it("counts the caller organization's runs that pass the filters", async () => {
    expect(await count(keyA, {})).toMatchObject({ status: 200, data: { count: 3, capped: false } });
    expect((await count(keyA, { background: true })).data).toEqual({ count: 1, capped: false });
    expect((await count(keyA, { agentNames: ['Helpdesk'], statuses: ['created'] })).data).toEqual({
      count: 3,
      capped: false,
    });
    expect((await count(keyB, {})).data).toEqual({ count: 0, capped: false });
    expect((await count(keyB, { agentNames: ['Helpdesk'] })).data).toEqual({ count: 0, capped: false });
  });

  it('answers bad input as BAD_REQUEST naming the field', async () => {
    for (const [field, input] of [
      ['search', { search: 'run-12' }],
      ['createdFrom', { createdFrom: 'today' }],
      ['models', { models: 'gpt-4o' }],
      ['statuses', { statuses: ['done'] }],
    ] as const) {
      const { status, error } = await count(keyA, input);
      expect(status, JSON.stringify(input)).toBe(400);
      expect(error).toMatchObject({ code: 'BAD_REQUEST' });
      expect(String(error?.field)).toMatch(new RegExp(`^${field}`));
    }
    const { status } = await count(keyA, { sortBy: 'cost' });
    expect(status).toBe(400);
  });
});
