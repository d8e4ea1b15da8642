import { and, eq, type SQL, sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Actor } from '../actor.ts';
import type { Db } from '../db/connect.ts';
import { likePrefix } from '../db/like-prefix.ts';
import { agents } from '../db/schema.ts';
import { NotFound } from '../errors.ts';
import { idSchema } from '../ids.ts';
import { cursorSchema, limitSchema, orderSchema, type Page, timestampPage } from '../pagination.ts';
import { MAX_AGENT_NAME_LENGTH } from '../runs/schemas.ts';
import { toIso } from '../time.ts';

export const listAgentsInput = z.strictObject({
  /** Agents whose name starts with this, ignoring case. */
  search: z.string().min(1).max(MAX_AGENT_NAME_LENGTH).nullish(),
  order: orderSchema.default('desc'),
  limit: limitSchema,
  cursor: cursorSchema,
});
export type ListAgentsInput = z.input<typeof listAgentsInput>;

export const agentIdInput = z.strictObject({ agentId: idSchema('agent') });
export type AgentIdInput = z.input<typeof agentIdInput>;

export const updateAgentInput = z.strictObject({
  agentId: idSchema('agent'),
  /** The agent's new name; null clears it (the next run that carries a name names it again). */
  name: z.string().min(1).max(MAX_AGENT_NAME_LENGTH).nullable(),
});
export type UpdateAgentInput = z.input<typeof updateAgentInput>;

export const agentSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  lastStopReason: z.string().nullable(),
  createdAt: z.string(),
});
export type Agent = z.infer<typeof agentSchema>;

type AgentRow = typeof agents.$inferSelect;

const toAgent = (r: AgentRow): Agent => ({
  id: r.id,
  name: r.name,
  lastStopReason: r.lastStopReason,
  createdAt: toIso(r.createdAt),
});

const agentNotFound = (agentId: string) => new NotFound(`Agent ${agentId} not found`, { field: 'agentId' });

/**
 * Agents are created on first use by a run, named by a run's `agentName` (or metadata) or by `update`; this lists
 * them for filters and dashboards. Another organization's agent is NotFound, like an unknown one.
 */
export class AgentManager {
  readonly #db: Db;

  constructor(options: { db: Db }) {
    this.#db = options.db;
  }

  async list(actor: Actor, raw: ListAgentsInput): Promise<Page<Agent>> {
    const input = listAgentsInput.parse(raw);
    const where: SQL[] = [eq(agents.organizationId, actor.organizationId)];
    // An organization has few agents (hundreds): a filter over its rows in agents_org_created_idx order is enough,
    // where an index on lower(name) would be needed to seek.
    if (input.search != null) where.push(sql`lower(${agents.name}) like ${likePrefix(input.search.toLowerCase())}`);
    return timestampPage({
      scope: 'agents',
      order: input.order,
      limit: input.limit,
      cursor: input.cursor,
      createdAt: agents.createdAt,
      id: agents.id,
      where,
      fetch: (condition, orderBy, limit) =>
        this.#db
          .select()
          .from(agents)
          .where(condition)
          .orderBy(...orderBy)
          .limit(limit),
      keyOf: (r) => r,
      map: toAgent,
    });
  }

  async retrieve(actor: Actor, raw: AgentIdInput): Promise<Agent> {
    const { agentId } = agentIdInput.parse(raw);
    const [row] = await this.#db.select().from(agents).where(this.#owned(actor, agentId));
    if (!row) throw agentNotFound(agentId);
    return toAgent(row);
  }

  /** Sets or clears the agent's name; unlike a run's name, this overwrites one already set. */
  async update(actor: Actor, raw: UpdateAgentInput): Promise<Agent> {
    const { agentId, name } = updateAgentInput.parse(raw);
    const [row] = await this.#db.update(agents).set({ name }).where(this.#owned(actor, agentId)).returning();
    if (!row) throw agentNotFound(agentId);
    return toAgent(row);
  }

  #owned(actor: Actor, agentId: string): SQL | undefined {
    return and(eq(agents.organizationId, actor.organizationId), eq(agents.id, agentId));
  }
}
