import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RuntraceClient } from '@runtrace/client';
import { inheritedEnvironment } from '@runtrace/core/config';
import type { Check } from './section.ts';
import { ms, percentile, ratio, timeSequential } from './stats.ts';

/** The overview's budget (issue 15): charts drawn within this of navigation start, over 1,000,000 runs. */
export const OVERVIEW_DRAWN_TARGET_MS = 1500;
/** Cold loads of the overview (a new browser context each, no cache). */
const OVERVIEW_LOADS = 5;
/** Debian's Chromium, as the dashboard's browser tests use it. */
const CHROMIUM = '/usr/bin/chromium';
/** Where the user-timing mark of the overview's first charts is named (apps/dashboard/src/pages/overview). */
const OVERVIEW_MARK = 'runtrace:overview-rendered';
/** Where the dashboard keeps an entered API key (apps/dashboard/src/lib/api-key.ts). */
const API_KEY_STORAGE = 'runtrace.apiKey';

const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));
/** The api serves this build at `/` (apps/api/src/dashboard.ts), when it exists as the api starts. */
export const DASHBOARD_INDEX = path.join(DASHBOARD_DIR, 'dist', 'index.html');

/**
 * Builds the dashboard from the workspace's sources (what the bench's api then serves at `/`), before the api starts:
 * the api looks for the build once, as it starts. Returns an error message instead of throwing, so that the other
 * sections run anyway and the overview's figure says why it is missing.
 */
export function buildDashboard(log: (line: string) => void): string | null {
  log('  building the dashboard (vite build) for the overview measure …');
  const started = performance.now();
  try {
    // By path: vite's package exports no bin entry.
    const vite = path.join(DASHBOARD_DIR, 'node_modules', 'vite', 'bin', 'vite.js');
    execFileSync(process.execPath, [vite, 'build', '--configLoader', 'runner', '--logLevel', 'warn'], {
      cwd: DASHBOARD_DIR,
      env: { ...inheritedEnvironment(), NODE_ENV: 'production' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  } catch (err) {
    return `the dashboard build failed (${(err as Error).message.split('\n')[0]})`;
  }
  log(`  built apps/dashboard/dist in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return null;
}

/** The inputs the overview asks for at `range=30d` (apps/dashboard/src/lib/overview-query.ts): days, by agent. */
function overviewInputs(now = Date.now()) {
  const minute = 60_000;
  const from = new Date(Math.floor((now - 30 * 86_400_000) / minute) * minute).toISOString();
  const to = new Date(Math.ceil((now + 1) / minute) * minute).toISOString();
  return {
    timeseries: { from, to, bucket: 'day' as const, groupBy: 'agent' as const },
    summary: { from, to, top: 5 },
  };
}

export interface OverviewFigures {
  rows: string[][];
  notes: string[];
  checks: Check[];
}

/**
 * The dashboard's overview of the organization over the last 30 days in Chromium: {@link OVERVIEW_LOADS} cold loads,
 * each timed from navigation start to the `runtrace:overview-rendered` mark (the charts drawn with data), beside the
 * HTTP p50 of the two calls it waits for (`analytics.timeseries` by day and agent, `analytics.summary`), made by the
 * typed client as the page makes them. The organization's key is put where the dashboard reads it before any of its
 * scripts run.
 */
export async function measureOverview(o: {
  apiUrl: string;
  apiKey: string;
  client: RuntraceClient;
  buildError: string | null;
  log: (line: string) => void;
}): Promise<OverviewFigures> {
  const name = `dashboard overview drawn (30 d) ≤ ${OVERVIEW_DRAWN_TARGET_MS} ms (p50 of ${OVERVIEW_LOADS} cold loads)`;
  const missing = o.buildError ?? (existsSync(DASHBOARD_INDEX) ? null : `no dashboard build at ${DASHBOARD_INDEX}`);
  const browserMissing = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (apt-get install -y chromium)`;
  if (missing || browserMissing) {
    const why = `dashboard overview not measured: ${missing ?? browserMissing}`;
    o.log(`  ${why}`);
    return { rows: [], notes: [why], checks: [{ name, pass: false }] };
  }

  const inputs = overviewInputs();
  o.log(`  dashboard overview: ${OVERVIEW_LOADS} cold loads in Chromium …`);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  const drawn: number[] = [];
  let marks = 0;
  try {
    for (let i = 0; i < OVERVIEW_LOADS; i++) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      await context.addInitScript(
        ([key, value]) => window.localStorage.setItem(key as string, value as string),
        [API_KEY_STORAGE, o.apiKey],
      );
      const page = await context.newPage();
      await page.goto(`${o.apiUrl}/#/overview?range=30d`);
      const at = await page.waitForFunction((mark) => performance.getEntriesByName(mark)[0]?.startTime, OVERVIEW_MARK, {
        timeout: 60_000,
      });
      drawn.push((await at.jsonValue()) as number);
      marks = await page.locator('[data-testid=chart-mark]').count();
      await context.close();
    }
  } finally {
    await browser.close();
  }
  const timeseries = await timeSequential(() => o.client.analytics.timeseries.query(inputs.timeseries), OVERVIEW_LOADS);
  const summary = await timeSequential(() => o.client.analytics.summary.query(inputs.summary), OVERVIEW_LOADS);
  const baseline = percentile(timeseries, 50) + percentile(summary, 50);
  const p50 = percentile(drawn, 50);
  return {
    rows: [
      [
        'dashboard overview drawn (30 d, by agent), navigation start → charts',
        ms(p50),
        ms(Math.max(...drawn)),
        ms(percentile(timeseries, 50)),
        ms(percentile(summary, 50)),
        ratio(p50 / baseline),
      ],
    ],
    notes: [
      `dashboard overview: ${OVERVIEW_LOADS} cold loads (new browser context each) of #/overview?range=30d in Chromium, timed to the ${OVERVIEW_MARK} mark (${drawn.map((d) => d.toFixed(0)).join(', ')} ms; ${marks} chart marks drawn); the baseline is the HTTP p50 of the two analytics calls the page makes (the charts wait for the first), each timed one after another by the typed client (timeseries by day and agent, summary top 5): ${ms(baseline)} ms; ratio = overview p50 / baseline`,
    ],
    checks: [{ name, pass: p50 <= OVERVIEW_DRAWN_TARGET_MS && marks > 0 }],
  };
}
