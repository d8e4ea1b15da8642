import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../actor.ts';
import { createTestRuntime, databaseTargets, newId, type TestRuntime } from '../testing/index.ts';
import { type CountRunsInput, type ListRunsInput, MAX_RUN_COUNT } from './schemas.ts';

describe.each(databaseTargets())('runs.count on $name', (target) => {
  let rt: TestRuntime;
  let actor: Actor;
  let other: Actor;
  let crowded: Actor;
  const agentA = newId('agent');
  const agentB = newId('agent');
  const runIds: string[] = [];

  beforeAll(async () => {
    rt = await createTestRuntime(target);
    const org = await rt.auth.createOrganization('count');
    actor = { organizationId: org.id, userId: org.userId };
    const otherOrg = await rt.auth.createOrganization('other');
    other = { organizationId: otherOrg.id, userId: otherOrg.userId };
    const crowdedOrg = await rt.auth.createOrganization('crowded');
    crowded = { organizationId: crowdedOrg.id, userId: crowdedOrg.userId };
    // Six runs over two agents, two models, a day apart; one failed.
    for (let i = 0; i < 6; i += 1) {
      const run = await rt.runs.create(actor, {
        agentId: i % 2 ? agentB : agentA,
        agentName: i % 2 ? 'beta' : 'alpha',
        background: i < 2,
      });
      runIds.push(run.id);
      await rt.database.db.execute(sql`
        update runs set created_at = ${`2026-01-0${i + 1}T00:00:00Z`}::timestamptz,
          model = ${i % 3 === 0 ? 'gpt-4o' : 'o3'}, status = ${i === 5 ? 'failed' : 'completed'}
        where id = ${run.id}`);
    }
    await rt.runs.create(other, { agentId: agentA, agentName: 'alpha' });
    // More runs than the count goes to, written in one statement (through the api they would take minutes).
    await rt.database.db.execute(sql`
      insert into runs (id, organization_id, agent_id, status, create_fingerprint, created_at, updated_at)
      select 'run-' || gen_random_uuid(), ${crowded.organizationId}, ${agentA}, 'completed', 'test', now(), now()
      from generate_series(1, ${MAX_RUN_COUNT + 5})`);
  });
  afterAll(async () => {
    await rt?.dispose();
  });

  /** Every run runs.list lists for the same filters, walked page by page. */
  const listed = async (input: ListRunsInput, who = actor) => {
    let total = 0;
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<TestRuntime['runs']['list']>> = await rt.runs.list(who, {
        ...input,
        limit: 1000,
        cursor,
      });
      total += page.items.length;
      cursor = page.nextCursor;
    } while (cursor);
    return total;
  };

  it('counts what runs.list lists, filter by filter, only in the organization', async () => {
    const cases: CountRunsInput[] = [
      {},
      { agentId: agentA },
      { statuses: ['failed'] },
      { statuses: ['failed', 'completed'] },
      { statuses: [] },
      { background: true },
      { models: ['gpt-4o'] },
      { models: ['o3'], agentNames: ['beta'] },
      { agentNames: ['nobody'] },
      { createdFrom: '2026-01-02T00:00:00Z', createdTo: '2026-01-04T00:00:00Z' },
      { search: (runIds[3] as string).toUpperCase().replace('RUN-', 'run-') },
      { search: 'run-____' },
      { active: true },
    ];
    const counts: number[] = [];
    for (const input of cases) {
      const count = await rt.runs.count(actor, input);
      expect(count, JSON.stringify(input)).toEqual({ count: await listed(input), capped: false });
      counts.push(count.count);
    }
    // The reference itself: the filters narrow as the fixture says.
    expect(counts).toEqual([6, 3, 1, 6, 0, 2, 2, 2, 0, 2, 1, 0, 0]);
    expect(await rt.runs.count(other, {})).toEqual({ count: 1, capped: false });
    expect(await rt.runs.count(other, { search: runIds[0] })).toEqual({ count: 0, capped: false });
  });

  it(`stops at ${MAX_RUN_COUNT} and says there are more`, async () => {
    expect(await rt.runs.count(crowded, {})).toEqual({ count: MAX_RUN_COUNT, capped: true });
    expect(await rt.runs.count(crowded, { agentId: agentB })).toEqual({ count: 0, capped: false });
  });

  it('refuses what runs.list refuses, and the list-only fields', async () => {
    const fieldOf = async (input: Record<string, unknown>) => {
      const err = await rt.runs.count(actor, input as CountRunsInput).catch((e: unknown) => e);
      const issue = (err as { issues?: { path: PropertyKey[]; keys?: string[] }[] }).issues?.[0];
      // An unknown key is the object's issue (empty path), naming the key.
      return issue?.path.join('.') || issue?.keys?.join(',');
    };
    expect(await fieldOf({ search: 'run-abc' })).toBe('search');
    expect(await fieldOf({ createdFrom: 'yesterday' })).toBe('createdFrom');
    expect(await fieldOf({ models: [''] })).toBe('models.0');
    expect(await fieldOf({ sortBy: 'cost' })).toBe('sortBy');
    expect(await fieldOf({ limit: 5 })).toBe('limit');
  });
});
