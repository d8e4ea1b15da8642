import { CopyButton } from '../components/CopyButton.tsx';
import { StatusBadge } from '../components/StatusBadge.tsx';
import { formatCount, formatNs, formatRelative, formatTime, formatUsd, shortId } from '../lib/format.ts';
import { routeHref } from '../lib/route.ts';
import type { RunSortKey, RunsView } from '../lib/runs-view.ts';
import type { Run } from '../lib/types.ts';

interface Column {
  key: string;
  label: string;
  /** The server-side sort this column's header offers. */
  sort?: RunSortKey;
}

/** The list's columns, in order; a row's cells carry the same keys (`c-<key>`), which the stylesheet lays out. */
export const RUN_COLUMNS: readonly Column[] = [
  { key: 'status', label: 'Status' },
  { key: 'id', label: 'Run' },
  { key: 'agent', label: 'Agent' },
  { key: 'model', label: 'Model' },
  { key: 'steps', label: 'Steps' },
  { key: 'tokens', label: 'Tokens', sort: 'tokens' },
  { key: 'cost', label: 'Cost', sort: 'cost' },
  { key: 'ttft', label: 'TTFT' },
  { key: 'duration', label: 'Duration', sort: 'duration' },
  { key: 'created', label: 'Created', sort: 'created' },
  { key: 'stop', label: 'Stop reason' },
];

/** The header row: sortable columns are buttons (a second press reverses the order), `aria-sort` on the header. */
export function RunsHeader({
  view,
  onSort,
}: {
  view: RunsView;
  onSort(sortBy: RunSortKey, order: 'asc' | 'desc'): void;
}) {
  return (
    <tr className="run-row head" aria-rowindex={1}>
      {RUN_COLUMNS.map((column) => {
        const active = column.sort !== undefined && column.sort === view.sortBy;
        const sort = column.sort;
        return (
          <th
            key={column.key}
            scope="col"
            className={`c-${column.key}${sort ? ' sortable' : ''}`}
            aria-sort={sort ? (active ? (view.order === 'asc' ? 'ascending' : 'descending') : 'none') : undefined}
          >
            {sort ? (
              <button
                type="button"
                className={active ? 'sort active' : 'sort'}
                data-testid={`sort-${sort}`}
                onClick={() => onSort(sort, active && view.order === 'desc' ? 'asc' : 'desc')}
              >
                {column.label}
                <span aria-hidden="true">{active ? (view.order === 'asc' ? ' ▲' : ' ▼') : ' ↕'}</span>
              </button>
            ) : (
              column.label
            )}
          </th>
        );
      })}
    </tr>
  );
}

/** A figure's cell: right-aligned in the table, labelled on a card (the label is drawn from `data-label`). */
function Figure({ column, label, text }: { column: string; label: string; text: string }) {
  return (
    <td className={`c-${column} num`} data-label={label} data-testid={`run-${column}`}>
      {text}
    </td>
  );
}

/**
 * One run: a table row at desktop width, a card on a phone (the stylesheet's doing). The run id is the row's link,
 * stretched over the whole row, so a click anywhere opens the run and Tab stops once per row (and on the copy button).
 */
export function RunRow({
  run,
  agentName,
  index,
  top,
  now,
  measure,
}: {
  run: Run;
  agentName: string | null | undefined;
  index: number;
  top: number;
  now: number;
  measure(el: HTMLElement | null): void;
}) {
  return (
    <tr
      className="run-row"
      aria-rowindex={index + 2}
      data-index={index}
      ref={measure}
      style={{ transform: `translateY(${top}px)` }}
      data-testid="run-row"
      data-run-id={run.id}
      data-status={run.status}
    >
      <td className="c-status">
        <StatusBadge status={run.status} />
        {run.background ? <span className="tag">bg</span> : null}
      </td>
      <td className="c-id mono">
        <a className="run-link" href={routeHref({ page: 'run', runId: run.id, tab: null })} title={run.id}>
          {shortId(run.id)}
        </a>
        <CopyButton text={run.id} label="Copy id" />
      </td>
      <td className="c-agent" title={run.agentId} data-testid="run-agent">
        {agentName ?? <span className="mono muted">{shortId(run.agentId)}</span>}
      </td>
      <td className="c-model" data-label="model">
        {run.model ?? '—'}
      </td>
      <Figure column="steps" label="steps" text={formatCount(run.stepCount)} />
      <Figure column="tokens" label="tokens" text={formatCount(run.totalTokens)} />
      <Figure column="cost" label="cost" text={formatUsd(run.costUsd)} />
      <Figure column="ttft" label="TTFT" text={formatNs(run.ttftNs)} />
      <Figure column="duration" label="duration" text={formatNs(run.totalDurationNs)} />
      <td className="c-created">
        <time dateTime={run.createdAt} title={`${formatTime(run.createdAt)} (${run.createdAt})`}>
          {formatRelative(run.createdAt, now)}
        </time>
      </td>
      <td className="c-stop" data-label="stop">
        {run.stopReason ?? '—'}
      </td>
    </tr>
  );
}
