import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Actor } from '../actor.ts';
import type { Db } from '../db/connect.ts';
import { agents } from '../db/schema.ts';
import { cursorSchema, limitSchema, orderSchema, type Page, timestampPage } from '../pagination.ts';
import { toIso } from '../time.ts';

export const listAgentsInput = z.strictObject({
  order: orderSchema.default('desc'),
  limit: limitSchema,
  cursor: cursorSchema,
});

export type ListAgentsInput = z.input<typeof listAgentsInput>;

export interface Agent {
  id: string;
  lastStopReason: string | null;
  createdAt: string;
}

/** Agents are created on first use by a run; this lists them for filters and dashboards. */
export class AgentManager {
  readonly #db: Db;

  constructor(options: { db: Db }) {
    this.#db = options.db;
  }

  async list(actor: Actor, raw: ListAgentsInput): Promise<Page<Agent>> {
    const input = listAgentsInput.parse(raw);
    return timestampPage({
      scope: 'agents',
      order: input.order,
      limit: input.limit,
      cursor: input.cursor,
      createdAt: agents.createdAt,
      id: agents.id,
      where: [eq(agents.organizationId, actor.organizationId)],
      fetch: (where, orderBy, limit) =>
        this.#db
          .select()
          .from(agents)
          .where(where)
          .orderBy(...orderBy)
          .limit(limit),
      keyOf: (r) => r,
      map: (r) => ({ id: r.id, lastStopReason: r.lastStopReason, createdAt: toIso(r.createdAt) }),
    });
  }
}
