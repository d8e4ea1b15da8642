import { useSyncExternalStore } from 'react';

export type RunTab = 'overview' | 'live' | 'trace';

/** The pages, addressed by the URL's hash so the api serves one index.html for all of them. */
export type Route = { page: 'runs' } | { page: 'run'; runId: string; tab: RunTab } | { page: 'health' };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'health') return { page: 'health' };
  if (parts[0] === 'runs' && parts[1]) {
    const tab = parts[2] === 'live' || parts[2] === 'trace' ? parts[2] : 'overview';
    return { page: 'run', runId: parts[1], tab };
  }
  return { page: 'runs' };
}

export function routeHref(route: Route): string {
  switch (route.page) {
    case 'runs':
      return '#/runs';
    case 'health':
      return '#/health';
    case 'run':
      return `#/runs/${encodeURIComponent(route.runId)}${route.tab === 'overview' ? '' : `/${route.tab}`}`;
  }
}

const subscribe = (onChange: () => void) => {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
};

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return parseRoute(hash);
}
