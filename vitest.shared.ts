/**
 * What every package's vitest config shares: tests run the workspace's TypeScript sources, never a stale dist/.
 * Each workspace package exports `@runtrace/source` → src/*.ts beside `default` → dist/*.js (what `node` runs in
 * production), so the test runner resolves with that condition first, and so do the processes the tests spawn
 * (`NODE_OPTIONS` reaches every child that inherits this environment, e.g. `tsx src/main.ts`).
 */
export const SOURCE_CONDITION = '@runtrace/source';

/**
 * Vitest's own server conditions follow ours (ours only decides between src/ and dist/); no `module`, as in Vitest's
 * defaults: externalized packages are loaded by Node, which cannot load bundler-only ESM builds. Vitest also passes
 * these to its workers as `--conditions`.
 */
const conditions = [SOURCE_CONDITION, 'node', 'development|production'];

export const sourceResolution = { ssr: { resolve: { conditions } } };

/** For `test.env`: children started with this process's environment resolve the sources too. */
export const sourceEnv = { NODE_OPTIONS: `--conditions=${SOURCE_CONDITION}` };

/** Where .ci/run's "vitest: N passed, N failed, N skipped" line comes from, for every package. */
const SUMMARY_REPORTER = new URL('./packages/core/src/testing/summary-reporter.ts', import.meta.url).pathname;

/**
 * The config every package's tests share (pass it to `defineConfig`): the sources, one fork per file, the summary
 * line; `include` and the timeouts differ by package.
 */
export function packageTestConfig(options: { include?: string[]; testTimeout?: number; hookTimeout?: number } = {}) {
  return {
    ...sourceResolution,
    test: {
      env: sourceEnv,
      include: options.include ?? ['src/**/*.test.ts'],
      pool: 'forks' as const,
      testTimeout: options.testTimeout ?? 60_000,
      hookTimeout: options.hookTimeout ?? 120_000,
      reporters: ['default', SUMMARY_REPORTER],
    },
  };
}
