import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, DEFAULT_ACTOR } from '../actor.ts';
import { connectDatabase, type Database, rowsOf } from '../db/connect.ts';
import { migrate } from '../db/migrate.ts';
import { InvalidArgument } from '../errors.ts';
import { encodeCursor } from '../pagination.ts';
import { createTestRuntime, databaseTargets, newId, type TestRuntime } from '../testing/index.ts';
import { listRuns } from './list-runs.ts';
import { type ListRunsInput, listRunsInput, type Run } from './schemas.ts';

/** What the test sets on a run with direct UPDATEs (steps.create keeps these columns in production). */
interface Totals {
  createdAt: string;
  runNs?: bigint | null;
  totalDurationNs?: bigint | null;
  costPusd?: bigint | null;
  totalTokens?: number;
  model?: string | null;
}

describe.each(databaseTargets())('runs.list sorts, ranges and searches on $name', (target) => {
  let rt: TestRuntime;
  let actor: Actor;
  let other: Actor;
  let agentA: string;
  let agentB: string;
  /** Fixture name → run id; `foreign` is the other organization's run. */
  const ids: Record<string, string> = {};
  const names = (items: Run[]) => {
    const byId = Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));
    return items.map((r) => byId[r.id] ?? r.id);
  };

  const setTotals = async (runId: string, t: Totals) => {
    await rt.database.db.execute(sql`
      update runs set created_at = ${t.createdAt}::timestamptz, run_ns = ${t.runNs?.toString() ?? null}::bigint,
        total_duration_ns = ${t.totalDurationNs?.toString() ?? null}::bigint,
        cost_pusd = ${t.costPusd?.toString() ?? null}::bigint, total_tokens = ${t.totalTokens ?? 0},
        model = ${t.model ?? null}
      where id = ${runId}`);
  };

  // Ties on every sort key, nulls in cost and duration, and equal timestamps.
  const fixture: Record<string, Totals & { agent: 'A' | 'B' }> = {
    r1: { agent: 'A', createdAt: '2026-01-01T00:00:00Z', runNs: 5n, costPusd: 100n, totalTokens: 10, model: 'gpt-4o' },
    r2: { agent: 'A', createdAt: '2026-01-01T00:00:00Z', runNs: 5n, costPusd: 100n, totalTokens: 10, model: 'o3' },
    r3: { agent: 'A', createdAt: '2026-01-01T12:00:00Z', totalDurationNs: 7n, costPusd: null, totalTokens: 30 },
    r4: {
      agent: 'B',
      createdAt: '2026-01-02T00:00:00Z',
      runNs: 9_000_000_000_000_000_000n,
      costPusd: 9_000_000_000_000_000_000n,
      totalTokens: 10,
      model: 'gpt-4o',
    },
    r5: { agent: 'B', createdAt: '2026-01-02T00:00:00.000001Z', costPusd: null, totalTokens: 0, model: 'o3' },
    r6: { agent: 'B', createdAt: '2026-01-03T00:00:00Z', runNs: 1n, costPusd: 0n, totalTokens: 30 },
  };

  beforeAll(async () => {
    rt = await createTestRuntime(target);
    actor = await rt.auth.ensureDefaultActor();
    const org = await rt.auth.createOrganization('other');
    other = { organizationId: org.id, userId: org.userId };
    agentA = newId('agent');
    agentB = newId('agent');
    for (const [name, t] of Object.entries(fixture)) {
      const agentId = t.agent === 'A' ? agentA : agentB;
      const run = await rt.runs.create(actor, { agentId, agentName: t.agent === 'A' ? 'alpha%' : 'beta' });
      ids[name] = run.id;
      await setTotals(run.id, t);
    }
    // Another organization's run with the same agent names and model: never listed.
    const foreign = await rt.runs.create(other, { agentId: newId('agent'), agentName: 'alpha%' });
    ids.foreign = foreign.id;
    await setTotals(foreign.id, { createdAt: '2026-01-01T00:00:00Z', costPusd: 1n, model: 'gpt-4o' });
  });
  afterAll(async () => {
    await rt?.dispose();
  });

  const inFixture = { createdFrom: '2026-01-01T00:00:00Z', createdTo: '2026-01-04T00:00:00Z' };
  const list = async (input: ListRunsInput, who = actor) => names((await rt.runs.list(who, input)).items);

  /** Every page of a list walked with `limit`, as names; fails on a repeated run. */
  const walk = async (input: ListRunsInput, limit: number) => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<TestRuntime['runs']['list']>> = await rt.runs.list(actor, {
        ...inFixture,
        ...input,
        limit,
        cursor,
      });
      seen.push(...names(page.items));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    return seen;
  };

  const expected: Record<'created' | 'duration' | 'cost' | 'tokens', Record<'asc' | 'desc', string[]>> = {
    created: { asc: [], desc: [] },
    duration: { asc: [], desc: [] },
    cost: { asc: [], desc: [] },
    tokens: { asc: [], desc: [] },
  };
  beforeAll(() => {
    // The reference order, computed here from the fixture: key (nulls last), then id, in the requested direction.
    const keyOf = {
      created: (t: Totals) => BigInt(Date.parse(t.createdAt)) * 1000n + (t.createdAt.includes('.000001') ? 1n : 0n),
      duration: (t: Totals) => t.runNs ?? t.totalDurationNs ?? null,
      cost: (t: Totals) => t.costPusd ?? null,
      tokens: (t: Totals) => BigInt(t.totalTokens ?? 0),
    };
    for (const sortBy of Object.keys(expected) as (keyof typeof expected)[]) {
      for (const order of ['asc', 'desc'] as const) {
        const sign = order === 'asc' ? 1 : -1;
        expected[sortBy][order] = Object.keys(fixture).sort((x, y) => {
          const kx = keyOf[sortBy](fixture[x] as Totals);
          const ky = keyOf[sortBy](fixture[y] as Totals);
          if (kx === null || ky === null) {
            if (kx !== ky) return kx === null ? 1 : -1;
          } else if (kx !== ky) return kx < ky ? -sign : sign;
          const ix = ids[x] as string;
          const iy = ids[y] as string;
          return ix < iy ? -sign : ix > iy ? sign : 0;
        });
      }
    }
  });

  it('sorts by each key in both orders, nulls last, and pages without gaps or repeats at every page size', async () => {
    for (const sortBy of ['created', 'duration', 'cost', 'tokens'] as const) {
      for (const order of ['asc', 'desc'] as const) {
        const want = expected[sortBy][order];
        expect(await list({ ...inFixture, sortBy, order })).toEqual(want);
        for (const limit of [1, 2, 4]) expect(await walk({ sortBy, order }, limit), `${sortBy} ${order}`).toEqual(want);
      }
    }
    // Spot checks of the reference itself: nulls are last in both orders, bigints past 2^53 compare exactly.
    expect(expected.cost.desc.slice(0, 1)).toEqual(['r4']);
    expect(expected.cost.asc.slice(-2).sort()).toEqual(['r3', 'r5']);
    expect(expected.cost.desc.slice(-2).sort()).toEqual(['r3', 'r5']);
    expect(expected.duration.asc.at(-1)).toBe('r5');
  });

  it('keeps the default list (created, desc) unchanged', async () => {
    expect(await list({ ...inFixture })).toEqual(expected.created.desc);
    expect(await list({ ...inFixture, sortBy: 'created', order: 'desc' })).toEqual(expected.created.desc);
  });

  it('answers cost as USD, duration and tokens as the run carries them', async () => {
    const [top] = (await rt.runs.list(actor, { ...inFixture, sortBy: 'cost', limit: 1 })).items;
    expect(top).toMatchObject({ id: ids.r4, costUsd: '9000000', totalDurationNs: '9000000000000000000' });
  });

  it('takes createdFrom inclusive and createdTo exclusive, to the microsecond', async () => {
    const sorted = async (input: ListRunsInput) => (await list(input)).sort();
    expect(await sorted({ createdFrom: '2026-01-02T00:00:00Z', createdTo: '2026-01-03T00:00:00Z' })).toEqual([
      'r4',
      'r5',
    ]);
    expect(
      await sorted({ createdFrom: '2026-01-02T00:00:00.000001Z', createdTo: '2026-01-03T00:00:00.000001Z' }),
    ).toEqual(['r5', 'r6']);
    // An offset is honoured: 01:00+01:00 is midnight UTC.
    expect(await sorted({ createdFrom: '2026-01-01T01:00:00+01:00', createdTo: '2026-01-01T12:00:00Z' })).toEqual([
      'r1',
      'r2',
    ]);
    expect(await sorted({ createdFrom: '2026-01-03T00:00:00Z', createdTo: '2026-01-03T00:00:00Z' })).toEqual([]);
    expect(await sorted({ ...inFixture, sortBy: 'cost', createdTo: '2026-01-01T12:00:00Z' })).toEqual(['r1', 'r2']);
  });

  it('filters by model (the run model) and by agent name, with the other filters', async () => {
    const sorted = async (input: ListRunsInput) => (await list({ ...inFixture, ...input })).sort();
    expect(await sorted({ models: ['gpt-4o'] })).toEqual(['r1', 'r4']);
    expect(await sorted({ models: ['gpt-4o', 'o3', 'o3'] })).toEqual(['r1', 'r2', 'r4', 'r5']);
    expect(await sorted({ models: ['GPT-4O'] })).toEqual([]);
    expect(await sorted({ models: [] })).toEqual([]);
    expect(await sorted({ agentNames: ['beta'] })).toEqual(['r4', 'r5', 'r6']);
    expect(await sorted({ agentNames: ['alpha%', 'beta'] })).toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
    expect(await sorted({ agentNames: ['alpha'] })).toEqual([]);
    expect(await sorted({ agentNames: [] })).toEqual([]);
    expect(await sorted({ agentNames: ['beta'], models: ['o3'], sortBy: 'tokens' })).toEqual(['r5']);
    expect(await sorted({ agentNames: ['beta'], agentId: agentA })).toEqual([]);
    // The other organization's agent is also named alpha%, with a gpt-4o run: not ours.
    expect(await list({ agentNames: ['alpha%'] }, other)).toEqual(['foreign']);
    expect(await sorted({ agentNames: ['alpha%'], models: ['gpt-4o'], createdFrom: null, createdTo: null })).toEqual([
      'r1',
    ]);
  });

  it('searches by full id and by id prefix, case-insensitively, only in the organization', async () => {
    const id = ids.r3 as string;
    expect(await list({ search: id })).toEqual(['r3']);
    expect(await list({ search: id.toUpperCase().replace('RUN-', 'run-') })).toEqual(['r3']);
    const prefix = id.slice(0, 12);
    const found = await list({ search: prefix });
    expect(found).toContain('r3');
    for (const name of found) expect(ids[name]?.startsWith(prefix)).toBe(true);
    expect(await list({ search: id }, other)).toEqual([]);
    expect(await list({ search: ids.foreign as string })).toEqual([]);
    // LIKE's metacharacters are literal: nothing starts with `run-____`.
    expect(await list({ search: 'run-____' })).toEqual([]);
    expect(await list({ search: 'run-%%%%' })).toEqual([]);
    expect(await list({ search: `${id.slice(0, -1)}${id.endsWith('0') ? '1' : '0'}` })).toEqual([]);
  });

  it('refuses bad input with InvalidArgument naming the field', async () => {
    const fieldOf = async (input: Record<string, unknown>) => {
      try {
        await rt.runs.list(actor, input as ListRunsInput);
      } catch (err) {
        return (err as { issues?: { path: PropertyKey[] }[] }).issues?.[0]?.path.join('.') ?? (err as Error).name;
      }
      throw new Error(`accepted ${JSON.stringify(input)}`);
    };
    expect(await fieldOf({ search: 'run-abc' })).toBe('search');
    expect(await fieldOf({ search: 'step-1234567' })).toBe('search');
    expect(await fieldOf({ search: `run-${'0'.repeat(40)}` })).toBe('search');
    expect(await fieldOf({ sortBy: 'price' })).toBe('sortBy');
    expect(await fieldOf({ createdFrom: 'yesterday' })).toBe('createdFrom');
    expect(await fieldOf({ createdTo: '2026-13-01T00:00:00Z' })).toBe('createdTo');
    expect(await fieldOf({ models: [''] })).toBe('models.0');
    expect(await fieldOf({ models: Array(101).fill('m') })).toBe('models');
    expect(await fieldOf({ agentNames: ['x'.repeat(257)] })).toBe('agentNames.0');
  });

  it('refuses a cursor of another sort, order or list, and malformed keys', async () => {
    const costPage = await rt.runs.list(actor, { ...inFixture, sortBy: 'cost', limit: 1 });
    const createdPage = await rt.runs.list(actor, { ...inFixture, limit: 1 });
    expect(costPage.nextCursor && createdPage.nextCursor).toBeTruthy();
    const refused = async (input: ListRunsInput, message: RegExp) => {
      const err = await rt.runs.list(actor, input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgument);
      expect((err as InvalidArgument).message).toMatch(message);
      expect((err as InvalidArgument).field).toBe('cursor');
    };
    await refused({ sortBy: 'tokens', cursor: costPage.nextCursor }, /another list/);
    await refused({ sortBy: 'created', cursor: costPage.nextCursor }, /another list/);
    await refused({ sortBy: 'cost', cursor: createdPage.nextCursor }, /another list/);
    await refused({ sortBy: 'cost', order: 'asc', cursor: costPage.nextCursor }, /order/);
    const id = ids.r1 as string;
    for (const key of ['1.5', '9223372036854775808', 'abc', '2026-01-01T00:00:00Z', ' 1']) {
      await refused({ sortBy: 'cost', cursor: encodeCursor('runs:cost', 'desc', key, id) }, /Malformed/);
    }
    await refused({ sortBy: 'cost', cursor: encodeCursor('runs:cost', 'desc', 5, id) }, /Malformed/);
    // An in-range key past every run's is a valid, empty continuation.
    const past = encodeCursor('runs:cost', 'asc', '9223372036854775807', 'run-z');
    expect(await list({ ...inFixture, sortBy: 'cost', order: 'asc', cursor: past })).toEqual(
      expected.cost.asc.slice(-2),
    );
  });
});

