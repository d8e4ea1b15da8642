import fc from 'fast-check';
import { idOf, longString, safeString } from './arbitraries.ts';
import { ok, same } from './reads.ts';
import { field, type Target } from './target.ts';
import { page } from './target-arbitraries.ts';
import { trpc } from './trpc-target.ts';

/**
 * No `lookups`: agent ids are per organization, and runs.create's fuzz cases create agents in this organization with
 * the other one's ids, so such an id may rightly be found here (core's agent-manager.test checks NOT_FOUND).
 */
const agentId = idOf('agent');
/** Names as agents.update and runs.create take them: mostly valid, at the length edges, or empty. */
export const agentName = fc.oneof(
  { weight: 6, arbitrary: safeString },
  { weight: 1, arbitrary: fc.constantFrom('', 'x'.repeat(256), 'name%_\\') },
  { weight: 1, arbitrary: longString },
);

/** `agents.list`, in its place among the targets (its search added). */
export function agentListTarget(): [string, Target] {
  return trpc('query', 'agents.list', { optional: { search: agentName, ...page } });
}

/** The other generators of the `agents.*` procedures. */
export function agentTargets(): [string, Target][] {
  return [
    trpc('query', 'agents.retrieve', { required: { agentId } }),
    trpc(
      'mutation',
      'agents.update',
      { required: { agentId, name: fc.oneof(agentName, fc.constant(null)) } },
      {
        async after(s, input) {
          const agent = ok(
            await s.client.trpc('query', 'agents.retrieve', { agentId: field(input, 'agentId') }),
            'agents.retrieve',
          ) as { name: unknown };
          same(agent.name, field(input, 'name'), 'agents.retrieve().name');
        },
      },
    ),
  ];
}
