import { useMemo, useSyncExternalStore } from 'react';

export type RunTab = 'overview' | 'live' | 'trace';

/**
 * The pages, addressed by the URL's hash so the api serves one index.html for all of them. The overview and the runs
 * list keep their state (time range, filters, sort, search) in the hash's query, `#/runs?status=failed&range=24h`,
 * so Back, reload and a shared link show the same view.
 */
export type Route =
  | { page: 'overview'; params: URLSearchParams }
  | { page: 'runs'; params: URLSearchParams }
  /** `tab` null: the address names none, and the run page picks one (Live for an active background run). */
  | { page: 'run'; runId: string; tab: RunTab | null }
  | { page: 'health' };

export function parseRoute(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?', 2);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  if (parts[0] === 'health') return { page: 'health' };
  if (parts[0] === 'runs' && parts[1]) {
    const tab = parts[2] === 'live' || parts[2] === 'trace' || parts[2] === 'overview' ? parts[2] : null;
    return { page: 'run', runId: parts[1], tab };
  }
  if (parts[0] === 'runs') return { page: 'runs', params };
  return { page: 'overview', params };
}

const withQuery = (path: string, params: URLSearchParams) => {
  const query = params.toString();
  return query ? `${path}?${query}` : path;
};

export function routeHref(route: Route): string {
  switch (route.page) {
    case 'overview':
      return withQuery('#/overview', route.params);
    case 'runs':
      return withQuery('#/runs', route.params);
    case 'health':
      return '#/health';
    case 'run':
      return `#/runs/${encodeURIComponent(route.runId)}${route.tab === null ? '' : `/${route.tab}`}`;
  }
}

/**
 * Goes to `href`. `replace` rewrites the current history entry instead of adding one: for state that changes as the
 * user types (a search box), so Back leaves the page rather than stepping through every keystroke.
 *
 * The pages hear of it at once (a `hashchange` dispatched here, not the browser's, which comes a task later): a control
 * whose change navigates (a radio, a select) is controlled by the route, and React puts a controlled input back to its
 * props right after the change handler, so until the route changed the click seemed undone.
 */
export function navigate(href: string, { replace = false }: { replace?: boolean } = {}): void {
  if (replace) history.replaceState(history.state, '', href);
  else if (window.location.hash === href)
    return; // as assigning the same hash: no new entry
  else history.pushState(null, '', href);
  // neither fires an event of its own; Back and Forward between these entries fire the browser's hashchange
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

const subscribe = (onChange: () => void) => {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
};

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  // One Route (and URLSearchParams) per hash: pages may key queries and effects on it.
  return useMemo(() => parseRoute(hash), [hash]);
}
