import { and, eq, inArray, type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Actor } from '../actor.ts';
import type { Db } from '../db/connect.ts';
import { messages, steps } from '../db/schema.ts';
import { InvalidArgument, NotFound } from '../errors.ts';
import { assertId, idSchema, idTaken, invalidIdMessage, isId, newId } from '../ids.ts';
import {
  cursorSchema,
  decodeCursor,
  encodeCursor,
  limitSchema,
  type Order,
  orderSchema,
  type Page,
  type PageWindow,
  toPage,
} from '../pagination.ts';
import { requireRun, runNotFound, withRunsLocked } from '../runs/require-run.ts';
import { requireStep } from '../steps/require-step.ts';
import { toIso } from '../time.ts';
import { BODY_KEYS, type Message, type MessageType, messageInputSchema } from './letta-message.ts';

/** At most this many messages per `messages.create` call. */
export const MAX_MESSAGES_PER_APPEND = 1000;

export const appendMessagesInput = z.strictObject({
  runId: idSchema('run'),
  messages: z.array(messageInputSchema).min(1).max(MAX_MESSAGES_PER_APPEND),
});

export const listRunMessagesInput = z.strictObject({
  runId: idSchema('run'),
  /** Chronological (by position in the run) unless `desc`. */
  order: orderSchema.default('asc'),
  limit: limitSchema,
  cursor: cursorSchema,
});

export const listStepMessagesInput = z.strictObject({
  stepId: idSchema('step'),
  /** Chronological (by position in the run) unless `desc`. */
  order: orderSchema.default('asc'),
  limit: limitSchema,
  cursor: cursorSchema,
});

export type ListStepMessagesInput = z.input<typeof listStepMessagesInput>;
export type AppendMessagesInput = z.input<typeof appendMessagesInput>;
export type ListRunMessagesInput = z.input<typeof listRunMessagesInput>;

type MessageRow = typeof messages.$inferSelect;

function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    messageType: row.messageType,
    runId: row.runId,
    agentId: row.agentId,
    seqId: row.seq,
    date: toIso(row.date),
    name: row.name,
    otid: row.otid,
    senderId: row.senderId,
    stepId: row.stepId,
    isErr: row.isErr,
    ...row.body,
  } as Message;
}

/** One batch of an append, checked: its input and its messages' ids; `index` is its place among the batches. */
interface PreparedBatch {
  index: number;
  input: z.output<typeof appendMessagesInput>;
  ids: string[];
}

function prepareBatch(raw: AppendMessagesInput, index: number): PreparedBatch {
  const input = appendMessagesInput.parse(raw);
  const ids = input.messages.map((m, i) => {
    if (m.id === undefined) return newId('message');
    if (!idSchema('message').safeParse(m.id).success) {
      throw new InvalidArgument(`Invalid message ID format: ${m.id}. Expected format: 'message-<uuid4>'`, {
        field: `messages.${i}.id`,
      });
    }
    return m.id;
  });
  if (new Set(ids).size !== ids.length) {
    throw new InvalidArgument('Message ids within one batch must be unique', { field: 'messages' });
  }
  input.messages.forEach((m, i) => {
    if (m.stepId != null && !isId('step', m.stepId)) {
      throw new InvalidArgument(invalidIdMessage('step', m.stepId), { field: `messages.${i}.stepId` });
    }
  });
  return { index, input, ids };
}

/** The durable record of a run's messages, in the order they were appended. */
export class MessageManager {
  readonly #db: Db;

  constructor(options: { db: Db }) {
    this.#db = options.db;
  }

  /** Appends a batch atomically; positions continue the run's sequence. */
  async append(actor: Actor, raw: AppendMessagesInput): Promise<Message[]> {
    const [answer] = await this.appendMany(actor, [raw]);
    if (answer instanceof Error) throw answer;
    return answer as Message[];
  }

