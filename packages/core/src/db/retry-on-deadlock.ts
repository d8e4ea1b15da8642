/** Postgres's SQLSTATE for a transaction it aborted to break a deadlock. */
const DEADLOCK_DETECTED = '40P01';

/** How many times a write that lost a deadlock is run again before its error is the caller's. */
export const DEADLOCK_RETRIES = 3;

/** Whether `err` (or a cause of it: drizzle wraps driver errors) is Postgres aborting a deadlocked transaction. */
export function isDeadlock(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === DEADLOCK_DETECTED) return true;
  }
  return false;
}

/**
 * Runs `write` (one transaction or one statement) again when Postgres aborted it to break a deadlock: nothing of it
 * was committed, so the next attempt starts clean. Batch writes need it where their locks cannot all be taken in one
 * order: the analytics rollup rows that each run's update touches (through the runs trigger) are locked statement by
 * statement, in the order of the batch's runs, while another batch may hold some of them and want others.
 */
export async function retryOnDeadlock<T>(write: () => Promise<T>, retries = DEADLOCK_RETRIES): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (attempt >= retries || !isDeadlock(err)) throw err;
      // a little apart, so that the two transactions do not meet in the same order again
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * (attempt + 1)));
    }
  }
}
