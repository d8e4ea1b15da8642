/** The message lists of a run and of a step: one route shape over the MessageManager, Letta's LettaMessage union. */
import { z } from 'zod';
import { MessageShape, toLettaMessage } from './shapes.ts';
import { idWindow, type LettaRoute, pageQuery, pathId } from './shared.ts';

/** `GET /v1/runs/{run_id}/messages` or `GET /v1/steps/{step_id}/messages`: chronological by default. */
export function messageListRoute(of: 'run' | 'step'): LettaRoute {
  return {
    method: 'GET',
    url: `/v1/${of}s/:${of}_id/messages`,
    operationId: `list_messages_for_${of}`,
    summary: `List the messages of a ${of} (chronological by default); \`after\`/\`before\` are message ids.`,
    tag: `${of}s`,
    query: pageQuery('asc'),
    response: z.array(MessageShape.schema),
    async handler({ runtime, actor, params, query: q }) {
      const id = pathId(of, params[`${of}_id`] as string);
      // The run or step first: its 400/404 before any cursor's.
      const list = of === 'run' ? { runId: id } : { stepId: id };
      if (of === 'run') await runtime.runs.retrieve(actor, { runId: id });
      else await runtime.steps.retrieve(actor, { stepId: id });
      const messages = await idWindow({
        order: q.order as 'asc' | 'desc',
        limit: q.limit as number,
        after: q.after as string | undefined,
        before: q.before as string | undefined,
        cursorFor: (messageId, o) => runtime.messages.cursorFor(actor, list, messageId, o),
        list: (o, limit, cursor, until) =>
          of === 'run'
            ? runtime.messages.listByRun(actor, { runId: id, order: o, limit, cursor }, { until })
            : runtime.messages.listByStep(actor, { stepId: id, order: o, limit, cursor }, { until }),
      });
      return messages.map(toLettaMessage);
    },
  };
}
