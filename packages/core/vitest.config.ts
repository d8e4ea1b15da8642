import { defineConfig } from 'vitest/config';
import { sourceEnv, sourceResolution } from '../../vitest.shared.ts';

export default defineConfig({
  ...sourceResolution,
  test: {
    env: sourceEnv,
    include: ['src/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default', './src/testing/summary-reporter.ts'],
  },
});
