import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../actor.ts';
import { NotFound } from '../errors.ts';
import { StepManager } from '../steps/step-manager.ts';
import { createTestRuntime, databaseTargets, newId, type TestRuntime } from '../testing/index.ts';
import { defaultPriceFile, defaultPrices, readDefaultPriceFile } from './default-prices.ts';
import { costOf, normaliseProvider, selectPrice } from './price.ts';
import { PriceBook } from './price-book.ts';
import { PriceManager } from './price-manager.ts';
import { usageTypes } from './usage-types.ts';

/** Names providers use today: every shipped entry must be the one some name (and date) gets. */
const KNOWN_MODELS: Record<string, string[]> = {
  openai: [
    'gpt-4o',
    'gpt-4o-2024-05-13',
    'gpt-4o-2024-08-06',
    'gpt-4o-2024-11-20',
    'gpt-4o-mini',
    'gpt-4o-mini-2024-07-18',
    'gpt-4.1',
    'gpt-4.1-2025-04-14',
    'gpt-4.1-mini',
    'gpt-4.1-nano',
    'o1',
    'o1-2024-12-17',
    'o3-mini',
    'o3',
    'o3-2025-04-16',
    'o4-mini',
    'gpt-5',
    'gpt-5-mini',
    'gpt-5-nano',
  ],
  anthropic: [
    'claude-3-5-sonnet-20241022',
    'claude-3-7-sonnet-20250219',
    'claude-sonnet-4-20250514',
    'claude-sonnet-4-5',
    'claude-sonnet-4-5-20250929',
    'claude-opus-4-20250514',
    'claude-opus-4-1-20250805',
    'claude-3-5-haiku-20241022',
    'claude-haiku-4-5-20251001',
  ],
  google: [
    'gemini-1.5-flash',
    'gemini-1.5-pro-002',
    'gemini-2.0-flash',
    'gemini-2.0-flash-lite',
    'gemini-2.5-pro',
    'gemini-2.5-flash',
    'gemini-2.5-flash-lite',
  ],
};

/** The issues a refused input gets, as `field: message`. */
async function issues(promise: Promise<unknown>): Promise<string[]> {
  try {
    await promise;
  } catch (err) {
    const list = (err as { issues?: { path: PropertyKey[]; message: string }[] }).issues ?? [];
    return list.map((i) => `${i.path.join('.')}: ${i.message}`);
  }
  throw new Error('the input was accepted');
}
const issue = (field: string, message: RegExp) =>
  expect.arrayContaining([expect.stringMatching(new RegExp(`^${field}: .*${message.source}`))]);

describe('usage types', () => {
  it('counts each token once: cache reads and writes out of the prompt, reasoning out of the completion', () => {
    expect(
      usageTypes({
        promptTokens: 100,
        completionTokens: 50,
        promptTokensDetails: { cached_tokens: 30, cache_creation_tokens: 7 },
        completionTokensDetails: { reasoning_tokens: 12 },
      }),
    ).toEqual({ input: 63, cachedInput: 30, cacheWrite: 7, output: 38, reasoning: 12 });
  });

  it('takes the first alias above zero and never adds aliases up', () => {
    const u = usageTypes({
      promptTokens: 100,
      completionTokens: 20,
      promptTokensDetails: {
        cached_tokens: 0,
        cache_read_tokens: 40,
        cache_read_input_tokens: 40,
        cached_content_token_count: 40,
        cache_creation_tokens: 10,
        cache_creation_input_tokens: 10,
      },
      completionTokensDetails: { reasoning_tokens: 5, thoughts_token_count: 5 },
    });
    expect(u).toEqual({ input: 50, cachedInput: 40, cacheWrite: 10, output: 15, reasoning: 5 });
    expect(
      usageTypes({
        promptTokens: 10,
        completionTokens: 9,
        promptTokensDetails: { cached_content_token_count: 4 },
        completionTokensDetails: { thoughts_token_count: 3 },
      }),
    ).toEqual({ input: 6, cachedInput: 4, cacheWrite: 0, output: 6, reasoning: 3 });
  });

  it('caps details of steps recorded before the check at their totals, so the types still add up', () => {
    const u = usageTypes({
      promptTokens: 10,
      completionTokens: 2,
      promptTokensDetails: { cached_tokens: 8, cache_creation_tokens: 8 },
      completionTokensDetails: { reasoning_tokens: 9 },
    });
    expect(u).toEqual({ input: 0, cachedInput: 8, cacheWrite: 2, output: 0, reasoning: 2 });
  });
});

