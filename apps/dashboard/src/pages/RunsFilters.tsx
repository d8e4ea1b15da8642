import { useEffect, useId, useState } from 'react';
import { TimeRangePicker } from '../components/TimeRangePicker.tsx';
import { shortId } from '../lib/format.ts';
import { isFiltered, MIN_SEARCH_LENGTH, type RunFilters, usableSearch } from '../lib/run-filters.ts';
import type { RunsView } from '../lib/runs-view.ts';
import { RUN_STATUSES, type RunStatus, STOP_REASONS } from '../lib/types.ts';

/** An agent as the filter offers it: its id, and its name when it has one. */
export interface AgentOption {
  id: string;
  name: string | null;
}

/** How the filters change the view: typing replaces the history entry, a discrete choice adds one (Back undoes it). */
export type ChangeView = (view: RunsView, how?: { replace?: boolean }) => void;

const listText = (values: readonly string[] | null | undefined) => values?.join(', ') ?? '';
const listValue = (text: string) =>
  text
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);

/** A text box that holds what is typed and hands it on when committed (Enter, or leaving it), and follows the URL. */
function useCommittedText(value: string) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  return [text, setText] as const;
}

/** The runs list's search, time range and filters, all of them read from and written to the view (the URL). */
export function RunsFilters({
  view,
  onChange,
  agents,
  models,
}: {
  view: RunsView;
  onChange: ChangeView;
  agents: AgentOption[] | undefined;
  models: string[];
}) {
  const id = useId();
  const { filters } = view;
  const setFilters = (next: RunFilters, how?: { replace?: boolean }) => onChange({ ...view, filters: next }, how);
  const [search, setSearch] = useCommittedText(view.search ?? '');
  const [conversation, setConversation] = useCommittedText(filters.conversationId ?? '');
  const [model, setModel] = useCommittedText(listText(filters.models));
  const commitText = () => {
    const models = listValue(model);
    const next = { ...filters, conversationId: conversation.trim() || null, models: models.length ? models : null };
    if (next.conversationId !== (filters.conversationId ?? null) || listText(models) !== listText(filters.models)) {
      setFilters(next);
    }
  };
  const toggleStatus = (status: RunStatus) => {
    const current = filters.statuses ?? [];
    const statuses = current.includes(status) ? current.filter((s) => s !== status) : [...current, status];
    setFilters({ ...filters, statuses });
  };
  const searchHint = search.trim() !== '' && usableSearch(search) === null;
  // An agent in the URL that the list has not brought (yet): still selectable, by its short id.
  const agentOptions =
    filters.agentId && !agents?.some((a) => a.id === filters.agentId)
      ? [{ id: filters.agentId, name: null }, ...(agents ?? [])]
      : (agents ?? []);
  return (
    <div className="runs-toolbar">
      <div className="toolbar-line">
        <search className="run-search">
          <label htmlFor={`${id}-search`}>Search by run id</label>
          <input
            id={`${id}-search`}
            type="search"
            name="q"
            placeholder="run-1a2b…"
            autoComplete="off"
            spellCheck={false}
            value={search}
            aria-describedby={searchHint ? `${id}-search-hint` : undefined}
            onChange={(e) => {
              setSearch(e.target.value);
              onChange({ ...view, search: e.target.value || null }, { replace: true });
            }}
          />
          {searchHint && (
            <span id={`${id}-search-hint`} className="hint" data-testid="search-hint">
              A run id or its start: <code>run-</code> and at least {MIN_SEARCH_LENGTH - 4} more characters.
            </span>
          )}
        </search>
        <TimeRangePicker
          key={JSON.stringify(view.range)}
          value={view.range}
          onChange={(range) => onChange({ ...view, range })}
          allowAll
        />
        {isFiltered(view) && (
          <button
            type="button"
            className="clear-filters"
            data-testid="clear-filters"
            onClick={() => onChange({ ...view, filters: {}, range: null, search: null })}
          >
            Clear filters
          </button>
        )}
      </div>
      <form
        className="filters"
        aria-label="Filter runs"
        onSubmit={(e) => {
          e.preventDefault();
          commitText();
        }}
      >
        <label>
          Agent
          <select
            name="agent"
            value={filters.agentId ?? ''}
            onChange={(e) => setFilters({ ...filters, agentId: e.target.value || null })}
          >
            <option value="">any agent</option>
            {agentOptions.map((agent) => (
              <option key={agent.id} value={agent.id}>
                {agent.name ?? shortId(agent.id)}
              </option>
            ))}
          </select>
        </label>
        <fieldset className="statuses">
          <legend>Status</legend>
          {RUN_STATUSES.map((status) => (
            <label key={status} className="check">
              <input
                type="checkbox"
                name="status"
                value={status}
                checked={filters.statuses?.includes(status) ?? false}
                onChange={() => toggleStatus(status)}
              />
              {status}
            </label>
          ))}
        </fieldset>
        <label>
          Model
          <input
            name="model"
            list={`${id}-models`}
            placeholder="any, Enter"
            value={model}
            onChange={(e) => setModel(e.target.value)}
            onBlur={commitText}
          />
          <datalist id={`${id}-models`}>
            {models.map((m) => (
              <option key={m} value={m} />
            ))}
          </datalist>
        </label>
        <label>
          Stop reason
          <select
            name="stopReason"
            value={filters.stopReason ?? ''}
            onChange={(e) =>
              setFilters({ ...filters, stopReason: (e.target.value || null) as RunFilters['stopReason'] })
            }
          >
            <option value="">any</option>
            {STOP_REASONS.map((reason) => (
              <option key={reason}>{reason}</option>
            ))}
          </select>
        </label>
        <label>
          Background
          <select
            name="background"
            value={filters.background === true ? 'yes' : filters.background === false ? 'no' : ''}
            onChange={(e) =>
              setFilters({ ...filters, background: e.target.value === '' ? null : e.target.value === 'yes' })
            }
          >
            <option value="">any</option>
            <option value="yes">background</option>
            <option value="no">foreground</option>
          </select>
        </label>
        <label>
          Conversation
          <input
            name="conversation"
            placeholder="conversation id, Enter"
            value={conversation}
            onChange={(e) => setConversation(e.target.value)}
            onBlur={commitText}
          />
        </label>
      </form>
    </div>
  );
}
