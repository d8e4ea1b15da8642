import { and, eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Actor } from '../actor.ts';
import type { Db } from '../db/connect.ts';
import { runs } from '../db/schema.ts';
import { type CallbackOptions, postCallback } from './callback.ts';
import type { Run } from './schemas.ts';

/** Posts a run's callback once it ends (CONTRACTS §5) and stores the outcome on the run; tracks those in flight. */
export class RunCallbackSender {
  readonly #db: Db;
  readonly #logger: Logger;
  readonly #options: CallbackOptions;
  readonly #pending = new Set<Promise<void>>();

  constructor(db: Db, logger: Logger, options: CallbackOptions) {
    this.#db = db;
    this.#logger = logger;
    this.#options = options;
  }

  /** Starts the run's callback without waiting for it; a failure to store its outcome is logged. */
  send(actor: Actor, run: Run): void {
    const url = run.callbackUrl;
    if (!url) return;
    const body = { run_id: run.id, status: run.status, completed_at: run.completedAt, metadata: run.metadata };
    const task = postCallback(url, body, this.#options)
      .then((result) =>
        this.#db
          .update(runs)
          .set({
            callbackSentAt: result.sentAt.toISOString(),
            callbackStatusCode: result.statusCode,
            callbackError: result.error,
          })
          .where(and(eq(runs.id, run.id), eq(runs.organizationId, actor.organizationId))),
      )
      .then(
        () => undefined,
        (err: unknown) => this.#logger.error({ err, runId: run.id }, 'storing the callback result failed'),
      );
    this.#pending.add(task);
    void task.finally(() => this.#pending.delete(task));
  }

  /** Resolves when every callback started so far has finished (and its outcome is stored). */
  async settle(): Promise<void> {
    while (this.#pending.size) await Promise.all([...this.#pending]);
  }
}
