/**
 * `agents.*`, runs.list's new inputs and `runs.count` over HTTP: scoped to the caller's organization (another's agent
 * is NOT_FOUND like an unknown one, another's runs are never counted), bad input answered BAD_REQUEST naming the field.
 */
import type { AddressInfo } from 'node:net';
import { newId } from '@runtrace/core';
import { createTestRuntime, type DatabaseTarget, databaseTargets, type TestRuntime } from '@runtrace/core/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from './server.ts';

describe.each(databaseTargets())('agents procedures and runs.list inputs on $name', (target: DatabaseTarget) => {
  let rt: TestRuntime;
  let app: FastifyInstance;
  let url: string;
  let keyA: string;
  let keyB: string;

  const call = async (key: string, type: 'query' | 'mutation', path: string, input: unknown) => {
    const res =
      type === 'query'
        ? await fetch(`${url}/trpc/${path}?input=${encodeURIComponent(JSON.stringify(input))}`, {
            headers: { authorization: `Bearer ${key}` },
          })
        : await fetch(`${url}/trpc/${path}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify(input),
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
  });
  afterAll(async () => {
    await app?.close();
    await rt?.dispose();
  });

  it("names, retrieves and renames the caller's agents; another organization's are NOT_FOUND", async () => {
    const agentId = newId('agent');
    const run = await call(keyA, 'mutation', 'runs.create', { agentId, agentName: 'Support bot' });
    expect(run.status).toBe(200);
    expect((await call(keyA, 'query', 'agents.retrieve', { agentId })).data).toMatchObject({ name: 'Support bot' });
    const renamed = await call(keyA, 'mutation', 'agents.update', { agentId, name: 'Helpdesk' });
    expect(renamed.data).toMatchObject({ id: agentId, name: 'Helpdesk' });
    const listed = await call(keyA, 'query', 'agents.list', { search: 'help' });
    expect((listed.data as { items: { id: string }[] }).items.map((a) => a.id)).toEqual([agentId]);
    for (const [type, path, input] of [
      ['query', 'agents.retrieve', { agentId }],
      ['mutation', 'agents.update', { agentId, name: 'mine' }],
      ['query', 'agents.retrieve', { agentId: newId('agent') }],
    ] as const) {
      const { status, error } = await call(keyB, type, path, input);
      expect(status).toBe(404);
      expect(error).toMatchObject({ code: 'NOT_FOUND', field: 'agentId' });
    }
    expect((await call(keyB, 'query', 'agents.list', { search: 'help' })).data).toEqual({
      items: [],
      nextCursor: null,
    });
    expect((await call(keyB, 'query', 'runs.list', { agentNames: ['Helpdesk'] })).data).toEqual({
      items: [],
      nextCursor: null,
    });
    const mine = await call(keyA, 'query', 'runs.list', { agentNames: ['Helpdesk'], sortBy: 'cost' });
    expect((mine.data as { items: { id: string }[] }).items.map((r) => r.id)).toEqual([
      (run.data as { id: string }).id,
    ]);
  });

  it('answers bad input as BAD_REQUEST naming the field', async () => {
    const cases: [string, 'query' | 'mutation', string, unknown][] = [
      ['search', 'query', 'runs.list', { search: 'run-12' }],
      ['search', 'query', 'runs.list', { search: 'agent-1234' }],
      ['sortBy', 'query', 'runs.list', { sortBy: 'price' }],
      ['createdFrom', 'query', 'runs.list', { createdFrom: 'today' }],
      ['createdTo', 'query', 'runs.list', { createdTo: 5 }],
      ['models', 'query', 'runs.list', { models: 'gpt-4o' }],
      ['agentNames', 'query', 'runs.list', { agentNames: [''] }],
      ['cursor', 'query', 'runs.list', { sortBy: 'cost', cursor: 'garbage' }],
      ['agentName', 'mutation', 'runs.create', { agentId: newId('agent'), agentName: '' }],
      ['agentId', 'query', 'agents.retrieve', { agentId: 'agent-x' }],
      ['name', 'mutation', 'agents.update', { agentId: newId('agent'), name: 'x'.repeat(257) }],
      ['name', 'mutation', 'agents.update', { agentId: newId('agent') }],
      ['search', 'query', 'agents.list', { search: '' }],
    ];
    for (const [field, type, path, input] of cases) {
      const { status, error } = await call(keyA, type, path, input);
      expect(status, `${path} ${JSON.stringify(input)}`).toBe(400);
      expect(error, `${path} ${JSON.stringify(input)}`).toMatchObject({ code: 'BAD_REQUEST' });
      expect(String(error?.field), `${path} ${JSON.stringify(input)}`).toMatch(new RegExp(`^${field}`));
    }
  });

  /** The bound itself is core's test: ten thousand runs are written there in one statement. */
  describe('runs.count', () => {
    let keyC: string;
    let keyD: string;
    const count = (key: string, input: unknown) => call(key, 'query', 'runs.count', input);

    beforeAll(async () => {
      const c = await rt.auth.createOrganization('c');
      const d = await rt.auth.createOrganization('d');
      keyC = (await rt.auth.createApiKey(c.id, 'c')).key;
      keyD = (await rt.auth.createApiKey(d.id, 'd')).key;
      const actorC = { organizationId: c.id, userId: c.userId };
      const agentId = newId('agent');
      for (let i = 0; i < 3; i += 1)
        await rt.runs.create(actorC, { agentId, agentName: 'Helpdesk', background: i === 0 });
    });

    it("counts the caller organization's runs that pass the filters", async () => {
      expect(await count(keyC, {})).toMatchObject({ status: 200, data: { count: 3, capped: false } });
      expect((await count(keyC, { background: true })).data).toEqual({ count: 1, capped: false });
      expect((await count(keyC, { agentNames: ['Helpdesk'], statuses: ['created'] })).data).toEqual({
        count: 3,
        capped: false,
      });
      expect((await count(keyD, {})).data).toEqual({ count: 0, capped: false });
      expect((await count(keyD, { agentNames: ['Helpdesk'] })).data).toEqual({ count: 0, capped: false });
    });

    it('answers bad input as BAD_REQUEST naming the field', async () => {
      for (const [field, input] of [
        ['search', { search: 'run-12' }],
        ['createdFrom', { createdFrom: 'today' }],
        ['models', { models: 'gpt-4o' }],
        ['statuses', { statuses: ['done'] }],
      ] as const) {
        const { status, error } = await count(keyC, input);
        expect(status, JSON.stringify(input)).toBe(400);
        expect(error).toMatchObject({ code: 'BAD_REQUEST' });
        expect(String(error?.field)).toMatch(new RegExp(`^${field}`));
      }
      const { status } = await count(keyC, { sortBy: 'cost' });
      expect(status).toBe(400);
    });
  });
});