  /**
   * Appends several batches (to one run or several) in one transaction, each as {@link append} would, in the order
   * given. Each batch has its own answer: its messages, or the error that refused it (a bad input, an unknown run or
   * step), which then wrote nothing of it. A message id taken meanwhile (idTaken, naming the batch's index in its
   * `field` past the first) and an error of the writes themselves roll back every batch and are thrown.
   */
  async appendMany(actor: Actor, raws: readonly AppendMessagesInput[]): Promise<(Message[] | Error)[]> {
    const answers: (Message[] | Error)[] = [];
    const batches: PreparedBatch[] = [];
    const seen = new Set<string>();
    raws.forEach((raw, index) => {
      try {
        const batch = prepareBatch(raw, index);
        const repeated = batch.ids.findIndex((id) => seen.has(id));
        if (repeated >= 0) {
          throw new InvalidArgument('Message ids within one batch must be unique', { field: 'messages' });
        }
        for (const id of batch.ids) seen.add(id);
        batches.push(batch);
      } catch (err) {
        answers[index] = err instanceof Error ? err : new Error(String(err));
      }
    });
    if (batches.length === 0) return answers;
    const stepIds = [
      ...new Set(batches.flatMap((b) => b.input.messages.flatMap((m) => (m.stepId != null ? [m.stepId] : [])))),
    ];
    // Locking the runs' rows serialises appends to one run, so sequence numbers never collide.
    await withRunsLocked(
      this.#db,
      actor,
      batches.map((b) => b.input.runId),
      async (tx, locked) => {
        // A step is referenced only within the caller's organization (CONTRACTS §7): another's is NOT_FOUND. Read
        // together with the runs' last positions (one round trip).
        const [found, lastSeqs] = await Promise.all([
          stepIds.length
            ? tx
                .select({ id: steps.id })
                .from(steps)
                .where(and(inArray(steps.id, stepIds), eq(steps.organizationId, actor.organizationId)))
            : [],
          locked.size
            ? tx
                .select({ runId: messages.runId, seq: sql<number>`coalesce(max(${messages.seq}), 0)::int` })
                .from(messages)
                .where(inArray(messages.runId, [...locked.keys()]))
                .groupBy(messages.runId)
            : [],
        ]);
        const known = new Set(found.map((r) => r.id));
        const accepted: PreparedBatch[] = [];
        for (const batch of batches) {
          const i = batch.input.messages.findIndex((m) => m.stepId != null && !known.has(m.stepId));
          const missing = batch.input.messages[i];
          if (!locked.has(batch.input.runId)) answers[batch.index] = runNotFound(batch.input.runId);
          else if (missing) {
            answers[batch.index] = new NotFound(`Step ${missing.stepId} not found`, { field: `messages.${i}.stepId` });
          } else accepted.push(batch);
        }
        if (accepted.length === 0) return;
        const next = new Map(lastSeqs.map((r) => [r.runId, Number(r.seq)]));
        const values = accepted.flatMap((batch) => {
          const runId = batch.input.runId;
          const start = next.get(runId) ?? 0;
          next.set(runId, start + batch.ids.length);
          return batch.input.messages.map((m, i) => {
            const body: Record<string, unknown> = {};
            for (const key of BODY_KEYS[m.messageType]) {
              const value = (m as Record<string, unknown>)[key];
              if (value !== undefined) body[key] = value;
            }
            return {
              id: batch.ids[i] as string,
              organizationId: actor.organizationId,
              runId,
              agentId: locked.get(runId)?.agentId as string,
              stepId: m.stepId ?? null,
              seq: start + i + 1,
              messageType: m.messageType,
              date: m.date ?? sql`clock_timestamp()`,
              name: m.name ?? null,
              otid: m.otid ?? null,
              senderId: m.senderId ?? null,
              isErr: m.isErr ?? null,
              body,
            };
          });
        });
        const inserted: MessageRow[] = [];
        for (let i = 0; i < values.length; i += MAX_MESSAGES_PER_APPEND) {
          const chunk = values.slice(i, i + MAX_MESSAGES_PER_APPEND);
          inserted.push(
            ...(await tx.insert(messages).values(chunk).onConflictDoNothing({ target: messages.id }).returning()),
          );
        }
        // Ids are unique across organizations: one taken anywhere, before or by a concurrent append, gets one answer
        // (idTaken) naming the first in the batch's order, and the transaction's rollback writes nothing of the batch.
        if (inserted.length < values.length) {
          const stored = new Set(inserted.map((r) => r.id));
          for (const batch of accepted) {
            const first = batch.ids.findIndex((id) => !stored.has(id));
            if (first >= 0) {
              throw idTaken(batch.ids[first] as string, `${batch.index ? `${batch.index}.` : ''}messages.${first}.id`);
            }
          }
        }
        const byId = new Map(inserted.map((row) => [row.id, row]));
        for (const batch of accepted) {
          answers[batch.index] = batch.ids.map((id) => toMessage(byId.get(id) as MessageRow));
        }
      },
    );
    return answers;
  }

