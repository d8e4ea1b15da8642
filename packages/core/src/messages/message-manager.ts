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
import { requireRun } from '../runs/require-run.ts';
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

/** The durable record of a run's messages, in the order they were appended. */
export class MessageManager {
  readonly #db: Db;

  constructor(options: { db: Db }) {
    this.#db = options.db;
  }

  /** Appends a batch atomically; positions continue the run's sequence. */
  async append(actor: Actor, raw: AppendMessagesInput): Promise<Message[]> {
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
    const stepIds = [...new Set(input.messages.flatMap((m) => (m.stepId != null ? [m.stepId] : [])))];
    const rows = await this.#db.transaction(async (tx) => {
      // Locking the run row serialises appends to one run, so sequence numbers never collide.
      const run = await requireRun(tx, actor, input.runId, true);
      if (stepIds.length) {
        // A step is referenced only within the caller's organization (CONTRACTS §7): another's is NOT_FOUND.
        const found = await tx
          .select({ id: steps.id })
          .from(steps)
          .where(and(inArray(steps.id, stepIds), eq(steps.organizationId, actor.organizationId)));
        const known = new Set(found.map((r) => r.id));
        const i = input.messages.findIndex((m) => m.stepId != null && !known.has(m.stepId));
        const missing = input.messages[i];
        if (missing) throw new NotFound(`Step ${missing.stepId} not found`, { field: `messages.${i}.stepId` });
      }
      const [last] = await tx
        .select({ seq: sql<number>`coalesce(max(${messages.seq}), 0)::int` })
        .from(messages)
        .where(eq(messages.runId, input.runId));
      const start = Number(last?.seq ?? 0);
      const inserted = await tx
        .insert(messages)
        .values(
          input.messages.map((m, i) => {
            const body: Record<string, unknown> = {};
            for (const key of BODY_KEYS[m.messageType]) {
              const value = (m as Record<string, unknown>)[key];
              if (value !== undefined) body[key] = value;
            }
            return {
              id: ids[i] as string,
              organizationId: actor.organizationId,
              runId: input.runId,
              agentId: run.agentId,
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
          }),
        )
        .onConflictDoNothing({ target: messages.id })
        .returning();
      // Ids are unique across organizations: one taken anywhere, before or by a concurrent append, gets one answer
      // (idTaken) naming the first in the batch's order, and the transaction's rollback writes nothing of the batch.
      if (inserted.length < ids.length) {
        const stored = new Set(inserted.map((r) => r.id));
        const first = ids.findIndex((id) => !stored.has(id));
        throw idTaken(ids[first] as string, `messages.${first}.id`);
      }
      return inserted;
    });
    return rows.map(toMessage);
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
