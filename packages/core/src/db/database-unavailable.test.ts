import { describe, expect, it } from 'vitest';
import { Unavailable } from '../errors.ts';
import { createScratchDatabase, databaseTargets, testConfig } from '../testing/index.ts';
import { connectDatabase } from './connect.ts';
import { databaseUnavailable } from './database-unavailable.ts';

const hasServer = databaseTargets().some((t) => t.name === 'postgres');

/** How long `promise` took to settle, and its rejection classified. */
async function timed(promise: Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  try {
    await promise;
    return { ms: Date.now() - started, error: null };
  } catch (error) {
    return { ms: Date.now() - started, error: databaseUnavailable(error) ?? error };
  }
}

describe.skipIf(!hasServer)('Postgres calls are bounded in time and fail as Unavailable (postgres)', () => {
  it('a query waiting for a pooled connection gives up after the acquire timeout plus the statement timeout', async () => {
    const scratch = await createScratchDatabase(testConfig.databaseUrl as string);
    const db = await connectDatabase({
      url: scratch.url,
      maxConnections: 1,
      statementTimeoutMs: 400,
      acquireTimeoutMs: 300,
    });
    try {
      // The pool's only connection is busy for a few seconds (the unbounded handle has no deadline).
      const hold = (seconds: number) =>
        db.unboundedDb.transaction(async (tx) => {
          await tx.execute('set local statement_timeout = 0');
          await tx.execute(`select pg_sleep(${seconds})`);
        });
      const holder = hold(3);
      await new Promise((r) => setTimeout(r, 200));
      const waiting = await timed(db.db.execute('select 1'));
      expect(waiting.error).toBeInstanceOf(Unavailable);
      expect(waiting.ms).toBeLessThan(1500);
      await holder.catch(() => {});
      // A transaction that cannot get a connection in time is refused the same way, and never runs afterwards.
      const holder2 = hold(2);
      await new Promise((r) => setTimeout(r, 200));
      let ran = false;
      const tx = await timed(
        db.db.transaction(async () => {
          ran = true;
        }),
      );
      expect(tx.error).toBeInstanceOf(Unavailable);
      expect(tx.ms).toBeLessThan(1500);
      await holder2.catch(() => {});
      await new Promise((r) => setTimeout(r, 300));
      expect(ran).toBe(false);
    } finally {
      await db.close();
      await scratch.drop();
    }
  });

  it('a statement running past the statement timeout is cancelled and answers Unavailable, without driver text', async () => {
    const scratch = await createScratchDatabase(testConfig.databaseUrl as string);
    const db = await connectDatabase({ url: scratch.url, statementTimeoutMs: 300 });
    try {
      const slow = await timed(db.db.execute('select pg_sleep(5)'));
      expect(slow.error).toBeInstanceOf(Unavailable);
      expect((slow.error as Error).message).not.toMatch(/statement timeout|57014|canceling/);
      expect(slow.ms).toBeLessThan(2000);
      expect(await db.db.execute('select 1')).toBeTruthy(); // the pool is fine afterwards
    } finally {
      await db.close();
      await scratch.drop();
    }
  });

  it('a server that is not there answers Unavailable within the connect timeout', async () => {
    const url = new URL(testConfig.databaseUrl as string);
    url.port = '1'; // nothing listens there
    const db = await connectDatabase({ url: url.toString(), connectTimeoutMs: 500 });
    try {
      const down = await timed(db.db.execute('select 1'));
      expect(down.error).toBeInstanceOf(Unavailable);
      expect(down.ms).toBeLessThan(2000);
    } finally {
      await db.close();
    }
  });
});