  /** A run's messages by position, filtered by the run's `requestConfig.includeReturnMessageTypes`. */
  async listByRun(actor: Actor, raw: ListRunMessagesInput, window: PageWindow = {}): Promise<Page<Message>> {
    const input = listRunMessagesInput.parse(raw);
    const run = await requireRun(this.#db, actor, input.runId);
    const where: SQL[] = [eq(messages.organizationId, actor.organizationId), eq(messages.runId, input.runId)];
    const include = run.requestConfig?.includeReturnMessageTypes as MessageType[] | null | undefined;
    if (include) where.push(include.length ? inArray(messages.messageType, include) : sql`false`);
    return this.#page(runMessagesScope(input.runId), where, input, window, false);
  }

  /** The messages produced in a step, by position in their run. NotFound for an unknown step. */
  async listByStep(actor: Actor, raw: ListStepMessagesInput, window: PageWindow = {}): Promise<Page<Message>> {
    const input = listStepMessagesInput.parse(raw);
    await requireStep(this.#db, actor, input.stepId);
    const where: SQL[] = [eq(messages.organizationId, actor.organizationId), eq(messages.stepId, input.stepId)];
    return this.#page(stepMessagesScope(input.stepId), where, input, window, true);
  }

  /**
   * The cursor of a run's (or a step's) message list in `order` positioned at this message (the Letta REST layer's
   * `after`/`before` ids). NotFound when the message is not in that list's run or step.
   */
  async cursorFor(
    actor: Actor,
    list: { runId: string } | { stepId: string },
    messageId: string,
    order: Order,
  ): Promise<string> {
    assertId('message', messageId, 'messageId');
    const [row] = await this.#db
      .select({ id: messages.id, seq: messages.seq, runId: messages.runId, stepId: messages.stepId })
      .from(messages)
      .where(and(eq(messages.id, messageId), eq(messages.organizationId, actor.organizationId)));
    const inList = row && ('runId' in list ? row.runId === list.runId : row.stepId === list.stepId);
    if (!row || !inList) {
      const where = 'runId' in list ? `run ${list.runId}` : `step ${list.stepId}`;
      throw new NotFound(`Message ${messageId} not found in ${where}`, { field: 'messageId' });
    }
    const scope = 'runId' in list ? runMessagesScope(list.runId) : stepMessagesScope(list.stepId);
    return encodeCursor(scope, order, row.seq, row.id);
  }

  /**
   * Keyset pagination by position: a run's positions are unique (`messages_run_seq_idx`); a step's messages could come
   * from several runs, so there the id breaks ties (`withId`).
   */
  async #page(
    scope: string,
    filters: SQL[],
    input: { order: Order; limit: number; cursor?: string | null | undefined },
    window: PageWindow,
    withId: boolean,
  ): Promise<Page<Message>> {
    const where = [...filters];
    const position = (cursor: string, after: boolean) => {
      const c = decodeCursor(cursor, scope, input.order);
      // A position: a non-negative integer column, so anything else is a forged or corrupted cursor.
      if (typeof c.key !== 'number' || c.key < 0 || c.key > 2_147_483_647) {
        throw new InvalidArgument('Malformed cursor', { field: 'cursor' });
      }
      const forward = (input.order === 'asc') === after;
      const [column, value] = withId
        ? [sql`(${messages.seq}, ${messages.id})`, sql`(${c.key}, ${c.id})`]
        : [sql`${messages.seq}`, sql`${c.key}`];
      return forward ? sql`${column} > ${value}` : sql`${column} < ${value}`;
    };
    if (input.cursor) where.push(position(input.cursor, true));
    if (window.until) where.push(position(window.until, false));
    const dir = input.order === 'asc' ? sql`asc` : sql`desc`;
    const rows = await this.#db
      .select()
      .from(messages)
      .where(and(...where))
      .orderBy(...(withId ? [sql`${messages.seq} ${dir}`, sql`${messages.id} ${dir}`] : [sql`${messages.seq} ${dir}`]))
      .limit(input.limit + 1);
    return toPage(rows, input.limit, toMessage, (r) => encodeCursor(scope, input.order, r.seq, r.id));
  }
}

const runMessagesScope = (runId: string) => `messages:${runId}`;
const stepMessagesScope = (stepId: string) => `messages:step:${stepId}`;
