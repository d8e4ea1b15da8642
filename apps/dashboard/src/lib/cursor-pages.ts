import { infiniteQueryOptions, type QueryKey } from '@tanstack/react-query';

/**
 * Infinite-query options over one of the api's cursor lists (`{ items, nextCursor }`). tRPC's own
 * `infiniteQueryOptions` adds a `direction` key to the input, which the api's strict inputs refuse (BAD_REQUEST):
 * pages are fetched with the typed client instead, under tRPC's infinite query key so invalidation still finds them.
 */
export function cursorPages<TPage extends { nextCursor?: string | null }>(
  queryKey: QueryKey,
  fetchPage: (cursor: string | null, signal: AbortSignal) => Promise<TPage>,
) {
  return infiniteQueryOptions({
    queryKey,
    queryFn: ({ pageParam, signal }) => fetchPage(pageParam, signal),
    initialPageParam: null as string | null,
    getNextPageParam: (page: TPage) => page.nextCursor ?? undefined,
  });
}
