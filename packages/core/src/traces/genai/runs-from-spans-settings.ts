import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Db } from '../../db/connect.ts';
import { organizations } from '../../db/schema.ts';
import { organizationNotFound } from '../../errors.ts';

/** How long the ingest path trusts an organization's flag before reading it again. */
export const RUNS_FROM_SPANS_CACHE_MS = 10_000;

/** An organization's runs-from-spans switch, as the CLI shows it. */
export interface RunsFromSpansSetting {
  organizationId: string;
  enabled: boolean;
}

export const setRunsFromSpansInput = z.object({ enabled: z.boolean({ error: 'must be true or false' }) });

/**
 * The per-organization opt-in `organizations.runs_from_spans`, read on every OTLP export: cached per process for
 * {@link RUNS_FROM_SPANS_CACHE_MS}, so a change made by the CLI (or by another api process) takes effect within that
 * time; a change made through this instance takes effect at once here.
 */
export class RunsFromSpansSettings {
  readonly #db: Db;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, { enabled: boolean; at: number }>();

  /** @param ttlMs how long a read flag is trusted. @default {@link RUNS_FROM_SPANS_CACHE_MS} */
  constructor(db: Db, ttlMs = RUNS_FROM_SPANS_CACHE_MS) {
    this.#db = db;
    this.#ttlMs = ttlMs;
  }

  /**
   * Whether the organization maps its spans (false for an unknown one), from the cache when fresh.
   * @throws Unavailable when Postgres cannot be read and the cache has no fresh answer.
   */
  async enabled(organizationId: string): Promise<boolean> {
    const cached = this.#cache.get(organizationId);
    const now = Date.now();
    if (cached && now - cached.at < this.#ttlMs) return cached.enabled;
    const enabled = (await this.#read(organizationId)) ?? false;
    this.#cache.set(organizationId, { enabled, at: now });
    return enabled;
  }

  /** Any organization's setting, read from Postgres (the CLI). NotFound for an unknown id. */
  async getFor(organizationId: string): Promise<RunsFromSpansSetting> {
    const enabled = await this.#read(organizationId);
    if (enabled === null) throw organizationNotFound(organizationId);
    return { organizationId, enabled };
  }

  /** The stored setting, or null for an unknown organization. */
  async #read(organizationId: string): Promise<boolean | null> {
    const [row] = await this.#db
      .select({ enabled: organizations.runsFromSpans })
      .from(organizations)
      .where(eq(organizations.id, organizationId));
    return row?.enabled ?? null;
  }

  /** Switches an organization's mapping on or off. NotFound for an unknown id. */
  async setFor(organizationId: string, raw: z.input<typeof setRunsFromSpansInput>): Promise<RunsFromSpansSetting> {
    const { enabled } = setRunsFromSpansInput.parse(raw);
    const [row] = await this.#db
      .update(organizations)
      .set({ runsFromSpans: enabled })
      .where(eq(organizations.id, organizationId))
      .returning({ enabled: organizations.runsFromSpans });
    if (!row) throw organizationNotFound(organizationId);
    this.#cache.set(organizationId, { enabled: row.enabled, at: Date.now() });
    return { organizationId, enabled: row.enabled };
  }
}
