import { QueryClientProvider } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { initialApiKey, initialClient, queryClient } from './boot.ts';
import { ApiKeyForm } from './components/ApiKeyForm.tsx';
import { saveApiKey } from './lib/api-key.ts';
import { type Route, routeHref, useRoute } from './lib/route.ts';
import { HealthPage } from './pages/HealthPage.tsx';
import { OverviewPage } from './pages/OverviewPage.tsx';
import { RunPage } from './pages/RunPage.tsx';
import { RunsPage } from './pages/RunsPage.tsx';
import { createDashboardClient, TRPCProvider } from './trpc.ts';

export function App() {
  const [apiKey, setApiKey] = useState(initialApiKey);
  const trpcClient = useMemo(
    () => (apiKey === initialApiKey ? initialClient : createDashboardClient(apiKey)),
    [apiKey],
  );
  const changeApiKey = (key: string | null) => {
    saveApiKey(key);
    // Another key is another organization: nothing cached under the old one may show.
    queryClient.clear();
    setApiKey(key);
  };
  return (
    <QueryClientProvider client={queryClient}>
      <TRPCProvider trpcClient={trpcClient} queryClient={queryClient}>
        <header className="topbar">
          <a className="brand" href="#/overview">
            Runtrace
          </a>
          <Nav />
          <ApiKeyForm apiKey={apiKey} onChange={changeApiKey} />
        </header>
        {/* Keyed by the API key: subscriptions reconnect with the new key instead of carrying on with the old one. */}
        <main key={apiKey ?? ''}>
          <Page />
        </main>
      </TRPCProvider>
    </QueryClientProvider>
  );
}

function Nav() {
  const route = useRoute();
  const link = (to: Route, label: string) => {
    const active = route.page === to.page || (to.page === 'runs' && route.page === 'run');
    return (
      <a href={routeHref(to)} className={active ? 'active' : ''} aria-current={active ? 'page' : undefined}>
        {label}
      </a>
    );
  };
  return (
    <nav aria-label="Pages">
      {link({ page: 'overview', params: new URLSearchParams() }, 'Overview')}
      {link({ page: 'runs', params: new URLSearchParams() }, 'Runs')}
      {link({ page: 'health' }, 'Telemetry health')}
    </nav>
  );
}

function Page() {
  const route = useRoute();
  switch (route.page) {
    case 'overview':
      return <OverviewPage params={route.params} />;
    case 'runs':
      return <RunsPage />;
    case 'health':
      return <HealthPage />;
    case 'run':
      return <RunPage key={route.runId} runId={route.runId} tab={route.tab} />;
  }
}
