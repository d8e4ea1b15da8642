import { z } from 'zod';
import { timestampInputSchema } from '../time.ts';
import { parsePricePerMillion } from './money.ts';
import { compileModelPattern } from './price.ts';

/** Longest model pattern: matched against every step's model name, it must stay cheap to compile and run. */
export const MAX_MODEL_PATTERN_LENGTH = 200;
/** Longest model or provider name a price names. */
export const MAX_PRICE_NAME_LENGTH = 200;

const pricePerMillion = z.string().refine((text) => parsePricePerMillion(text) !== null, {
  error: 'must be USD per million tokens as a decimal string, e.g. "2.5", with at most 6 decimals',
});

/**
 * A group that repeats and holds a repetition itself (`(a+)+`, `(.*)*`; overlapping alternatives such as `(a|a)+` are not caught): the shape that makes a
 * backtracking regex take exponential time on a near-miss. Refused rather than run against every step's model.
 */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]/;

const modelPattern = z
  .string()
  .min(1)
  .max(MAX_MODEL_PATTERN_LENGTH)
  .superRefine((pattern, ctx) => {
    try {
      compileModelPattern(pattern);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `is not a valid regular expression: ${(err as Error).message}` });
      return;
    }
    if (NESTED_QUANTIFIER.test(pattern) || /\\\d/.test(pattern)) {
      ctx.addIssue({
        code: 'custom',
        message: 'nests a repetition inside a repeated group or uses a back-reference (catastrophic backtracking)',
      });
    }
  });

/**
 * `prices.upsert`: the organization's price for a provider and model (exact name or pattern) from `effectiveFrom`
 * on. The same provider, model or pattern and effectiveFrom replaces that price; another effectiveFrom adds a
 * version, so steps before it keep the price they had.
 */
export const upsertPriceInput = z
  .strictObject({
    /** Provider name as steps report it (any case; Google's variants are one, `google`); null or absent: any. */
    provider: z.string().trim().min(1).max(MAX_PRICE_NAME_LENGTH).nullish(),
    /** Exact model name. Exactly one of model and modelPattern. */
    model: z.string().min(1).max(MAX_PRICE_NAME_LENGTH).nullish(),
    /** Regular expression (JavaScript syntax) matching whole model names, e.g. `gpt-4o-2024-\d{2}-\d{2}`. */
    modelPattern: modelPattern.nullish(),
    effectiveFrom: timestampInputSchema,
    /** USD per million tokens, decimal strings. */
    input: pricePerMillion,
    /** Cache reads; absent: cache reads are unpriced. */
    cachedInput: pricePerMillion.nullish(),
    /** Cache writes; absent: cache writes are unpriced. */
    cacheWrite: pricePerMillion.nullish(),
    output: pricePerMillion,
    /** Reasoning tokens; absent: billed at the output price, as providers do. */
    reasoning: pricePerMillion.nullish(),
  })
  .refine((p) => (p.model == null) !== (p.modelPattern == null), {
    error: 'give exactly one of model (an exact name) and modelPattern (a regular expression)',
    path: ['model'],
  });
export type UpsertPriceInput = z.input<typeof upsertPriceInput>;

export const listPricesInput = z
  .strictObject({
    /** Also list the shipped defaults (isDefault: true), which the organization's prices override. */
    includeDefaults: z.boolean().default(false),
  })
  .default({ includeDefaults: false });
export type ListPricesInput = z.input<typeof listPricesInput>;

export const deletePriceInput = z.strictObject({ priceId: z.string().min(1).max(MAX_PRICE_NAME_LENGTH) });
export type DeletePriceInput = z.input<typeof deletePriceInput>;

/** The longest batch prices.recompute writes in one transaction. */
export const MAX_RECOMPUTE_BATCH = 5_000;

/** `prices.recompute`: re-price the organization's steps created in [from, to), of `model` when given. */
export const recomputePricesInput = z
  .strictObject({
    from: timestampInputSchema,
    to: timestampInputSchema,
    model: z.string().min(1).max(MAX_PRICE_NAME_LENGTH).nullish(),
    /**
     * Stop after this many batches (of up to 5,000 steps) and answer `done: false`; the same call again resumes.
     * Absent: run to the end.
     */
    maxBatches: z.number().int().min(1).max(1_000_000).optional(),
  })
  .refine((r) => Date.parse(r.from) < Date.parse(r.to), { error: 'must be after from', path: ['to'] });
export type RecomputePricesInput = z.input<typeof recomputePricesInput>;

const pricePerMillionOutput = z.string().describe('USD per million tokens');

export const priceSchema = z.object({
  id: z.string(),
  /** A shipped default (pricing/default-prices.json): listed, not editable; override it with a price of your own. */
  isDefault: z.boolean(),
  provider: z.string().nullable(),
  model: z.string().nullable(),
  modelPattern: z.string().nullable(),
  effectiveFrom: z.string(),
  input: pricePerMillionOutput,
  cachedInput: pricePerMillionOutput.nullable(),
  cacheWrite: pricePerMillionOutput.nullable(),
  output: pricePerMillionOutput,
  reasoning: pricePerMillionOutput.nullable(),
});
export type PriceOutput = z.infer<typeof priceSchema>;

export const recomputeResultSchema = z.object({
  /** The recompute's id: the same call (from, to, model) resumes it until it is done. */
  id: z.string(),
  stepsDone: z.number().int(),
  done: z.boolean(),
});
export type RecomputeResult = z.infer<typeof recomputeResultSchema>;
