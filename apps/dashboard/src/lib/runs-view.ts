import type { RunFilters } from './run-filters.ts';
import { parseTimeRange, type TimeRange, writeTimeRange } from './time-range.ts';
import { RUN_STATUSES, type RunListInput, STOP_REASONS } from './types.ts';

export type RunSortKey = NonNullable<RunListInput['sortBy']>;
export const RUN_SORT_KEYS: readonly RunSortKey[] = ['created', 'duration', 'cost', 'tokens'];

/**
 * What the runs list shows, all of it in the URL (`#/runs?agent=…&status=failed,cancelled&model=gpt-4.1&range=24h
 * &q=run-1a2b&sort=cost&order=asc`): the overview's charts link to it, and Back restores it.
 */
export interface RunsView {
  filters: RunFilters;
  range: TimeRange | null;
  /** A run id or prefix (`run-` and at least 4 more characters). */
  search: string | null;
  sortBy: RunSortKey;
  order: 'asc' | 'desc';
}

export const DEFAULT_RUNS_VIEW: RunsView = { filters: {}, range: null, search: null, sortBy: 'created', order: 'desc' };

const list = (value: string | null) => (value ? value.split(',').filter(Boolean) : []);

/** The view in the URL's params; unknown or malformed values are ignored (a stale link still opens). */
export function parseRunsView(params: URLSearchParams): RunsView {
  const filters: RunFilters = {};
  const agent = params.get('agent');
  if (agent) filters.agentId = agent;
  const statuses = list(params.get('status')).filter((s): s is (typeof RUN_STATUSES)[number] =>
    (RUN_STATUSES as readonly string[]).includes(s),
  );
  if (statuses.length) filters.statuses = statuses;
  const models = list(params.get('model'));
  if (models.length) filters.models = models;
  const stop = params.get('stop');
  if (stop && (STOP_REASONS as readonly string[]).includes(stop)) filters.stopReason = stop as RunFilters['stopReason'];
  const background = params.get('background');
  if (background === 'yes' || background === 'no') filters.background = background === 'yes';
  const conversation = params.get('conversation');
  if (conversation) filters.conversationId = conversation;
  const sort = params.get('sort');
  return {
    filters,
    range: parseTimeRange(params),
    search: params.get('q') || null,
    sortBy: RUN_SORT_KEYS.includes(sort as RunSortKey) ? (sort as RunSortKey) : 'created',
    order: params.get('order') === 'asc' ? 'asc' : 'desc',
  };
}

/** The URL params of a view; defaults are left out, so the plain list is `#/runs`. */
export function runsViewParams(view: Partial<RunsView>): URLSearchParams {
  const params = new URLSearchParams();
  const { filters = {} } = view;
  if (filters.agentId) params.set('agent', filters.agentId);
  if (filters.statuses?.length) params.set('status', filters.statuses.join(','));
  if (filters.models?.length) params.set('model', filters.models.join(','));
  if (filters.stopReason) params.set('stop', filters.stopReason);
  if (filters.background !== undefined && filters.background !== null)
    params.set('background', filters.background ? 'yes' : 'no');
  if (filters.conversationId) params.set('conversation', filters.conversationId);
  writeTimeRange(params, view.range ?? null);
  if (view.search) params.set('q', view.search);
  if (view.sortBy && view.sortBy !== 'created') params.set('sort', view.sortBy);
  if (view.order === 'asc') params.set('order', 'asc');
  return params;
}

/** A link to the runs list showing this view. */
export const runsHref = (view: Partial<RunsView> = {}) => {
  const query = runsViewParams(view).toString();
  return query ? `#/runs?${query}` : '#/runs';
};
