/**
 * Once for the whole browser suite: builds the dashboard from the sources under test, seeds an embedded database
 * (10,000 runs) and starts one api process on it (PGlite, in-process streams, chdb). Every e2e file drives its own
 * Chromium against this api; the files run one after another (fileParallelism off), so timings are not shared.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRuntraceClient } from '@runtrace/client';
import { type ApiProcess, spawnApi } from '@runtrace/client/testing/apiProcess';
import type { TestProject } from 'vitest/node';
import { buildDashboard, DASHBOARD_DIR, prepareDatabase } from './fixtures.ts';

export const SEEDED_RUNS = 10_000;
export const RESULTS = path.join(DASHBOARD_DIR, 'test-results');
export const SCREENSHOTS = path.join(RESULTS, 'screenshots');

declare module 'vitest' {
  export interface ProvidedContext {
    apiUrl: string;
    /** The e2e organization's key (the seeded runs belong to the default organization, which needs none). */
    apiKey: string;
    bundleGzipKb: number;
  }
}

let api: ApiProcess | undefined;
let dataDir: string | undefined;

export async function setup(project: TestProject) {
  rmSync(RESULTS, { recursive: true, force: true });
  mkdirSync(SCREENSHOTS, { recursive: true });
  const bundleGzipKb = Math.round(buildDashboard() * 10) / 10;
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'runtrace-dashboard-'));
  const seeding = Date.now();
  const { apiKey } = await prepareDatabase(dataDir, SEEDED_RUNS);
  console.log(`seeded ${SEEDED_RUNS} runs in ${Date.now() - seeding} ms`);
  api = await spawnApi(
    { RUNTRACE_DATA_DIR: dataDir, CLICKHOUSE_URL: `chdb:${path.join(dataDir, 'clickhouse')}` },
    { startTimeoutMs: 120_000 },
  );
  // The budget is the page's first load (a cold browser), not the api process's first query: its first runs.list
  // after start-up reads PGlite's pages cold (~4× slower here); a server that has answered anything is warm.
  await createRuntraceClient({ url: api.url }).runs.list.query({ limit: 100 });
  project.provide('apiUrl', api.url);
  project.provide('apiKey', apiKey);
  project.provide('bundleGzipKb', bundleGzipKb);
}

export async function teardown() {
  await api?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
