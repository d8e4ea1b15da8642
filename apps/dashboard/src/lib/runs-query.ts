import type { AppRouter, RuntraceClient } from '@runtrace/client';
import type { TRPCOptionsProxy } from '@trpc/tanstack-react-query';
import { cursorPages } from './cursor-pages.ts';
import { listInput, type RunsQuery } from './run-filters.ts';

/** Runs per `runs.list` call: one screenful several times over, so scrolling rarely waits. */
export const RUNS_PAGE_SIZE = 100;

/** The runs list's infinite query for a view's query: shared by the page and by the prefetch that precedes React. */
export function runsListOptions(trpc: TRPCOptionsProxy<AppRouter>, client: RuntraceClient, query: RunsQuery) {
  const input = listInput(query, RUNS_PAGE_SIZE);
  return cursorPages(trpc.runs.list.infiniteQueryKey(input), (cursor, signal) =>
    client.runs.list.query({ ...input, cursor }, { signal }),
  );
}
