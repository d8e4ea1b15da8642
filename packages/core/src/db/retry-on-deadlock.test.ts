/**
 * retryOnDeadlock on real Postgres: two transactions that lock two rows in opposite orders deadlock; Postgres aborts
 * one, which runs again and commits after the other. (PGlite serves one connection at a time: it cannot deadlock.)
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRuntime, databaseTargets, type TestRuntime } from '../testing/index.ts';
import { isDeadlock, retryOnDeadlock } from './retry-on-deadlock.ts';

describe('retryOnDeadlock', () => {
  it('runs a write once when it succeeds, and passes on an error that is no deadlock without retrying', async () => {
    let calls = 0;
    expect(await retryOnDeadlock(async () => ++calls)).toBe(1);
    const refused = Object.assign(new Error('duplicate key'), { code: '23505' });
    calls = 0;
    await expect(
      retryOnDeadlock(async () => {
        calls++;
        throw refused;
      }),
    ).rejects.toBe(refused);
    expect(calls).toBe(1);
    expect(isDeadlock(new Error('wrapped', { cause: { code: '40P01' } }))).toBe(true);
  });

  it('gives up after its retries, with the deadlock error', async () => {
    let calls = 0;
    const deadlock = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    await expect(
      retryOnDeadlock(async () => {
        calls++;
        throw deadlock;
      }, 2),
    ).rejects.toBe(deadlock);
    expect(calls).toBe(3);
  });
});

describe.each(databaseTargets().filter((t) => t.name === 'postgres'))('retryOnDeadlock on $name', (target) => {
  let rt: TestRuntime;

  beforeAll(async () => {
    rt = await createTestRuntime(target);
    await rt.database.db.execute(sql`create table deadlock_probe (id int primary key, n int not null default 0)`);
    await rt.database.db.execute(sql`insert into deadlock_probe (id) values (1), (2)`);
  });
  afterAll(async () => {
    await rt?.dispose();
  });

  it('a transaction Postgres aborts to break a deadlock runs again and commits', async () => {
    const db = rt.database.db;
    let arrived = 0;
    let release: () => void = () => {};
    const bothLocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    const attempts = [0, 0];
    const lockBoth = (which: 0 | 1, first: number, second: number) =>
      retryOnDeadlock(() =>
        db.transaction(async (tx) => {
          attempts[which] = (attempts[which] ?? 0) + 1;
          await tx.execute(sql`update deadlock_probe set n = n + 1 where id = ${first}`);
          if (++arrived === 2) release();
          await bothLocked;
          await tx.execute(sql`update deadlock_probe set n = n + 1 where id = ${second}`);
        }),
      );
    await Promise.all([lockBoth(0, 1, 2), lockBoth(1, 2, 1)]);
    // one of them lost the deadlock once and ran again; each committed exactly once
    expect(attempts.sort()).toEqual([1, 2]);
    const rows = await db.execute(sql`select n from deadlock_probe order by id`);
    const counts = (Array.isArray(rows) ? rows : (rows as { rows: { n: number }[] }).rows).map((r) => Number(r.n));
    expect(counts).toEqual([2, 2]);
  }, 20_000);
});
