import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../actor.ts';
import { NotFound } from '../errors.ts';
import { createTestRuntime, databaseTargets, newId, type TestRuntime } from '../testing/index.ts';

describe.each(databaseTargets())('agents: names, list, retrieve, update on $name', (target) => {
  let rt: TestRuntime;
  let actor: Actor;
  let other: Actor;

  beforeAll(async () => {
    rt = await createTestRuntime(target);
    actor = await rt.auth.ensureDefaultActor();
    const org = await rt.auth.createOrganization('other');
    other = { organizationId: org.id, userId: org.userId };
  });
  afterAll(async () => {
    await rt?.dispose();
  });

  const nameOf = async (agentId: string) => (await rt.agents.retrieve(actor, { agentId })).name;

  it('names a new agent from agentName, else metadata agent_name, else metadata agentName', async () => {
    const a = newId('agent');
    await rt.runs.create(actor, { agentId: a, agentName: 'Support bot', metadata: { agent_name: 'ignored' } });
    expect(await nameOf(a)).toBe('Support bot');
    const b = newId('agent');
    await rt.runs.create(actor, { agentId: b, metadata: { agent_name: 'snake', agentName: 'camel' } });
    expect(await nameOf(b)).toBe('snake');
    const c = newId('agent');
    await rt.runs.create(actor, { agentId: c, metadata: { agentName: 'camel' } });
    expect(await nameOf(c)).toBe('camel');
  });

  it('ignores metadata names that are not strings of 1..256 characters', async () => {
    for (const value of [42, '', 'x'.repeat(257), null, { name: 'x' }]) {
      const agentId = newId('agent');
      await rt.runs.create(actor, { agentId, metadata: { agent_name: value } });
      expect(await nameOf(agentId)).toBeNull();
    }
    const agentId = newId('agent');
    await rt.runs.create(actor, { agentId, metadata: { agent_name: 7, agentName: 'fallback' } });
    expect(await nameOf(agentId)).toBe('fallback');
  });

  it('names an unnamed agent on a later run but never overwrites a name', async () => {
    const agentId = newId('agent');
    await rt.runs.create(actor, { agentId });
    expect(await nameOf(agentId)).toBeNull();
    await rt.runs.create(actor, { agentId, agentName: 'first' });
    expect(await nameOf(agentId)).toBe('first');
    await rt.runs.create(actor, { agentId, agentName: 'second' });
    await rt.runs.create(actor, { agentId, metadata: { agent_name: 'third' } });
    expect(await nameOf(agentId)).toBe('first');
  });

  it('update renames or clears (null), after which a run names it again', async () => {
    const agentId = newId('agent');
    await rt.runs.create(actor, { agentId, agentName: 'old' });
    expect(await rt.agents.update(actor, { agentId, name: 'new' })).toMatchObject({ id: agentId, name: 'new' });
    expect(await nameOf(agentId)).toBe('new');
    await rt.runs.create(actor, { agentId, agentName: 'run name' });
    expect(await nameOf(agentId)).toBe('new');
    expect((await rt.agents.update(actor, { agentId, name: null })).name).toBeNull();
    await rt.runs.create(actor, { agentId, agentName: 'run name' });
    expect(await nameOf(agentId)).toBe('run name');
  });

  it('answers NotFound for unknown and other organizations’ agents, and never changes theirs', async () => {
    const agentId = newId('agent');
    await rt.runs.create(other, { agentId, agentName: 'theirs' });
    await expect(rt.agents.retrieve(actor, { agentId })).rejects.toBeInstanceOf(NotFound);
    await expect(rt.agents.update(actor, { agentId, name: 'mine' })).rejects.toBeInstanceOf(NotFound);
    await expect(rt.agents.retrieve(actor, { agentId: newId('agent') })).rejects.toBeInstanceOf(NotFound);
    await expect(rt.agents.update(actor, { agentId: newId('agent'), name: null })).rejects.toBeInstanceOf(NotFound);
    expect((await rt.agents.retrieve(other, { agentId })).name).toBe('theirs');
    // The same agent id in this organization is its own agent, with its own name.
    await rt.runs.create(actor, { agentId, agentName: 'ours' });
    expect(await nameOf(agentId)).toBe('ours');
    expect((await rt.agents.retrieve(other, { agentId })).name).toBe('theirs');
  });

  it('refuses bad input naming the field', async () => {
    const pathOf = async (run: () => Promise<unknown>) => {
      const err = (await run().catch((e: unknown) => e)) as { issues?: { path: PropertyKey[] }[] };
      return err.issues?.[0]?.path.join('.');
    };
    expect(await pathOf(() => rt.agents.retrieve(actor, { agentId: 'agent-1' }))).toBe('agentId');
    expect(await pathOf(() => rt.agents.update(actor, { agentId: newId('agent'), name: '' }))).toBe('name');
    expect(await pathOf(() => rt.agents.update(actor, { agentId: newId('agent'), name: 'x'.repeat(257) }))).toBe(
      'name',
    );
    expect(await pathOf(() => rt.agents.list(actor, { search: '' }))).toBe('search');
    expect(await pathOf(() => rt.runs.create(actor, { agentId: newId('agent'), agentName: '' }))).toBe('agentName');
  });

  it('lists names, searches by name prefix ignoring case, and pages', async () => {
    const made: string[] = [];
    for (const name of ['Searchable One', 'searchable two', 'SEARCHABLE three', 'search%able']) {
      const agentId = newId('agent');
      made.push(agentId);
      await rt.runs.create(actor, { agentId, agentName: name });
    }
    await rt.runs.create(other, { agentId: newId('agent'), agentName: 'Searchable foreign' });
    const found = await rt.agents.list(actor, { search: 'searchABLE', order: 'asc' });
    expect(found.items.map((a) => a.name)).toEqual(['Searchable One', 'searchable two', 'SEARCHABLE three']);
    expect((await rt.agents.list(actor, { search: 'search%' })).items.map((a) => a.name)).toEqual(['search%able']);
    expect((await rt.agents.list(actor, { search: 'searchable t', order: 'asc' })).items.map((a) => a.id)).toEqual([
      made[1],
      made[2],
    ]);
    const walked: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<TestRuntime['agents']['list']>> = await rt.agents.list(actor, {
        search: 'search',
        limit: 1,
        cursor,
      });
      walked.push(...page.items.map((a) => a.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(walked).toEqual([...made].reverse());
    const all = await rt.agents.list(actor, { limit: 1000 });
    expect(all.items.find((a) => a.id === made[0])).toMatchObject({ name: 'Searchable One', lastStopReason: null });
  });
});
