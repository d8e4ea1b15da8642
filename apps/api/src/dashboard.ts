import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/**
 * The built dashboard: the copy `pnpm build` puts beside the api's own JavaScript (dist/dashboard/, also in a deploy
 * folder), else where `pnpm --filter @runtrace/dashboard build` writes it in the workspace (running the sources).
 */
export const DASHBOARD_DIST =
  [new URL('./dashboard/', import.meta.url), new URL('../../dashboard/dist/', import.meta.url)]
    .map((url) => fileURLToPath(url))
    .find((dir) => existsSync(`${dir}/index.html`)) ?? fileURLToPath(new URL('../../dashboard/dist/', import.meta.url));

export interface DashboardOptions {
  /** The built dashboard (index.html and assets/). @default apps/dashboard/dist */
  root?: string;
}

/**
 * The dashboard at `/`, same origin as /trpc (no CORS, and the API key stays in headers). Its asset names carry a
 * content hash, so they are cached for good, and are sent brotli- or gzip-compressed as the browser accepts; index.html is revalidated so a rebuild shows at the next load. Without
 * a build, `/` says how to make one instead of failing start-up: /healthz must not wait for a frontend.
 */
export async function registerDashboard(app: FastifyInstance, options: DashboardOptions = {}): Promise<void> {
  const root = options.root ?? DASHBOARD_DIST;
  if (!existsSync(`${root}/index.html`)) {
    app.get('/', async (_request, reply) =>
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The Runtrace dashboard is not built: run `pnpm --filter @runtrace/dashboard build`, then reload.\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: `${root}/assets`,
    prefix: '/assets/',
    // Only what the build wrote: no directory listings, no dotfiles. Files are looked up per request (a rebuild is
    // served without a restart).
    list: false,
    dotfiles: 'deny',
    // The build writes .br and .gz beside each asset (vite.config.ts): sent to browsers that accept them.
    preCompressed: true,
    setHeaders(reply, path) {
      reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  // The pages are addressed by the URL's hash, so `/` is the only page route. A wildcard at `/` would answer every
  // unknown path itself, and /v1's not-found handler (Letta's `{"detail": "Not Found"}`) would never run.
  app.get('/', (_request, reply) => reply.sendFile('index.html', root));
  app.get('/index.html', (_request, reply) => reply.sendFile('index.html', root));
}
