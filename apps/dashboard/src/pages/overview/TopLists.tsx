import type { RouterOutputs } from '@runtrace/client';
import { formatMs } from '../../lib/format.ts';
import { formatUsd, shortAgentId } from '../../lib/overview-series.ts';
import { type RunsView, runsHref } from '../../lib/runs-view.ts';
import type { TimeRange } from '../../lib/time-range.ts';

type Summary = RouterOutputs['analytics']['summary'];
type TopEntry = Summary['topAgentsByCost'][number];

interface TopList {
  key: 'topAgentsByCost' | 'topAgentsByP95' | 'topModelsByCost' | 'topModelsByP95';
  title: string;
  agents: boolean;
  value(entry: TopEntry): number | null;
  format(value: number): string;
  sortBy: RunsView['sortBy'];
}

const LISTS: readonly TopList[] = [
  {
    key: 'topAgentsByCost',
    title: 'Agents by cost',
    agents: true,
    value: (e) => Number(e.costUsd),
    format: formatUsd,
    sortBy: 'cost',
  },
  {
    key: 'topAgentsByP95',
    title: 'Agents by p95 run duration',
    agents: true,
    value: (e) => e.p95Ms,
    format: formatMs,
    sortBy: 'duration',
  },
  {
    key: 'topModelsByCost',
    title: 'Models by cost',
    agents: false,
    value: (e) => Number(e.costUsd),
    format: formatUsd,
    sortBy: 'cost',
  },
  {
    key: 'topModelsByP95',
    title: 'Models by p95 time to first token',
    agents: false,
    value: (e) => e.p95Ms,
    format: formatMs,
    sortBy: 'created',
  },
];

/**
 * `analytics.summary`'s four top lists, each entry a link to the runs list filtered to that agent or model over the
 * same range, with a bar for its share of the list's largest value.
 */
export function TopLists({ summary, range }: { summary: Summary; range: TimeRange }) {
  return (
    <div className="top-lists">
      {LISTS.map((list) => {
        const entries = summary[list.key];
        const max = Math.max(0, ...entries.map((e) => list.value(e) ?? 0));
        return (
          <section key={list.key} className="card top-list" data-testid={list.key} aria-labelledby={list.key}>
            <h2 id={list.key}>{list.title}</h2>
            {entries.length === 0 ? (
              <p className="muted">None in this range.</p>
            ) : (
              <ol>
                {entries.map((e) => {
                  const value = list.value(e);
                  const label = list.agents ? (e.name ?? shortAgentId(e.key)) : e.key;
                  return (
                    <li key={e.key}>
                      <a
                        href={runsHref({
                          filters: list.agents ? { agentId: e.key } : { models: [e.key] },
                          range,
                          sortBy: list.sortBy,
                        })}
                        data-testid="top-entry"
                        title={list.agents && !e.name ? e.key : undefined}
                      >
                        {label}
                      </a>
                      <span className="top-value">{value === null ? '—' : list.format(value)}</span>
                      <span className="top-bar" aria-hidden="true">
                        <span style={{ width: `${max > 0 && value ? (value / max) * 100 : 0}%` }} />
                      </span>
                    </li>
                  );
                })}
              </ol>
            )}
          </section>
        );
      })}
    </div>
  );
}