describe.each(databaseTargets().filter((t) => t.name === 'postgres'))('runs.list statements on $name', (target) => {
  let scratch: Awaited<ReturnType<typeof target.create>>;
  let database: Database;
  const actor: Actor = DEFAULT_ACTOR;

  beforeAll(async () => {
    scratch = await target.create();
    // One connection, so that pg_prepared_statements (per session) sees every statement the pool prepared.
    database = await connectDatabase({ url: scratch.url, maxConnections: 1 });
    await migrate(database.db);
  });
  afterAll(async () => {
    await database?.close();
    await scratch?.drop();
  });

  const preparedLists = async () =>
    rowsOf<{ n: number }>(
      await database.db.execute(
        sql`select count(*)::int as n from pg_prepared_statements where statement like '%from "runs" where%'`,
      ),
    )[0]?.n;
  const list = (input: Partial<ListRunsInput>) => listRuns(database.db, actor, listRunsInput.parse(input), {});

  it('prepares the unfiltered lists (an organization’s or an agent’s, any sort, any page), not the filtered ones', async () => {
    const agentId = newId('agent');
    const before = await preparedLists();
    expect(before).toBe(0);
    await list({ limit: 2 });
    await list({ limit: 2 });
    expect(await preparedLists()).toBe(1);
    await list({ agentId, sortBy: 'tokens' });
    expect(await preparedLists()).toBe(2);
    await list({ statuses: ['running'] });
    await list({ agentId, models: ['gpt-4o'] });
    expect(await preparedLists()).toBe(2);
  });
});
