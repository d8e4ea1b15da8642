/** `@runtrace/core/pricing`: prices, usage types and step cost (README, Cost and analytics). */

export { defaultPrices } from './default-prices.ts';
export { formatPricePerMillion, formatUsd, PUSD_PER_USD, parsePricePerMillion } from './money.ts';
export { costOf, normaliseProvider, type Price, type StepCost, selectPrice } from './price.ts';
export { PRICE_CACHE_TTL_MS, PriceBook } from './price-book.ts';
export { PriceManager } from './price-manager.ts';
export {
  type DeletePriceInput,
  deletePriceInput,
  type ListPricesInput,
  listPricesInput,
  type PriceOutput,
  priceSchema,
  type RecomputePricesInput,
  type RecomputeResult,
  recomputePricesInput,
  recomputeResultSchema,
  type UpsertPriceInput,
  upsertPriceInput,
} from './schemas.ts';
export { CACHE_READ_KEYS, CACHE_WRITE_KEYS, REASONING_KEYS, type UsageTypes, usageTypes } from './usage-types.ts';
