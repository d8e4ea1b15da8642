import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq, sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { createScratchDatabase, databaseTargets, testConfig } from '../testing/index.ts';
import { connectDatabase, rowsOf } from './connect.ts';
import { migrate } from './migrate.ts';
import { organizations } from './schema.ts';

const postgresTarget = databaseTargets().find((t) => t.name === 'postgres');

describe('migrations', () => {
  it('persist PGlite data in its directory across restarts and apply once', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'runtrace-pglite-'));
    try {
      const first = await connectDatabase({ pgliteDir: dir });
      expect((await migrate(first.db)).length).toBeGreaterThan(0);
      await first.db.insert(organizations).values({ id: 'org-persisted', name: 'kept' });
      await first.close();
      const second = await connectDatabase({ pgliteDir: dir });
      expect(await migrate(second.db)).toEqual([]);
      const rows = await second.db.select().from(organizations).where(eq(organizations.id, 'org-persisted'));
      expect(rows.map((r) => r.name)).toEqual(['kept']);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(postgresTarget)('apply exactly once when several processes start together (advisory lock)', async () => {
    const scratch = await createScratchDatabase(String(testConfig.databaseUrl));
    try {
      const connections = await Promise.all(Array.from({ length: 4 }, () => connectDatabase({ url: scratch.url })));
      const applied = await Promise.all(connections.map((c) => migrate(c.db)));
      expect(applied.filter((a) => a.length > 0)).toHaveLength(1);
      const count = rowsOf<{ n: number }>(
        await connections[0]!.db.execute(sql`select count(*)::int as n from runtrace_migrations`),
      );
      expect(count[0]?.n).toBe(applied.find((a) => a.length > 0)?.length);
      await Promise.all(connections.map((c) => c.close()));
    } finally {
      await scratch.drop();
    }
  });
});

describe('the embedded database directory', () => {
  it('refuses a second opener while the first holds it, and is free again after close', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'runtrace-lock-'));
    try {
      const first = await connectDatabase({ pgliteDir: dir });
      // The same process id would be taken for a stale lock; pretend another live process (our parent) holds it.
      writeFileSync(`${dir}.lock`, String(process.ppid));
      await expect(connectDatabase({ pgliteDir: dir })).rejects.toThrow(/in use by process/);
      writeFileSync(`${dir}.lock`, String(process.pid));
      await first.close();
      const second = await connectDatabase({ pgliteDir: dir });
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(`${dir}.lock`, { force: true });
    }
  });
});
