// By path, not by package name: Vite's `--configLoader runner` resolves packages without the `@runtrace/source`
// condition (it cannot read this file's settings before loading it), so the name would need a built core.
import { loadToolConfig } from '../../packages/core/src/config.ts';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

/**
 * Writes `<file>.br` and `<file>.gz` beside each script and stylesheet of the build, at the strongest settings: the
 * api serves them to browsers that accept them (`@fastify/static`'s `preCompressed`), so compressing costs the build
 * once instead of the api's CPU on every request.
 */
function precompressAssets(): Plugin {
  let outDir = 'dist';
  return {
    name: 'runtrace-precompress-assets',
    apply: 'build',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      const assets = path.join(outDir, 'assets');
      for (const name of readdirSync(assets).filter((n) => /\.(js|css|svg)$/.test(n))) {
        const file = path.join(assets, name);
        const content = readFileSync(file);
        writeFileSync(
          `${file}.br`,
          brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY } }),
        );
        writeFileSync(`${file}.gz`, gzipSync(content, { level: 9 }));
      }
    },
  };
}

/**
 * `vite build` writes dist/, which the api serves at `/` (same origin: no CORS, no key in any URL).
 * `vite` (pnpm --filter @runtrace/dashboard dev) serves the sources with hot reload and forwards /trpc to the api
 * named by RUNTRACE_URL (default http://127.0.0.1:8283), subscriptions (SSE) included.
 */
export default defineConfig(() => {
  const { apiUrl } = loadToolConfig();
  return {
    plugins: [react(), precompressAssets()],
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
