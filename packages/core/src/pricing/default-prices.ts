import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { toIso } from '../time.ts';
import { parsePricePerMillion } from './money.ts';
import { compileModelPattern, type Price } from './price.ts';

const priceText = z.string().refine((text) => parsePricePerMillion(text) !== null, {
  error: 'must be USD per million tokens as a decimal string with at most 6 decimals',
});

/** One shipped price: as an organization's price, with a provider always named. */
export const defaultPriceEntry = z
  .strictObject({
    provider: z.string().regex(/^[a-z0-9_]+$/),
    model: z.string().min(1).optional(),
    modelPattern: z.string().min(1).optional(),
    effectiveFrom: z.iso.date(),
    input: priceText,
    cachedInput: priceText.optional(),
    cacheWrite: priceText.optional(),
    output: priceText,
    reasoning: priceText.optional(),
  })
  .refine((e) => (e.model === undefined) !== (e.modelPattern === undefined), {
    error: 'exactly one of model and modelPattern',
  });

/** pricing/default-prices.json: the providers' list prices, with where and when they were read. */
export const defaultPriceFile = z.strictObject({
  source: z.array(z.url()).min(1),
  retrievedAt: z.iso.date(),
  unit: z.literal('USD per million tokens'),
  prices: z.array(defaultPriceEntry).min(1),
});
export type DefaultPriceFile = z.infer<typeof defaultPriceFile>;

/** The shipped file as it is on disk (copied beside the built module). */
export function readDefaultPriceFile(): unknown {
  return JSON.parse(readFileSync(new URL('./default-prices.json', import.meta.url), 'utf8'));
}

const ppt = (text: string | undefined) => (text === undefined ? null : (parsePricePerMillion(text) as bigint));

/** The file's entries as prices (ids stable while an entry is unchanged: steps keep them as price_id). */
export function toDefaultPrices(file: DefaultPriceFile): Price[] {
  return file.prices.map((e) => ({
    id: `default:${e.provider}:${e.model ?? e.modelPattern}@${e.effectiveFrom}`,
    isDefault: true,
    provider: e.provider,
    model: e.model ?? null,
    modelPattern: e.modelPattern ?? null,
    effectiveFrom: toIso(`${e.effectiveFrom}T00:00:00Z`),
    ppt: {
      input: ppt(e.input),
      cachedInput: ppt(e.cachedInput),
      cacheWrite: ppt(e.cacheWrite),
      output: ppt(e.output),
      reasoning: ppt(e.reasoning),
    },
    regex: e.modelPattern === undefined ? null : compileModelPattern(e.modelPattern),
  }));
}

let loaded: Price[] | undefined;

/** The shipped defaults, read and checked once per process. */
export function defaultPrices(): Price[] {
  loaded ??= toDefaultPrices(defaultPriceFile.parse(readDefaultPriceFile()));
  return loaded;
}
