import { defineConfig } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.ts';

const { test: shared, ...config } = packageTestConfig();
const { include: _ownedByProjects, ...common } = shared;

export default defineConfig({
  ...config,
  test: {
    ...common,
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'browser',
          include: ['test/**/*.e2e.test.ts'],
          // One api for the suite (built, seeded, started once); the files take turns, so no file's timings are
          // measured while another drives Chromium on the same cores.
          globalSetup: ['test/global-setup.ts'],
          fileParallelism: false,
          // The suite drives Chromium on a loaded 2-core machine: generous.
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
