import fc from 'fast-check';
import { anyDate, idOf, safeObject, safeString } from './arbitraries.ts';
import { contains, ReadBackError, readRun, readStep } from './reads.ts';
import { field, type Target } from './target.ts';
import { agentId, limit, noInput, runId } from './target-arbitraries.ts';
import { trpc } from './trpc-target.ts';

/** The generators of the `providerTraces.*` procedures. */
export function providerTraceTargets(): [string, Target][] {
  return [
    trpc(
      'mutation',
      'providerTraces.create',
      {
        required: { requestJson: safeObject, responseJson: safeObject },
        optional: {
          id: idOf('providerTrace', { own: 1, other: 1, unknown: 10 }),
          stepId: idOf('step', { own: 8, unknown: 1, other: 1 }),
          runId: idOf('run', { own: 8, unknown: 1, other: 1 }),
          agentId,
          agentTags: fc.array(safeString, { maxLength: 3 }),
          callType: fc.oneof(safeString, fc.constant('agent_step')),
          createdAt: anyDate,
        },
      },
      {
        valid: 9,
        async after(s, input, answer) {
          const created = answer.data as Record<string, unknown>;
          if (!s.pools.own.providerTrace?.includes(created.id as string))
            s.pools.own.providerTrace?.push(created.id as string);
          const traceRun = field(input, 'runId');
          if (typeof traceRun === 'string' && s.pools.own.run?.includes(traceRun)) {
            const read = await readRun(s, traceRun);
            contains(read.traces, created.id as string, 'providerTraces.list({ runId })');
          }
          const traceStep = field(input, 'stepId');
          if (typeof traceStep === 'string' && s.stepRun.has(traceStep)) {
            const read = await readStep(s, traceStep);
            if (read.trace === null) throw new ReadBackError('steps.trace is null after providerTraces.create');
          }
        },
      },
    ),
    trpc('query', 'providerTraces.list', { required: { runId }, optional: { limit } }, { lookups: ['runId'] }),
    trpc('query', 'providerTraces.health', noInput),
  ];
}
