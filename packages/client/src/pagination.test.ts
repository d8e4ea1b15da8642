import { DEFAULT_ORGANIZATION_ID, newId } from '@runtrace/core';
import { databaseTargets } from '@runtrace/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntraceClient } from './create-runtrace-client.ts';
import { startApi, type TestApi } from './testing/start-api.ts';

type Order = 'asc' | 'desc';
interface Keyed {
  id: string;
  createdAt: string;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** An ISO timestamp with up to microseconds as an exact integer count of microseconds (string order is not time order). */
function micros(iso: string): bigint {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?Z$/.exec(iso);
  if (!m?.[1]) throw new Error(`not a UTC ISO timestamp: ${iso}`);
  return BigInt(Date.parse(`${m[1]}Z`)) * 1000n + BigInt((m[2] ?? '').padEnd(6, '0'));
}

/** -1, 0 or 1 as `(createdAt, id)` of a sorts before, with or after b (ids compare bytewise, as they do in the database). */
function compareKeys(a: Keyed, b: Keyed): number {
  const ta = micros(a.createdAt);
  const tb = micros(b.createdAt);
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
}

/** The timestamp `offsetMicros` after `base`, as Postgres reads it (microsecond precision, UTC). */
function at(base: number, offsetMicros: number): string {
  const ms = base + Math.floor(offsetMicros / 1000);
  const us = String(offsetMicros % 1000).padStart(3, '0');
  return new Date(ms).toISOString().replace('Z', `${us}Z`);
}

/**
 * Timestamps for `n` rows: groups of many sizes sharing one timestamp, neighbouring groups sometimes a single
 * microsecond apart, some an hour apart; the last rows a day in the future, so that rows created during the walk
 * (stamped now) sort between seeded ones.
 */
function seedTimestamps(n: number): string[] {
  const sizes = [1, 5, 20, 2, 7, 13, 1, 1, 40, 3, 8, 6, 14, 7, 9, 2, 30, 4, 11, 1];
  const past = Date.now() - 24 * 3600_000;
  const future = Date.now() + 24 * 3600_000;
  const out: string[] = [];
  let offset = 0;
  for (let g = 0; out.length < n; g++) {
    offset += g % 3 === 0 ? 1 : g % 3 === 1 ? 250_000 : 3600_000_000;
    const inFuture = out.length >= n * 0.8;
    const ts = at(inFuture ? future : past, offset);
    for (let i = 0; i < (sizes[g % sizes.length] ?? 1) && out.length < n; i++) out.push(ts);
  }
  return out;
}

/**
 * Walks every page of a list while `during` keeps writing, then checks what CONTRACTS §4 promises: every item
 * that existed when the walk began is seen exactly once, nothing is seen twice, and the order is exact.
 */
async function walkWhileWriting<T extends Keyed>(options: {
  order: Order;
  existing: Keyed[];
  fetchPage: (cursor: string | null) => Promise<Page<T>>;
  /** One round of concurrent writes; returns the ids it created. */
  write: () => Promise<string[]>;
}) {
  const seen: T[] = [];
  const created: string[] = [];
  let pages = 0;
  let cursor: string | null = null;
  do {
    // Each page is read while a round of writes is in flight, so rows land before, inside and after the page.
    const [page, made]: [Page<T>, string[]] = await Promise.all([options.fetchPage(cursor), options.write()]);
    created.push(...made);
    seen.push(...page.items);
    cursor = page.nextCursor;
    pages += 1;
  } while (cursor);

  const ids = seen.map((x) => x.id);
  const counts = new Map<string, number>();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  expect(
    [...counts].filter(([, n]) => n > 1),
    'seen more than once',
  ).toEqual([]);
  const missing = options.existing.filter((x) => !counts.has(x.id));
  expect(missing, 'existed when the walk began but never seen').toEqual([]);
  const sign = options.order === 'asc' ? -1 : 1;
  for (let i = 1; i < seen.length; i++) {
    const prev = seen[i - 1]!;
    const cur = seen[i]!;
    if (compareKeys(prev, cur) !== sign) {
      throw new Error(`out of ${options.order} order at ${i}: ${JSON.stringify(prev)} then ${JSON.stringify(cur)}`);
    }
  }
  // Only rows that exist were returned: the seeded ones and those written during the walk.
  const known = new Set([...options.existing.map((x) => x.id), ...created]);
  expect(
    ids.filter((id) => !known.has(id)),
    'neither seeded nor written during the walk',
  ).toEqual([]);
  return { seen, created, pages };
}

/** Every item of a list, read when nothing else is writing. */
async function all<T>(fetchPage: (cursor: string | null) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<T> = await fetchPage(cursor);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}

describe.each(databaseTargets())('pagination over HTTP while rows are inserted ($name)', (target) => {
  let api: TestApi;
  let client: RuntraceClient;
  const agentId = newId('agent');
  const otherAgentId = newId('agent');
  let seededRuns: (Keyed & { status: string })[] = [];

  beforeAll(async () => {
    api = await startApi(target);
    client = api.client();
    const db = api.runtime.database.db;
    const { runs, runMetrics, agents } = db._.fullSchema;
    await db
      .insert(agents)
      .values([agentId, otherAgentId].map((id) => ({ id, organizationId: DEFAULT_ORGANIZATION_ID })));
    const stamps = seedTimestamps(300);
    const rows = stamps.map((createdAt, i) => ({
      id: newId('run'),
      organizationId: DEFAULT_ORGANIZATION_ID,
      agentId,
      status: i % 4 === 0 ? 'running' : i % 4 === 1 ? 'created' : 'completed',
      createFingerprint: `seed-${i}`,
      createdAt,
      updatedAt: createdAt,
    }));
    await db.insert(runs).values(rows);
    await db.insert(runMetrics).values(
      rows.map((r) => ({
        id: r.id,
        organizationId: r.organizationId,
        agentId: r.agentId,
        runStartNs: BigInt(Date.parse(r.createdAt)) * 1_000_000n,
      })),
    );
    // What the api says they are, at full precision.
    const listed = await client.runs.list.query({ agentId, limit: 1000 });
    expect(listed.items).toHaveLength(300);
    seededRuns = listed.items.map((r) => ({ id: r.id, createdAt: r.createdAt, status: r.status }));
    const distinctStamps = new Set(seededRuns.map((r) => r.createdAt));
    expect(distinctStamps.size).toBeLessThan(60);
    expect(distinctStamps.size).toBeGreaterThan(20);
  });
  afterAll(async () => {
    await api?.close();
  });

  /** Creates runs through the client (stamped now) and straight in the database inside seeded timestamp groups. */
  const writeRuns = (agent: string) => async () => {
    const viaApi = [await client.runs.create.mutate({ agentId: agent })];
    const db = api.runtime.database.db;
    const { runs, runMetrics } = db._.fullSchema;
    const group = seededRuns[Math.floor(Math.random() * seededRuns.length)]!.createdAt;
    const direct = [0, 1, 2].map(() => ({
      id: newId('run'),
      organizationId: DEFAULT_ORGANIZATION_ID,
      agentId: agent,
      status: 'created',
      createFingerprint: 'during-walk',
      createdAt: group,
    }));
    await db.insert(runs).values(direct);
    await db
      .insert(runMetrics)
      .values(direct.map((r) => ({ id: r.id, organizationId: r.organizationId, agentId: r.agentId, runStartNs: 1n })));
    return [...viaApi.map((r) => r.id), ...direct.map((r) => r.id)];
  };

  for (const order of ['desc', 'asc'] as const) {
    it(`runs.list ${order}, 7 per page: each run that existed is seen once, in exact (createdAt, id) order`, async () => {
      const existing = await all((cursor) => client.runs.list.query({ agentId, order, limit: 1000, cursor }));
      const { seen, created, pages } = await walkWhileWriting({
        order,
        existing,
        fetchPage: (cursor) => client.runs.list.query({ agentId, order, limit: 7, cursor }),
        write: writeRuns(agentId),
      });
      expect(created.length).toBeGreaterThanOrEqual(3 * pages);
      expect(pages).toBeGreaterThanOrEqual(Math.ceil(existing.length / 7));
      // Rows written into timestamp groups still ahead of the cursor are picked up (each once).
      expect(seen.length).toBeGreaterThan(existing.length);
    });
  }

  it('runs.list without filters walks the organization the same way', async () => {
    const existing = await all((cursor) => client.runs.list.query({ limit: 1000, cursor }));
    expect(existing.length).toBeGreaterThanOrEqual(300);
    await walkWhileWriting({
      order: 'desc',
      existing,
      fetchPage: (cursor) => client.runs.list.query({ limit: 20, cursor }),
      write: writeRuns(otherAgentId),
    });
  });

  it('runs.list filtered by status walks the matching runs once each', async () => {
    const existing = await all((cursor) =>
      client.runs.list.query({ agentId, statuses: ['completed'], order: 'asc', limit: 1000, cursor }),
    );
    expect(existing.length).toBeGreaterThanOrEqual(150);
    await walkWhileWriting({
      order: 'asc',
      existing,
      fetchPage: (cursor) =>
        client.runs.list.query({ agentId, statuses: ['completed'], order: 'asc', limit: 7, cursor }),
      write: writeRuns(agentId),
    });
  });

  it('runs.listActive walks created and running runs, newest first, once each', async () => {
    const existing = await all((cursor) => client.runs.listActive.query({ agentId, limit: 1000, cursor }));
    expect(existing.length).toBeGreaterThanOrEqual(150);
    const { seen } = await walkWhileWriting({
      order: 'desc',
      existing,
      fetchPage: (cursor) => client.runs.listActive.query({ agentId, limit: 20, cursor }),
      write: writeRuns(agentId),
    });
    expect(seen.every((r) => r.status === 'created' || r.status === 'running')).toBe(true);
  });

  for (const order of ['desc', 'asc'] as const) {
    it(`runs.steps ${order}: steps sharing a timestamp are neither skipped nor repeated`, async () => {
      const run = await client.runs.create.mutate({ agentId: otherAgentId });
      const db = api.runtime.database.db;
      const { steps } = db._.fullSchema;
      const stamps = seedTimestamps(120);
      await db.insert(steps).values(
        stamps.map((createdAt, i) => ({
          id: newId('step'),
          organizationId: DEFAULT_ORGANIZATION_ID,
          runId: run.id,
          agentId: otherAgentId,
          promptTokens: i,
          createFingerprint: `seed-${i}`,
          createdAt,
        })),
      );
      const existing = (await client.runs.steps.query({ runId: run.id, limit: 1000 })).items;
      expect(existing).toHaveLength(120);
      await walkWhileWriting({
        order,
        existing,
        fetchPage: (cursor) => client.runs.steps.query({ runId: run.id, order, limit: 7, cursor }),
        write: async () => {
          const made = await Promise.all([0, 1, 2].map(() => client.steps.create.mutate({ runId: run.id })));
          return made.map((s) => s.id);
        },
      });
    });
  }

  it('agents.list: agents sharing a timestamp are neither skipped nor repeated', async () => {
    const db = api.runtime.database.db;
    const { agents } = db._.fullSchema;
    await db.insert(agents).values(
      seedTimestamps(80).map((createdAt) => ({
        id: newId('agent'),
        organizationId: DEFAULT_ORGANIZATION_ID,
        createdAt,
      })),
    );
    for (const order of ['desc', 'asc'] as const) {
      const existing = await all((cursor) => client.agents.list.query({ order, limit: 1000, cursor }));
      expect(existing.length).toBeGreaterThanOrEqual(82);
      await walkWhileWriting({
        order,
        existing,
        fetchPage: (cursor) => client.agents.list.query({ order, limit: 7, cursor }),
        write: async () => {
          const agent = newId('agent');
          await client.runs.create.mutate({ agentId: agent });
          return [agent];
        },
      });
    }
  });

  it('runs.messages pages by position while messages are appended', async () => {
    const run = await client.runs.create.mutate({ agentId: otherAgentId });
    await client.messages.create.mutate({
      runId: run.id,
      messages: Array.from({ length: 50 }, (_, i) => ({ messageType: 'assistant_message' as const, content: `m${i}` })),
    });
    for (const order of ['asc', 'desc'] as const) {
      const seen: number[] = [];
      let cursor: string | null = null;
      let appended = 0;
      do {
        const page: Awaited<ReturnType<typeof client.runs.messages.query>> = await client.runs.messages.query({
          runId: run.id,
          order,
          limit: 7,
          cursor,
        });
        seen.push(...page.items.map((m) => m.seqId));
        cursor = page.nextCursor;
        await client.messages.create.mutate({
          runId: run.id,
          messages: [{ messageType: 'assistant_message', content: 'late' }],
        });
        appended += 1;
      } while (cursor);
      expect(new Set(seen).size).toBe(seen.length);
      if (order === 'desc') {
        const start = seen[0]!;
        expect(seen).toEqual(Array.from({ length: start }, (_, i) => start - i));
      } else {
        // Ascending walks pick up what is appended behind them, in order, until they catch up.
        expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
        expect(seen.length).toBeGreaterThanOrEqual(50);
      }
      expect(appended).toBeGreaterThan(0);
    }
  });
});
