/**
 * Tokens by the usage types providers bill separately. Letta's convention (letta-behavior §16): `promptTokens`
 * includes cache reads and cache writes (Anthropic's prompt totals are summed that way), `completionTokens` includes
 * reasoning. So input = prompt − cache read − cache write and output = completion − reasoning: every token lands in
 * exactly one type.
 */

/**
 * Detail keys that report cache reads, by provider: OpenAI `cached_tokens`, Letta `cache_read_tokens`, Anthropic
 * `cache_read_input_tokens`, Gemini `cached_content_token_count`. They are aliases of one count: the first one above
 * zero is taken, never their sum.
 */
export const CACHE_READ_KEYS = [
  'cached_tokens',
  'cache_read_tokens',
  'cache_read_input_tokens',
  'cached_content_token_count',
] as const;
/** Cache writes: Letta `cache_creation_tokens`, Anthropic `cache_creation_input_tokens` (aliases, as above). */
export const CACHE_WRITE_KEYS = ['cache_creation_tokens', 'cache_creation_input_tokens'] as const;
/** Reasoning: OpenAI `reasoning_tokens`, Gemini `thoughts_token_count` (aliases, as above). */
export const REASONING_KEYS = ['reasoning_tokens', 'thoughts_token_count'] as const;

export const USAGE_TYPES = ['input', 'cachedInput', 'cacheWrite', 'output', 'reasoning'] as const;
export type UsageType = (typeof USAGE_TYPES)[number];
export type UsageTypes = Record<UsageType, number>;

type Details = Record<string, unknown> | null | undefined;

/** The count the first of `keys` above zero reports, else 0: aliases of one count are never added up. */
export function detailCount(details: Details, keys: readonly string[]): number {
  for (const key of keys) {
    const value = details?.[key];
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  }
  return 0;
}

/** What a step reports of its tokens (the fields of steps.create). */
export interface StepTokens {
  promptTokens: number;
  completionTokens: number;
  promptTokensDetails?: Details;
  completionTokensDetails?: Details;
}

/**
 * The step's tokens by usage type; they add up to promptTokens + completionTokens. steps.create refuses details
 * larger than their totals; a step stored before that check has its details capped at the totals here.
 */
export function usageTypes(step: StepTokens): UsageTypes {
  const prompt = Math.max(0, step.promptTokens);
  const completion = Math.max(0, step.completionTokens);
  const cachedInput = Math.min(detailCount(step.promptTokensDetails, CACHE_READ_KEYS), prompt);
  const cacheWrite = Math.min(detailCount(step.promptTokensDetails, CACHE_WRITE_KEYS), prompt - cachedInput);
  const reasoning = Math.min(detailCount(step.completionTokensDetails, REASONING_KEYS), completion);
  return {
    input: prompt - cachedInput - cacheWrite,
    cachedInput,
    cacheWrite,
    output: completion - reasoning,
    reasoning,
  };
}