describe('shipped prices', () => {
  it('have a source, a date, decimal prices, compiling patterns, and every entry reachable', () => {
    const file = defaultPriceFile.parse(readDefaultPriceFile());
    expect(file.source.length).toBeGreaterThan(0);
    const prices = defaultPrices();
    expect(prices).toHaveLength(file.prices.length);
    expect(new Set(prices.map((p) => p.id)).size).toBe(prices.length);
    const reached = new Set<string>();
    for (const price of prices) {
      for (const model of KNOWN_MODELS[price.provider ?? ''] ?? []) {
        const chosen = selectPrice(prices, { provider: price.provider, model, at: price.effectiveFrom });
        if (chosen) reached.add(chosen.id);
      }
    }
    expect(prices.map((p) => p.id).filter((id) => !reached.has(id))).toEqual([]);
  });

  it('match dated snapshots by pattern and whole names only, and Google under any of its provider names', () => {
    const prices = defaultPrices();
    const at = '2026-01-01T00:00:00.000000Z';
    expect(selectPrice(prices, { provider: 'openai', model: 'gpt-4o-2024-08-06', at })?.ppt.input).toBe(2_500_000n);
    expect(selectPrice(prices, { provider: 'openai', model: 'xgpt-4o-2024-08-06', at })).toBeNull();
    expect(selectPrice(prices, { provider: 'openai', model: 'gpt-4o-mini-2024-07-18x', at })).toBeNull();
    expect(selectPrice(prices, { provider: 'anthropic', model: 'gpt-4o', at })).toBeNull();
    expect(selectPrice(prices, { provider: null, model: 'gpt-4o', at })).toBeNull();
    for (const provider of ['google_ai', 'google_vertex', 'Gemini', 'google']) {
      expect(normaliseProvider(provider)).toBe('google');
      expect(selectPrice(prices, { provider, model: 'gemini-2.0-flash', at })?.ppt.output).toBe(400_000n);
    }
    // The o3 price cut applies from its date on, not before.
    expect(selectPrice(prices, { provider: 'openai', model: 'o3', at: '2025-05-01T00:00:00.000000Z' })?.ppt.input).toBe(
      10_000_000n,
    );
    expect(selectPrice(prices, { provider: 'openai', model: 'o3', at })?.ppt.input).toBe(2_000_000n);
  });

  it('price reasoning at the output price and leave cache writes without a price unpriced', () => {
    const price = selectPrice(defaultPrices(), {
      provider: 'openai',
      model: 'gpt-4.1',
      at: '2026-01-01T00:00:00.000000Z',
    });
    const usage = { input: 63, cachedInput: 30, cacheWrite: 7, output: 38, reasoning: 12 };
    expect(costOf(usage, 150, price)).toMatchObject({ costPusd: 541_000_000n, unpricedTokens: 7 });
    expect(costOf(usage, 150, null)).toMatchObject({ costPusd: null, unpricedTokens: 150, priceId: null });
  });
});

