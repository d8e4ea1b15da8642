import type { Reporter, TestModule } from 'vitest/node';
import { loadToolConfig } from '../config.ts';

/**
 * Ends a package's test output with `vitest: N passed, N failed, N skipped` and names the server suites that did not
 * run because their server's URL was not set (the embedded engines always run).
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) failed += 1;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failed += 1;
        else skipped += 1;
      }
    }
    const config = loadToolConfig();
    const notRun: string[] = [];
    if (!config.databaseUrl) notRun.push('Postgres (DATABASE_URL unset)');
    if (!config.redisUrl) notRun.push('Redis (REDIS_URL unset)');
    if (notRun.length) console.log(`server suites not run: ${notRun.join(', ')}; embedded engines ran instead`);
    console.log(`vitest: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  }
}
