import { eq } from 'drizzle-orm';
import type { Db } from '../db/connect.ts';
import { modelPrices } from '../db/schema.ts';
import { defaultPrices } from './default-prices.ts';
import { type Price, priceOfRow } from './price.ts';

/** The organization's prices and the shipped defaults, read now: what a match chooses from. */
export async function loadPrices(db: Db, organizationId: string): Promise<Price[]> {
  const rows = await db.select().from(modelPrices).where(eq(modelPrices.organizationId, organizationId));
  return [...rows.map(priceOfRow), ...defaultPrices()];
}

/** How long a process trusts its copy of an organization's prices: another api process may have changed them. */
export const PRICE_CACHE_TTL_MS = 10_000;

interface CacheEntry {
  prices: Promise<Price[]>;
  loadedAt: number;
}

/**
 * Organizations' prices kept in memory, so that steps.create matches a price without a query. A change made in this
 * process (prices.upsert/delete) drops the organization's copy at once; one made by another process is seen within
 * {@link PRICE_CACHE_TTL_MS}.
 */
export class PriceBook {
  readonly #db: Db;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, CacheEntry>();

  /** @param options.ttlMs how long a loaded copy is used. @default PRICE_CACHE_TTL_MS */
  constructor(db: Db, options: { ttlMs?: number } = {}) {
    this.#db = db;
    this.#ttlMs = options.ttlMs ?? PRICE_CACHE_TTL_MS;
  }

  /** The organization's prices and the defaults, from memory while fresh. */
  prices(organizationId: string): Promise<Price[]> {
    const now = Date.now();
    const cached = this.#cache.get(organizationId);
    if (cached && now - cached.loadedAt < this.#ttlMs) return cached.prices;
    const entry: CacheEntry = { prices: loadPrices(this.#db, organizationId), loadedAt: now };
    this.#cache.set(organizationId, entry);
    // A failed load is not kept: the next step tries again.
    entry.prices.catch(() => {
      if (this.#cache.get(organizationId) === entry) this.#cache.delete(organizationId);
    });
    return entry.prices;
  }

  /** Forgets the organization's copy (its prices changed). A load already under way is not used either. */
  invalidate(organizationId: string): void {
    this.#cache.delete(organizationId);
  }
}
