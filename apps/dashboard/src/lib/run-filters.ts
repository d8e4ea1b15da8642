import type { RunChangeEvent } from '@runtrace/client';
import type { RunsView } from './runs-view.ts';
import { type ResolvedRange, resolveTimeRange, type TimeRange } from './time-range.ts';
import type { Run, RunListInput } from './types.ts';

/** The runs list's filters: `runs.list`'s. Empty values mean "any". */
export type RunFilters = Pick<
  RunListInput,
  'agentId' | 'statuses' | 'background' | 'stopReason' | 'conversationId' | 'models'
>;

export interface RunsPage {
  items: Run[];
  nextCursor: string | null;
}

/** TanStack Query's infinite data of `runs.list`. */
export interface RunsPages {
  pages: RunsPage[];
  pageParams: unknown[];
}

/** Shortest search the server takes: `run-` and 4 characters of the uuid (core's MIN_RUN_SEARCH_LENGTH). */
export const MIN_SEARCH_LENGTH = 8;
const MAX_SEARCH_LENGTH = 40;

/**
 * The search as the server takes it (lower case), or null when it would refuse it: the page then shows a hint and
 * lists without it, rather than an error.
 */
export function usableSearch(search: string | null | undefined): string | null {
  const value = search?.trim().toLowerCase() ?? '';
  if (value.length < MIN_SEARCH_LENGTH || value.length > MAX_SEARCH_LENGTH || !value.startsWith('run-')) return null;
  return value;
}

/** A view's list query without its page window: the filters, the resolved range and a usable search. */
export interface RunsQuery {
  filters: RunFilters;
  range: ResolvedRange | null;
  search: string | null;
  sortBy: RunsView['sortBy'];
  order: RunsView['order'];
}

/** A preset resolved this long ago is reused, so the prefetch before React and the page ask for the same bounds. */
const REUSE_RESOLVED_MS = 60_000;
let lastResolved: { key: string; at: number; range: ResolvedRange } | null = null;

/**
 * The range's bounds as of `now`. A preset moves with the clock (on whole minutes): the bounds the prefetch in
 * boot.ts used are handed on to the page for a minute, so a minute boundary between the two does not fetch twice.
 */
export function resolveRange(range: TimeRange | null, now = Date.now()): ResolvedRange | null {
  if (!range) return null;
  const key = JSON.stringify(range);
  if (lastResolved?.key === key && now - lastResolved.at >= 0 && now - lastResolved.at < REUSE_RESOLVED_MS) {
    return lastResolved.range;
  }
  const resolved = resolveTimeRange(range, now);
  lastResolved = { key, at: now, range: resolved };
  return resolved;
}

/** What a view asks the server for, as of `now`. */
export function runsQuery(view: RunsView, now = Date.now()): RunsQuery {
  return {
    filters: view.filters,
    range: resolveRange(view.range, now),
    search: usableSearch(view.search),
    sortBy: view.sortBy,
    order: view.order,
  };
}

/** The filters of `runs.list`'s input, which `runs.count` takes too. */
export type RunFilterInput = Omit<RunListInput, 'limit' | 'order' | 'sortBy'>;

/** The filter part of `runs.list`'s input (what `runs.count` takes too); empty filters are left out. */
export function filterInput(query: Pick<RunsQuery, 'filters' | 'range' | 'search'>): RunFilterInput {
  const { filters, range, search } = query;
  const input: RunFilterInput = {};
  if (filters.agentId) input.agentId = filters.agentId;
  if (filters.statuses?.length) input.statuses = filters.statuses;
  if (filters.background !== undefined && filters.background !== null) input.background = filters.background;
  if (filters.stopReason) input.stopReason = filters.stopReason;
  if (filters.conversationId) input.conversationId = filters.conversationId;
  if (filters.models?.length) input.models = filters.models;
  if (range) {
    input.createdFrom = range.from;
    if (range.to) input.createdTo = range.to;
  }
  if (search) input.search = search;
  return input;
}

