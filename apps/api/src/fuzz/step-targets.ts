import { FEEDBACK_VALUES, STOP_REASONS } from '@runtrace/core/runs';
import fc from 'fast-check';
import { idOf, safeObject, safeString } from './arbitraries.ts';
import { contains, ok, readStep, same } from './reads.ts';
import type { Target } from './target.ts';
import { hex, nanos, runId, stepId, tokens } from './target-arbitraries.ts';
import { trpc } from './trpc-target.ts';

/** Token details as providers send them, including the values that broke `runs.usage`. */
const tokenDetails = fc.dictionary(
  fc.constantFrom(
    'cached_tokens',
    'cache_read_tokens',
    'cache_read_input_tokens',
    'cached_content_token_count',
    'cache_creation_tokens',
    'cache_creation_input_tokens',
    'reasoning_tokens',
    'thoughts_token_count',
    'audio_tokens',
  ),
  fc.oneof(
    { weight: 6, arbitrary: fc.nat(10_000) },
    { weight: 1, arbitrary: fc.constantFrom(1.5, 'abc', 1e30, [1], true, null, -1, 2 ** 31) },
  ),
  { maxKeys: 3 },
);

/** The generators of the `steps.*` procedures. */
export function stepTargets(): [string, Target][] {
  return [
    trpc('query', 'steps.retrieve', { required: { stepId } }, { lookups: ['stepId'] }),
    trpc('query', 'steps.trace', { required: { stepId } }, { lookups: ['stepId'] }),
    trpc(
      'mutation',
      'steps.create',
      {
        required: { runId },
        optional: {
          id: idOf('step', { own: 1, other: 1, unknown: 10 }),
          origin: safeString,
          providerId: safeString,
          providerName: safeString,
          providerCategory: safeString,
          model: fc.oneof(safeString, fc.constantFrom('gpt-4o-mini', 'claude')),
          modelEndpoint: safeString,
          contextWindowLimit: tokens,
          promptTokens: tokens,
          completionTokens: tokens,
          totalTokens: tokens,
          promptTokensDetails: tokenDetails,
          completionTokensDetails: tokenDetails,
          stopReason: fc.constantFrom(...STOP_REASONS),
          tags: fc.array(safeString, { maxLength: 3 }),
          tid: safeString,
          traceId: fc.oneof(hex(16), safeString),
          requestId: safeString,
          feedback: fc.constantFrom(...FEEDBACK_VALUES),
          projectId: safeString,
          errorType: safeString,
          errorData: safeObject,
          status: fc.constantFrom('pending', 'success', 'failed'),
          stepStartNs: nanos,
          llmRequestStartNs: nanos,
          llmRequestNs: nanos,
          toolExecutionNs: nanos,
          stepNs: nanos,
        },
      },
      {
        lookups: ['runId'],
        valid: 9,
        async after(s, _input, answer) {
          const created = answer.data as Record<string, unknown>;
          const id = created.id as string;
          if (!s.pools.own.step?.includes(id)) s.pools.own.step?.push(id);
          s.stepRun.set(id, created.runId as string);
          const read = await readStep(s, id);
          same(read.step, created, 'steps.retrieve');
          for (const [name, value] of [
            ['model', created.model],
            ['trace_ids', created.traceId],
            ['tags', (created.tags as string[])[0]],
          ] as const) {
            if (typeof value !== 'string') continue;
            const list = await s.client.rest('GET', '/v1/steps/', { query: { [name]: value, limit: 1000 } });
            contains(ok(list, `GET /v1/steps/?${name}`), id, `GET /v1/steps/?${name}=…`);
          }
        },
      },
    ),
  ];
}
