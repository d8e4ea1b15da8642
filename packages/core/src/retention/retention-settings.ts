import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Actor } from '../actor.ts';
import type { Db } from '../db/connect.ts';
import { organizations } from '../db/schema.ts';
import { organizationNotFound } from '../errors.ts';

/** Days, `off` (keep everything), or null (follow RUNTRACE_RETENTION_DAYS): what an organization may choose. */
export type RetentionDays = number | 'off';

/** `retention.set`'s input: the organization's override. Bounded at 100 years so the interval arithmetic stays sane. */
export const setRetentionInput = z.object({
  days: z.union([z.literal('off'), z.number().int().positive().max(36_500), z.null()], {
    error: "must be a whole number of days from 1 to 36500, 'off' (keep everything) or null (follow the default)",
  }),
});
export type SetRetentionInput = z.input<typeof setRetentionInput>;

/** An organization's retention as `retention.get` answers it. */
export interface RetentionSetting {
  organizationId: string;
  /** The organization's own choice; null follows {@link RetentionSetting.defaultDays}. */
  override: RetentionDays | null;
  /** RUNTRACE_RETENTION_DAYS. */
  defaultDays: RetentionDays;
  /** What the retention job applies to this organization. */
  effectiveDays: RetentionDays;
}

/** The stored column: null follows the default, 0 means `off` (retention_days in db/schema.ts). */
const toColumn = (days: RetentionDays | null): number | null => (days === 'off' ? 0 : days);
const fromColumn = (value: number | null): RetentionDays | null => (value === 0 ? 'off' : value);

/**
 * Days an organization keeps runs, from its stored override and the global default (null = off); null → keep all.
 * The one place both the settings and the job decide it.
 */
export function effectiveRetentionDays(column: number | null, defaultDays: number | null): number | null {
  if (column === 0) return null;
  return column ?? defaultDays;
}

/** Per-organization retention overrides, stored on `organizations.retention_days`. */
export class RetentionSettings {
  readonly #db: Db;
  readonly #defaultDays: number | null;

  /** @param defaultDays RUNTRACE_RETENTION_DAYS (null: off). */
  constructor(db: Db, defaultDays: number | null) {
    this.#db = db;
    this.#defaultDays = defaultDays;
  }

  /** The caller's organization's retention. */
  get(actor: Actor): Promise<RetentionSetting> {
    return this.getFor(actor.organizationId);
  }

  /** Sets the caller's organization's override. */
  set(actor: Actor, raw: SetRetentionInput): Promise<RetentionSetting> {
    return this.setFor(actor.organizationId, raw);
  }

  /** Any organization's retention, by id (the CLI, an operator's tool). NotFound for an unknown id. */
  async getFor(organizationId: string): Promise<RetentionSetting> {
    const [row] = await this.#db
      .select({ days: organizations.retentionDays })
      .from(organizations)
      .where(eq(organizations.id, organizationId));
    if (!row) throw organizationNotFound(organizationId);
    return this.#setting(organizationId, row.days);
  }

  /** Sets any organization's override, by id. NotFound for an unknown id. */
  async setFor(organizationId: string, raw: SetRetentionInput): Promise<RetentionSetting> {
    const { days } = setRetentionInput.parse(raw);
    const [row] = await this.#db
      .update(organizations)
      .set({ retentionDays: toColumn(days) })
      .where(eq(organizations.id, organizationId))
      .returning({ days: organizations.retentionDays });
    if (!row) throw organizationNotFound(organizationId);
    return this.#setting(organizationId, row.days);
  }

  #setting(organizationId: string, column: number | null): RetentionSetting {
    return {
      organizationId,
      override: fromColumn(column),
      defaultDays: this.#defaultDays ?? 'off',
      effectiveDays: effectiveRetentionDays(column, this.#defaultDays) ?? 'off',
    };
  }
}