describe.each(databaseTargets())('prices and cost on $name', (target) => {
  let rt: TestRuntime;
  let actor: Actor;
  let other: Actor;

  beforeAll(async () => {
    rt = await createTestRuntime(target);
    await rt.auth.ensureDefaultActor();
    const a = await rt.auth.createOrganization('pricing');
    actor = { organizationId: a.id, userId: a.userId };
    const b = await rt.auth.createOrganization('other');
    other = { organizationId: b.id, userId: b.userId };
  });
  afterAll(async () => {
    await rt?.dispose();
  });

  const run = () => rt.runs.create(actor, { agentId: newId('agent') });

  it('prices a step when recorded and adds it to its run, once even when retried', async () => {
    const r = await run();
    const input = {
      id: newId('step'),
      runId: r.id,
      providerName: 'Anthropic',
      model: 'claude-sonnet-4-5-20250929',
      promptTokens: 1_000,
      completionTokens: 200,
      promptTokensDetails: { cache_read_input_tokens: 600, cache_creation_input_tokens: 100 },
      llmRequestNs: '1000',
      status: 'failed' as const,
    };
    const step = await rt.steps.create(actor, input);
    // 300 × $3 + 600 × $0.3 + 100 × $3.75 + 200 × $15 per million = 0.004455
    expect(step).toMatchObject({
      inputTokens: 300,
      cachedInputTokens: 600,
      cacheWriteTokens: 100,
      outputTokens: 200,
      reasoningTokens: 0,
      costUsd: '0.004455',
      unpricedTokens: 0,
      priceId: 'default:anthropic:^claude-sonnet-4-5(-\\d{8})?$@2025-09-29',
    });
    expect(await rt.steps.create(actor, input)).toEqual(step);
    await rt.steps.create(actor, { runId: r.id, model: 'unknown-model', promptTokens: 5, completionTokens: 6 });
    const totals = await rt.runs.retrieve(actor, { runId: r.id });
    expect(totals).toMatchObject({
      stepCount: 2,
      stepErrors: 1,
      totalTokens: 1_211,
      costUsd: '0.004455',
      unpricedTokens: 11,
      llmNs: '1000',
      model: 'claude-sonnet-4-5-20250929',
      provider: 'anthropic',
    });
    expect(await rt.runs.usage(actor, { runId: r.id })).toMatchObject({
      cachedInputTokens: 600,
      cacheWriteTokens: 100,
      costUsd: '0.004455',
      unpricedTokens: 11,
    });
    expect((await rt.runs.metrics(actor, { runId: r.id })).numSteps).toBe(2);
  });

  it('refuses details larger than their totals, naming the field', async () => {
    const r = await run();
    expect(
      await issues(
        rt.steps.create(actor, {
          runId: r.id,
          promptTokens: 10,
          promptTokensDetails: { cached_tokens: 8, cache_creation_tokens: 3 },
        }),
      ),
    ).toEqual(issue('promptTokensDetails', /exceed promptTokens/));
    expect(
      await issues(
        rt.steps.create(actor, {
          runId: r.id,
          completionTokens: 1,
          completionTokensDetails: { thoughts_token_count: 2 },
        }),
      ),
    ).toEqual(issue('completionTokensDetails', /exceed completionTokens/));
    expect(
      await issues(
        rt.steps.create(actor, {
          runId: r.id,
          promptTokens: 10,
          promptTokensDetails: { cache_read_input_tokens: 1.5 },
        }),
      ),
    ).toEqual(issue('promptTokensDetails.cache_read_input_tokens', /expected int/));
  });

  it('applies an organization price over the default, exact over pattern, and a new price to later steps only', async () => {
    const early = '2000-01-01T00:00:00Z';
    await rt.prices.upsert(actor, {
      provider: 'openai',
      modelPattern: 'gpt-4o(-.*)?',
      effectiveFrom: early,
      input: '1',
      output: '1',
    });
    const r = await run();
    const viaPattern = await rt.steps.create(actor, {
      runId: r.id,
      providerName: 'openai',
      model: 'gpt-4o',
      promptTokens: 1_000_000,
    });
    expect(viaPattern.costUsd).toBe('1');
    const exact = await rt.prices.upsert(actor, {
      provider: 'OpenAI',
      model: 'gpt-4o',
      effectiveFrom: early,
      input: '2',
      output: '2',
    });
    expect(exact).toMatchObject({ provider: 'openai', isDefault: false, input: '2', reasoning: null });
    const before = await rt.steps.create(actor, {
      runId: r.id,
      providerName: 'openai',
      model: 'gpt-4o',
      promptTokens: 1_000_000,
    });
    expect(before).toMatchObject({ costUsd: '2', priceId: exact.id });
    // Another organization still gets the shipped default.
    const theirs = await rt.steps.create(other, {
      runId: (await rt.runs.create(other, { agentId: newId('agent') })).id,
      providerName: 'openai',
      model: 'gpt-4o',
      promptTokens: 1_000_000,
    });
    expect(theirs.costUsd).toBe('2.5');

    const change = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const raised = await rt.prices.upsert(actor, {
      provider: 'openai',
      model: 'gpt-4o',
      effectiveFrom: change,
      input: '3',
      output: '3',
    });
    const after = await rt.steps.create(actor, {
      runId: r.id,
      providerName: 'openai',
      model: 'gpt-4o',
      promptTokens: 1_000_000,
    });
    expect(after).toMatchObject({ costUsd: '3', priceId: raised.id });
    expect((await rt.steps.retrieve(actor, { stepId: before.id })).costUsd).toBe('2');

    // A correction of the earlier price, then a recompute: each step at the price in effect at its own time.
    const corrected = await rt.prices.upsert(actor, {
      provider: 'openai',
      model: 'gpt-4o',
      effectiveFrom: early,
      input: '2.25',
      output: '2',
    });
    expect(corrected.id).toBe(exact.id);
    const done = await rt.prices.recompute(actor, { from: early, to: '2100-01-01T00:00:00Z' });
    expect(done).toMatchObject({ done: true });
    expect(done.stepsDone).toBeGreaterThanOrEqual(3);
    expect((await rt.steps.retrieve(actor, { stepId: viaPattern.id })).costUsd).toBe('2.25');
    expect((await rt.steps.retrieve(actor, { stepId: before.id })).costUsd).toBe('2.25');
    expect((await rt.steps.retrieve(actor, { stepId: after.id })).costUsd).toBe('3');
    expect((await rt.runs.retrieve(actor, { runId: r.id })).costUsd).toBe('7.5');
    expect((await rt.steps.retrieve(other, { stepId: theirs.id })).costUsd).toBe('2.5');

    const listed = await rt.prices.list(actor, {});
    expect(listed.items.map((p) => p.id).sort()).toEqual(
      [exact.id, raised.id, listed.items.find((p) => p.modelPattern)?.id].sort(),
    );
    expect((await rt.prices.list(actor, { includeDefaults: true })).items.some((p) => p.isDefault)).toBe(true);
    expect((await rt.prices.list(other, {})).items).toEqual([]);
  });

  it('sees another process’s price change once its copy expires, and its own change at once', async () => {
    const r = await run();
    const model = `ttl-${newId('agent')}`;
    const otherProcess = new StepManager({ db: rt.database.db, prices: new PriceBook(rt.database.db, { ttlMs: 200 }) });
    const step = () => otherProcess.create(actor, { runId: r.id, model, promptTokens: 1_000_000 });
    expect((await step()).costUsd).toBeNull();
    await rt.prices.upsert(actor, { model, effectiveFrom: '2000-01-01T00:00:00Z', input: '1', output: '1' });
    expect((await step()).costUsd).toBeNull();
    expect((await rt.steps.create(actor, { runId: r.id, model, promptTokens: 1_000_000 })).costUsd).toBe('1');
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await step()).costUsd).toBe('1');
  });

  it('answers another organization’s price, an unknown one and a default as not found', async () => {
    const mine = await rt.prices.upsert(actor, {
      model: 'to-delete',
      effectiveFrom: '2001-01-01T00:00:00Z',
      input: '1',
      output: '1',
    });
    await expect(rt.prices.delete(other, { priceId: mine.id })).rejects.toBeInstanceOf(NotFound);
    await expect(rt.prices.delete(actor, { priceId: newId('price') })).rejects.toBeInstanceOf(NotFound);
    await expect(rt.prices.delete(actor, { priceId: defaultPrices()[0]?.id ?? '' })).rejects.toBeInstanceOf(NotFound);
    expect(await rt.prices.delete(actor, { priceId: mine.id })).toMatchObject({ id: mine.id });
    await expect(rt.prices.delete(actor, { priceId: mine.id })).rejects.toBeInstanceOf(NotFound);
  });

  it('refuses bad prices naming the field', async () => {
    const base = { model: 'm', effectiveFrom: '2001-01-01T00:00:00Z', input: '1', output: '1' };
    const pattern = { ...base, model: undefined };
    expect(await issues(rt.prices.upsert(actor, { ...base, input: '1.1234567' }))).toEqual(issue('input', /decimal/));
    expect(await issues(rt.prices.upsert(actor, { ...base, output: '-1' }))).toEqual(issue('output', /decimal/));
    expect(await issues(rt.prices.upsert(actor, { ...base, modelPattern: 'm.*' }))).toEqual(
      issue('model', /exactly one of model/),
    );
    expect(await issues(rt.prices.upsert(actor, { ...pattern, modelPattern: '(' }))).toEqual(
      issue('modelPattern', /not a valid regular expression/),
    );
    expect(await issues(rt.prices.upsert(actor, { ...pattern, modelPattern: '(a+)+' }))).toEqual(
      issue('modelPattern', /catastrophic/),
    );
    expect(await issues(rt.prices.upsert(actor, { ...pattern, modelPattern: 'a'.repeat(201) }))).toEqual(
      issue('modelPattern', /200/),
    );
    expect(
      await issues(rt.prices.recompute(actor, { from: '2001-01-02T00:00:00Z', to: '2001-01-01T00:00:00Z' })),
    ).toEqual(issue('to', /must be after from/));
  });

  it('recomputes in batches, resumes where it stopped, and fills steps recorded before pricing', async () => {
    const org = await rt.auth.createOrganization('recompute');
    const me = { organizationId: org.id, userId: org.userId };
    const runs = [
      await rt.runs.create(me, { agentId: newId('agent') }),
      await rt.runs.create(me, { agentId: newId('agent') }),
    ];
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const step = await rt.steps.create(me, {
        runId: runs[i % 2]?.id ?? '',
        providerName: 'openai',
        model: 'gpt-4o-mini',
        promptTokens: 1_000_000,
        completionTokens: 1_000_000,
        completionTokensDetails: { reasoning_tokens: 500_000 },
      });
      expect(step.costUsd).toBe('0.75');
      ids.push(step.id);
    }
    // As the migration left steps and runs recorded before pricing: no usage types, no cost, all tokens unpriced.
    const db = rt.database.db;
    await db.execute(sql`update steps set input_tokens = null, cached_input_tokens = null, cache_write_tokens = null,
      output_tokens = null, reasoning_tokens = null, cost_pusd = null, unpriced_tokens = null, price_id = null
      where organization_id = ${org.id}`);
    await db.execute(
      sql`update runs set cost_pusd = null, unpriced_tokens = total_tokens where organization_id = ${org.id}`,
    );
    expect(await rt.steps.retrieve(me, { stepId: ids[0] ?? '' })).toMatchObject({
      costUsd: null,
      unpricedTokens: 2_000_000,
      outputTokens: 500_000,
      reasoningTokens: 500_000,
    });
    await rt.prices.upsert(me, {
      model: 'gpt-4o-mini',
      effectiveFrom: '2000-01-01T00:00:00Z',
      input: '1',
      output: '2',
    });

    const prices = new PriceManager({ db, book: new PriceBook(db), recomputeBatchSize: 2 });
    const range = { from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' };
    const first = await prices.recompute(me, { ...range, maxBatches: 1 });
    expect(first).toMatchObject({ stepsDone: 2, done: false });
    const priced = async () =>
      (await Promise.all(ids.map((stepId) => rt.steps.retrieve(me, { stepId })))).map((s) => s.costUsd);
    expect(await priced()).toEqual(['3', '3', null, null, null]);
    const second = await prices.recompute(me, { ...range, maxBatches: 1 });
    expect(second).toEqual({ id: first.id, stepsDone: 4, done: false });
    // Another model's recompute is another recompute.
    expect((await prices.recompute(me, { ...range, model: 'gpt-4o', maxBatches: 1 })).id).not.toBe(first.id);
    const last = await prices.recompute(me, range);
    expect(last).toEqual({ id: first.id, stepsDone: 5, done: true });
    expect(await priced()).toEqual(['3', '3', '3', '3', '3']);
    const [a, b] = await Promise.all(runs.map((r) => rt.runs.retrieve(me, { runId: r.id })));
    expect(a).toMatchObject({ costUsd: '9', unpricedTokens: 0 });
    expect(b).toMatchObject({ costUsd: '6', unpricedTokens: 0 });
    expect(await rt.steps.retrieve(me, { stepId: ids[0] ?? '' })).toMatchObject({
      unpricedTokens: 0,
      outputTokens: 500_000,
    });
    // Done: the same call starts over, and re-pricing at unchanged prices changes no total.
    const again = await prices.recompute(me, range);
    expect(again.id).not.toBe(first.id);
    expect(await rt.runs.retrieve(me, { runId: runs[0]?.id ?? '' })).toMatchObject({ costUsd: '9', unpricedTokens: 0 });
  });
});
