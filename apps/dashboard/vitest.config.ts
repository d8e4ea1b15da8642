import { defineConfig } from 'vitest/config';
import { sourceEnv, sourceResolution } from '../../vitest.shared.ts';

export default defineConfig({
  ...sourceResolution,
  test: {
    env: sourceEnv,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    pool: 'forks',
    // The browser suite starts an api, seeds 10,000 runs and drives Chromium: generous on a loaded 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    reporters: ['default', '../../packages/core/src/testing/summary-reporter.ts'],
  },
});
