import { defineConfig } from 'vitest/config';
import { sourceEnv, sourceResolution } from '../../vitest.shared.ts';

/** The hygiene suite counts Redis connections and heap: it runs alone, after the others, with --expose-gc. */
const HYGIENE = 'src/**/*.hygiene.test.ts';

export default defineConfig({
  ...sourceResolution,
  test: {
    env: sourceEnv,
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default', '../core/src/testing/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: { name: 'client', include: ['src/**/*.test.ts'], exclude: [HYGIENE], sequence: { groupOrder: 0 } },
      },
      {
        extends: true,
        test: {
          name: 'hygiene',
          include: [HYGIENE],
          execArgv: ['--expose-gc'],
          testTimeout: 180_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
