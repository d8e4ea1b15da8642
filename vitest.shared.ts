/**
 * What every package's vitest config shares: tests run the workspace's TypeScript sources, never a stale dist/.
 * Each workspace package exports `@runtrace/source` → src/*.ts beside `default` → dist/*.js (what `node` runs in
 * production), so the test runner resolves with that condition first, and so do the processes the tests spawn
 * (`NODE_OPTIONS` reaches every child that inherits this environment, e.g. `tsx src/main.ts`).
 */
export const SOURCE_CONDITION = '@runtrace/source';

/** Vite's own default conditions follow ours: ours only decides between src/ and dist/. */
const conditions = [SOURCE_CONDITION, 'module', 'node', 'development|production'];

export const sourceResolution = {
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: [SOURCE_CONDITION] } },
};

/** For `test.env`: children started with this process's environment resolve the sources too. */
export const sourceEnv = { NODE_OPTIONS: `--conditions=${SOURCE_CONDITION}` };
