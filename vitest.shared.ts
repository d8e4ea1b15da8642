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
