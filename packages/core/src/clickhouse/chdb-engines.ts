import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type ClickHouseClient, createClient } from '@clickhouse/client';
import { ConfigError } from '../config.ts';
import { Unavailable } from '../errors.ts';

/** chdb's name for an in-memory engine (`chdb:memory`). */
export const CHDB_MEMORY = ':memory:';

/**
 * The process-wide embedded ClickHouse: chdb allows one data directory per process, so every handle on a directory
 * shares one engine, counted by reference, and another directory opens only once the last engine is fully gone.
 */
export interface SharedChdb {
  client: ClickHouseClient;
}
interface ChdbEntry {
  refs: number;
  ready: Promise<SharedChdb>;
}

/** chdb allows one data directory per process: every handle on it shares this entry. */
const chdbEngines = new Map<string, ChdbEntry>();
/** The last engine's shutdown; opening another directory waits for it (chdb requires the old one fully gone). */
let chdbClosing: Promise<void> = Promise.resolve();

export async function acquireChdb(dir: string, variable: string): Promise<SharedChdb> {
  let entry = chdbEngines.get(dir);
  if (!entry) {
    const [other] = chdbEngines.keys();
    if (other !== undefined) {
      throw new ConfigError(
        `${variable}: this process already has the embedded ClickHouse open at ${other === CHDB_MEMORY ? 'chdb:memory' : other}; ` +
          `chdb allows one data directory per process, so use the same one or a ClickHouse server (http(s)://…)`,
      );
    }
    const created: ChdbEntry = { refs: 0, ready: openChdb(dir, variable) };
    created.ready.catch(() => {
      if (chdbEngines.get(dir) === created) chdbEngines.delete(dir);
    });
    chdbEngines.set(dir, created);
    entry = created;
  }
  entry.refs += 1;
  try {
    return await entry.ready;
  } catch (err) {
    entry.refs -= 1;
    throw err;
  }
}

export async function releaseChdb(dir: string): Promise<void> {
  const entry = chdbEngines.get(dir);
  if (!entry) return;
  entry.refs -= 1;
  if (entry.refs > 0) return;
  chdbEngines.delete(dir);
  const closing = (async () => {
    const { client } = await entry.ready;
    await client.close();
    // chdb: after close, wait until the engine has really let go before another directory may be opened.
    const { drainPending } = await import('chdb');
    await drainPending();
  })();
  chdbClosing = closing.catch(() => {});
  await closing;
}

async function openChdb(dir: string, variable: string): Promise<SharedChdb> {
  await chdbClosing;
  // Loaded only when embedded ClickHouse is used: the engine is a ~500 MB native library.
  const { createChdbConnection } = await import('chdb/connection');
  if (dir !== CHDB_MEMORY) mkdirSync(dir, { recursive: true });
  let connection: ReturnType<typeof createChdbConnection>;
  try {
    connection = createChdbConnection({ path: dir });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    // chdb prints the reason to stderr only; a directory held by another engine names its owner in `status`.
    const owner = dir === CHDB_MEMORY ? null : lockOwner(dir);
    if (owner !== null) {
      throw new Unavailable(
        `the embedded ClickHouse at ${dir} is in use by another process (pid ${owner}); give this process its own ${variable}=chdb:<dir>, or point ${variable} at a ClickHouse server`,
        { cause: err },
      );
    }
    throw new ConfigError(`${variable}: cannot open the embedded ClickHouse at ${dir}: ${message}`);
  }
  // chdb implements @clickhouse/client-common's Connection; its declared type comes from its own copy of that package.
  const client = createClient({ connection: connection as never });
  return { client };
}

/** The live process (other than this one) that a chdb directory's `status` file names, or null. */
function lockOwner(dir: string): number | null {
  let text: string;
  try {
    text = readFileSync(path.join(dir, 'status'), 'utf8');
  } catch {
    return null;
  }
  const pid = Number(/^PID:\s*(\d+)/m.exec(text)?.[1]);
  if (!pid || pid === process.pid) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}
