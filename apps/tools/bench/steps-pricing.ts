import { newId } from '@runtrace/core';
import { type Price, PriceBook } from '@runtrace/core/pricing';
import { type CreateStepInput, StepManager } from '@runtrace/core/runs';
import type { BenchContext, BenchSection } from './section.ts';
import { int, measure, measureInterleaved, ms, ratio, type Summary } from './stats.ts';
import { formatTable } from './table.ts';

/** The cost of pricing on steps.create may be at most this factor of steps.create without it (issue 14). */
const TARGET_RATIO = 1.1;
/** Workers creating steps at once; steps are spread over this many runs × 8, so run rows are rarely contended. */
const CONCURRENCY = 8;

/** A price book with no prices at all: steps.create exactly as it runs without pricing (nothing to look up). */
class NoPrices extends PriceBook {
  override prices(): Promise<Price[]> {
    return Promise.resolve([]);
  }
}

/**
 * steps.create with pricing (a gpt-4o step with cached tokens, priced by the shipped defaults) beside the same
 * create with a price book that holds nothing, taking turns in 5 rounds at concurrency {@link CONCURRENCY}, in this
 * process through the StepManager: what pricing adds to a create, with no HTTP to dilute it. Both write the step and
 * its run's totals (and the analytics rollups through their triggers) in one transaction.
 */
export const stepsPricingSection: BenchSection = {
  name: 'steps.pricing',
  needsSeed: false,
  async run({ env, options, log }: BenchContext) {
    const { runtime } = env;
    const org = await runtime.auth.createOrganization('pricing bench');
    const actor = { organizationId: org.id, userId: org.userId };
    const agentId = newId('agent');
    const runIds: string[] = [];
    for (let i = 0; i < CONCURRENCY * 8; i++) runIds.push((await runtime.runs.create(actor, { agentId })).id);
    const input = (i: number): CreateStepInput => ({
      runId: runIds[i % runIds.length] as string,
      providerName: 'openai',
      model: 'gpt-4o',
      promptTokens: 1800 + (i % 400),
      completionTokens: 240 + (i % 60),
      promptTokensDetails: { cached_tokens: 1024 },
      status: 'success',
      llmRequestNs: 1_200_000_000,
    });
    const priced = runtime.steps;
    const unpriced = new StepManager({ db: runtime.database.db, prices: new NoPrices(runtime.database.db) });
    const [check] = [await priced.create(actor, input(0))];
    if (check?.costUsd == null)
      throw new Error('the priced scenario did not price its step: check default-prices.json');
    log(
      `    steps.create with and without pricing: ${int(options.stepCreates)} each at concurrency ${CONCURRENCY}, taking turns in 5 rounds …`,
    );
    const [withPricing, without] = (await measureInterleaved(
      [
        { name: 'priced', concurrency: CONCURRENCY, run: (i) => priced.create(actor, input(i)) },
        { name: 'unpriced', concurrency: CONCURRENCY, run: (i) => unpriced.create(actor, input(i)) },
      ],
      { requests: options.stepCreates, rounds: 5 },
    )) as [Summary, Summary];
    // What the analytics rollups cost each create: the same, with the rollup triggers off (measured after, not taking
    // turns: the triggers are a table's, off for every session). The scratch database goes with the bench.
    await env.sql`alter table steps disable trigger user`;
    await env.sql`alter table runs disable trigger user`;
    let noRollups: Summary;
    try {
      noRollups = await measure(
        { name: 'no rollups', concurrency: CONCURRENCY, run: (i) => unpriced.create(actor, input(i)) },
        { requests: options.stepCreates },
      );
    } finally {
      await env.sql`alter table steps enable trigger user`;
      await env.sql`alter table runs enable trigger user`;
    }
    const throughputRatio = without.perSecond / withPricing.perSecond;
    const row = (name: string, s: Summary) => [
      name,
      int(s.n),
      int(s.perSecond),
      ms(s.p50),
      ms(s.p99),
      ms(s.cpuMsPerOp),
    ];
    const table = formatTable(
      [
        { header: `steps.create (StepManager, c=${CONCURRENCY})`, align: 'left' },
        { header: 'n' },
        { header: 'steps/s' },
        { header: 'p50 ms' },
        { header: 'p99 ms' },
        { header: 'cpu ms/step' },
      ],
      [
        row('with pricing (gpt-4o, cached tokens)', withPricing),
        row('without pricing (empty price book)', without),
        row('without pricing, rollup triggers off', noRollups),
      ],
    );
    return {
      title: 'steps.create: the cost of pricing each step',
      table,
      notes: [
        `throughput without ÷ with pricing: ${ratio(throughputRatio)} (target ≤ ${TARGET_RATIO}×); p50 with ÷ without: ${ratio(withPricing.p50 / without.p50)}; CPU per step with ÷ without: ${ratio(withPricing.cpuMsPerOp / without.cpuMsPerOp)}`,
        `the analytics rollups (statement triggers, three levels, one hot row per hour and model at this load): throughput without ÷ with them ${ratio(noRollups.perSecond / without.perSecond)}, measured after the interleaved pair`,
        'cpu ms/step is this process (the manager, postgres.js, the bench loop), not Postgres; the priced step costs ' +
          `${check.costUsd} USD (${check.priceId})`,
      ],
      checks: [
        {
          name: `steps.create with pricing within ${TARGET_RATIO}× of without (throughput)`,
          pass: throughputRatio <= TARGET_RATIO,
        },
      ],
    };
  },
};