/** The `runs.list` input of a query: its filters, sort and order; the default sort is left out. */
export function listInput(query: RunsQuery, limit: number): RunListInput {
  const input: RunListInput = { limit, order: query.order, ...filterInput(query) };
  if (query.sortBy !== 'created') input.sortBy = query.sortBy;
  return input;
}

/** Whether any filter, the range or a search narrows the list (what "Clear filters" undoes). */
export function isFiltered(view: Pick<RunsView, 'filters' | 'range' | 'search'>): boolean {
  const f = view.filters;
  return Boolean(
    f.agentId ||
      f.statuses?.length ||
      (f.background !== undefined && f.background !== null) ||
      f.stopReason ||
      f.conversationId ||
      f.models?.length ||
      view.range ||
      view.search,
  );
}

const ms = (iso: string) => Date.parse(iso);

/**
 * Whether `runs.list` with this query would list the run: what a live change is checked against. Times compare in
 * whole milliseconds: the range's bounds are whole milliseconds, so a run's microseconds cannot cross one.
 */
export function matchesQuery(run: Run, query: Pick<RunsQuery, 'filters' | 'range' | 'search'>): boolean {
  const { filters, range, search } = query;
  if (filters.agentId && run.agentId !== filters.agentId) return false;
  if (filters.statuses?.length && !filters.statuses.includes(run.status)) return false;
  if (
    filters.background !== undefined &&
    filters.background !== null &&
    Boolean(run.background) !== filters.background
  ) {
    return false;
  }
  if (filters.stopReason && run.stopReason !== filters.stopReason) return false;
  if (filters.conversationId && run.conversationId !== filters.conversationId) return false;
  if (filters.models?.length && !(run.model !== null && filters.models.includes(run.model))) return false;
  if (range) {
    const created = ms(run.createdAt);
    if (created < ms(range.from)) return false;
    if (range.to && created >= ms(range.to)) return false;
  }
  if (search && !run.id.toLowerCase().startsWith(search)) return false;
  return true;
}

/** Whether `a` comes before `b` by creation time in `order`, ties broken by id as the server does. */
function before(a: Run, b: Run, order: RunsQuery['order']): boolean {
  const [x, y] = order === 'desc' ? [a, b] : [b, a];
  const tx = ms(x.createdAt);
  const ty = ms(y.createdAt);
  if (tx !== ty) return tx > ty;
  if (x.createdAt !== y.createdAt) return x.createdAt > y.createdAt;
  return x.id > y.id;
}

/**
 * The loaded pages after a change from `runs.changes`: a run already listed is replaced in place, or removed when it
 * no longer matches (or was deleted). A run that starts matching is inserted where the server would list it, which
 * is known for the creation-time sort only, and only within the loaded range (later pages bring the rest); under
 * another sort it waits for the next load. Pages keep their cursors, so scrolling on neither skips nor repeats.
 */
export function applyRunChange(
  data: RunsPages | undefined,
  change: RunChangeEvent,
  query: RunsQuery,
): RunsPages | undefined {
  if (!data) return data;
  const { run } = change;
  const keep = change.type !== 'deleted' && matchesQuery(run, query);
  let found = false;
  let pages = data.pages.map((page) => {
    const index = page.items.findIndex((item) => item.id === run.id);
    if (index < 0) return page;
    found = true;
    const items = page.items.slice();
    if (keep) items[index] = run;
    else items.splice(index, 1);
    return { ...page, items };
  });
  if (!found && keep && query.sortBy === 'created') pages = insertSorted(pages, run, query.order);
  return { ...data, pages };
}

function insertSorted(pages: RunsPage[], run: Run, order: RunsQuery['order']): RunsPage[] {
  for (let p = 0; p < pages.length; p += 1) {
    const page = pages[p]!;
    const at = page.items.findIndex((item) => before(run, item, order));
    const isLast = p === pages.length - 1;
    // After everything loaded: the page after the last cursor will list it, unless there is none.
    if (at < 0 && !(isLast && page.nextCursor === null)) continue;
    const items = page.items.slice();
    items.splice(at < 0 ? items.length : at, 0, run);
    return pages.map((old, i) => (i === p ? { ...old, items } : old));
  }
  return pages;
}
