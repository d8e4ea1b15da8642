import { defineConfig } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.ts';

export default defineConfig(
  packageTestConfig({
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The browser suite starts an api, seeds 10,000 runs and drives Chromium: generous on a loaded 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 300_000,
  }),
);
