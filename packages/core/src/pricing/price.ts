import type { modelPrices } from '../db/schema.ts';
import { toIso } from '../time.ts';
import type { UsageType, UsageTypes } from './usage-types.ts';

/** One price version: an organization's row of model_prices or a shipped default. */
export interface Price {
  /** A model_prices id, or `default:<provider>:<model or pattern>@<date>` for a shipped one. */
  id: string;
  isDefault: boolean;
  /** Lower case, as {@link normaliseProvider} gives it; null matches any provider. */
  provider: string | null;
  model: string | null;
  modelPattern: string | null;
  /** toIso form (fixed six fractional digits), so that comparing the strings compares the times exactly. */
  effectiveFrom: string;
  /** Pico-USD per token (= USD per million tokens × 10^6); null: tokens of that type are unpriced. */
  ppt: Record<UsageType, bigint | null>;
  /** modelPattern compiled to match whole names. */
  regex: RegExp | null;
}

/** Provider names Letta steps report for Google's Gemini models: one price list serves them all. */
const GOOGLE_PROVIDERS = new Set(['google', 'google_ai', 'google_vertex', 'gemini']);

/** A step's provider name as prices name it: lower case, Google's variants as `google`; null when none. */
export function normaliseProvider(name: string | null | undefined): string | null {
  const lower = name?.trim().toLowerCase();
  if (!lower) return null;
  return GOOGLE_PROVIDERS.has(lower) ? 'google' : lower;
}

/** `pattern` as matched against a whole model name. */
export function compileModelPattern(pattern: string): RegExp {
  return new RegExp(`^(?:${pattern})$`);
}

/** What a price is matched on: the step's provider, model and time (toIso form). */
export interface PriceQuery {
  provider: string | null | undefined;
  model: string | null | undefined;
  at: string;
}

/**
 * The price that applies, among `candidates`: same provider (or a price for any provider), same model (exact name,
 * or the pattern matches it), in effect at `at`. Precedence, in order: the organization's over a default, an exact
 * name over a pattern, a provider's over any provider's, the latest effective date.
 */
export function selectPrice(candidates: readonly Price[], query: PriceQuery): Price | null {
  const model = query.model;
  if (!model) return null;
  const provider = normaliseProvider(query.provider);
  let best: Price | null = null;
  for (const price of candidates) {
    if (price.effectiveFrom > query.at) continue;
    if (price.provider !== null && price.provider !== provider) continue;
    if (price.model !== null ? price.model !== model : !price.regex?.test(model)) continue;
    if (best === null || outranks(price, best)) best = price;
  }
  return best;
}

function outranks(a: Price, b: Price): boolean {
  if (a.isDefault !== b.isDefault) return !a.isDefault;
  if ((a.model !== null) !== (b.model !== null)) return a.model !== null;
  if ((a.provider !== null) !== (b.provider !== null)) return a.provider !== null;
  return a.effectiveFrom > b.effectiveFrom;
}

/** A step's cost: its tokens by type, what they cost and what no price covered. */
export interface StepCost {
  usage: UsageTypes;
  /** Pico-USD; null when no price matched. */
  costPusd: bigint | null;
  unpricedTokens: number;
  priceId: string | null;
}

/**
 * Cost = Σ tokens × price per type, exact in pico-USD. Reasoning without a price of its own is billed at the output
 * price: every provider priced here bills reasoning (thinking) tokens as output tokens. A cache read or write
 * without a price is unpriced, not free: providers price them differently from input (cheaper reads, dearer
 * writes), so guessing either way would be wrong. Without a price every token is unpriced (`totalTokens`, as the
 * migration that added run totals counted steps recorded before pricing).
 */
export function costOf(usage: UsageTypes, totalTokens: number, price: Price | null): StepCost {
  if (!price) return { usage, costPusd: null, unpricedTokens: totalTokens, priceId: null };
  let cost = 0n;
  let unpriced = 0;
  for (const type of Object.keys(usage) as UsageType[]) {
    const tokens = usage[type];
    const ppt = price.ppt[type] ?? (type === 'reasoning' ? price.ppt.output : null);
    if (ppt === null) unpriced += tokens;
    else cost += BigInt(tokens) * ppt;
  }
  return { usage, costPusd: cost, unpricedTokens: unpriced, priceId: price.id };
}

type PriceRow = typeof modelPrices.$inferSelect;

/** A model_prices row as a {@link Price}. */
export function priceOfRow(row: PriceRow): Price {
  return {
    id: row.id,
    isDefault: false,
    provider: row.provider,
    model: row.model,
    modelPattern: row.modelPattern,
    effectiveFrom: toIso(row.effectiveFrom),
    ppt: {
      input: row.inputPpt,
      cachedInput: row.cachedInputPpt,
      cacheWrite: row.cacheWritePpt,
      output: row.outputPpt,
      reasoning: row.reasoningPpt,
    },
    regex: row.modelPattern === null ? null : compileModelPattern(row.modelPattern),
  };
}
