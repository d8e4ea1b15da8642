import type { RunChangeEvent } from '@runtrace/client';
import type { Run, RunListInput } from './types.ts';

/** The runs list's filters: `runs.list`'s, newest first. Empty values mean "any". */
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

/** The `runs.list` input for some filters: empty filters are left out so the server applies none. */
export function listInput(filters: RunFilters, limit: number): RunListInput {
  const input: RunListInput = { limit, order: 'desc' };
  if (filters.agentId) input.agentId = filters.agentId;
  if (filters.statuses?.length) input.statuses = filters.statuses;
  if (filters.background !== undefined && filters.background !== null) input.background = filters.background;
  if (filters.stopReason) input.stopReason = filters.stopReason;
  if (filters.conversationId) input.conversationId = filters.conversationId;
  return input;
}

/** Whether `runs.list` with these filters would list the run: what a live change is checked against. */
export function matchesFilters(run: Run, filters: RunFilters): boolean {
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
  return true;
}

/** Newest first, as the server orders them (created_at, then id, descending). */
function newerThan(a: Run, b: Run): boolean {
  if (a.createdAt !== b.createdAt) return a.createdAt > b.createdAt;
  return a.id > b.id;
}

/**
 * The loaded pages after a change from `runs.changes`: a run that now matches the filters is replaced in place or
 * inserted where the server would list it (only within the loaded range: later pages bring the rest); one that no
 * longer matches, or was deleted, is removed. Pages keep their cursors, so scrolling on neither skips nor repeats.
 */
export function applyRunChange(
  data: RunsPages | undefined,
  change: RunChangeEvent,
  filters: RunFilters,
): RunsPages | undefined {
  if (!data) return data;
  const { run } = change;
  const keep = change.type !== 'deleted' && matchesFilters(run, filters);
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
  if (!found && keep) pages = insertSorted(pages, run);
  return { ...data, pages };
}

function insertSorted(pages: RunsPage[], run: Run): RunsPage[] {
  for (let p = 0; p < pages.length; p += 1) {
    const page = pages[p]!;
    const at = page.items.findIndex((item) => newerThan(run, item));
    const isLast = p === pages.length - 1;
    // Older than everything loaded: the page after the last cursor will list it, unless there is none.
    if (at < 0 && !(isLast && page.nextCursor === null)) continue;
    const items = page.items.slice();
    items.splice(at < 0 ? items.length : at, 0, run);
    return pages.map((old, i) => (i === p ? { ...old, items } : old));
  }
  return pages;
}
