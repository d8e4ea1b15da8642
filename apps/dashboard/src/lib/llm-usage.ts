/** What an LLM span says about its call: the model, tokens and cost, where its attributes carry them. */
export interface LlmUsage {
  model: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  /** In the currency the exporter used (USD by the conventions that define it). */
  cost: number | null;
}

const first = (attrs: Record<string, string>, keys: readonly string[]): string | null => {
  for (const key of keys) {
    const value = attrs[key];
    if (value !== undefined && value !== '') return value;
  }
  return null;
};

const numberOf = (attrs: Record<string, string>, keys: readonly string[]): number | null => {
  const value = first(attrs, keys);
  if (value === null) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
};

/**
 * Reads the model, tokens and cost from OpenTelemetry gen_ai attributes (`gen_ai.response.model` before
 * `gen_ai.request.model`; `gen_ai.usage.input_tokens`/`output_tokens`, and the older `prompt_tokens`/
 * `completion_tokens`) and OpenInference's (`llm.model_name`, `llm.token_count.prompt|completion|total`,
 * `llm.cost.total`). The total is the sum when no attribute states it. Null when the span names none of these.
 */
export function llmUsageOf(attrs: Record<string, string>): LlmUsage | null {
  const usage: LlmUsage = {
    model: first(attrs, ['gen_ai.response.model', 'gen_ai.request.model', 'llm.model_name']),
    inputTokens: numberOf(attrs, ['gen_ai.usage.input_tokens', 'gen_ai.usage.prompt_tokens', 'llm.token_count.prompt']),
    outputTokens: numberOf(attrs, [
      'gen_ai.usage.output_tokens',
      'gen_ai.usage.completion_tokens',
      'llm.token_count.completion',
    ]),
    totalTokens: numberOf(attrs, ['gen_ai.usage.total_tokens', 'llm.token_count.total']),
    cost: numberOf(attrs, ['gen_ai.usage.cost', 'llm.cost.total']),
  };
  if (usage.totalTokens === null && (usage.inputTokens !== null || usage.outputTokens !== null)) {
    usage.totalTokens = (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0);
  }
  return Object.values(usage).every((v) => v === null) ? null : usage;
}

/** One line for a row: `gpt-4.1 · 812 in / 64 out · $0.0031`. */
export function usageSummary(usage: LlmUsage): string {
  const parts: string[] = [];
  if (usage.model) parts.push(usage.model);
  if (usage.inputTokens !== null || usage.outputTokens !== null) {
    parts.push(
      `${(usage.inputTokens ?? 0).toLocaleString('en-US')} in / ${(usage.outputTokens ?? 0).toLocaleString('en-US')} out`,
    );
  } else if (usage.totalTokens !== null) {
    parts.push(`${usage.totalTokens.toLocaleString('en-US')} tok`);
  }
  if (usage.cost !== null) parts.push(formatCost(usage.cost));
  return parts.join(' · ');
}

/** A cost with enough digits to be nonzero for one call: `$0.0031`, `$1.24`. */
export function formatCost(cost: number): string {
  if (cost === 0) return '$0';
  return `$${cost >= 1 ? cost.toFixed(2) : cost.toPrecision(2)}`;
}
