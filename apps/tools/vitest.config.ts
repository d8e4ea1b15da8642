import { defineConfig } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.ts';

// The tools' own tests (src/); bench/ is measured by `pnpm bench`, not tested.
export default defineConfig(packageTestConfig({ testTimeout: 120_000 }));
