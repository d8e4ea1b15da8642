// By path, not by package name: Vite's `--configLoader runner` resolves packages without the `@runtrace/source`
// condition (it cannot read this file's settings before loading it), so the name would need a built core.
import { loadToolConfig } from '../../packages/core/src/config.ts';
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

/**
 * `vite build` writes dist/, which the api serves at `/` (same origin: no CORS, no key in any URL).
 * `vite` (pnpm --filter @runtrace/dashboard dev) serves the sources with hot reload and forwards /trpc to the api
 * named by RUNTRACE_URL (default http://127.0.0.1:8283), subscriptions (SSE) included.
 */
export default defineConfig(() => {
  const { apiUrl } = loadToolConfig();
  return {
    plugins: [react()],
    // The bundle is made from the workspace's TypeScript sources (no built client/core needed first).
    resolve: { conditions: ['@runtrace/source', ...defaultClientConditions] },
    build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1000 },
    server: {
      host: '127.0.0.1',
      port: 5173,
      proxy: {
        '/trpc': {
          target: apiUrl,
          changeOrigin: true,
          // The api admits browsers from its own origin only (RUNTRACE_CORS_ORIGINS): through this proxy the page is
          // the api's origin, so the request says so.
          headers: { origin: new URL(apiUrl).origin },
        },
      },
    },
  };
});
