/**
 * Fault: the api's Postgres stops (immediate shutdown, as on a crash) under write load and comes back. Callers must
 * get 503 + Retry-After within a bounded time — never a 500 or a hang — /readyz must say unavailable while /healthz
 * stays up, the api must recover by itself, and every write it acknowledged must be readable afterwards.
 */
import { testConfig } from '@runtrace/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { type ApiProcess, spawnApi } from './testing/api-process.ts';
import { type OwnPostgres, postgresBinDir, startOwnPostgres } from './testing/own-postgres.ts';

const bin = postgresBinDir();
if (!bin && testConfig.requireServices) {
  throw new Error(
    'RUNTRACE_REQUIRE_SERVICES=1 but no initdb under /usr/lib/postgresql/*/bin: the Postgres fault suite cannot run',
  );
}
if (!bin) console.log('postgres fault suite skipped: no initdb under /usr/lib/postgresql/*/bin (install postgresql)');

const CONNECT_MS = 2000;
const STATEMENT_MS = 3000;
const ACQUIRE_MS = 2000;
/** The longest a call may take while Postgres is gone: the query deadline plus slack for a loaded machine. */
const BOUND_MS = ACQUIRE_MS + STATEMENT_MS + 2000;

interface Outcome {
  kind: 'write' | 'rest' | 'trpc-read';
  startedAt: number;
  ms: number;
  status: number;
  retryAfter: string | null;
  id?: string;
}

describe.skipIf(!bin)('fault: Postgres stopped and restarted', () => {
  let pg: OwnPostgres | undefined;
  let api: ApiProcess | undefined;
  afterAll(async () => {
    await api?.stop();
    pg?.destroy();
  });

  it('answers 503 + Retry-After within the bound, fails /readyz only, recovers by itself, loses no acknowledged write', {
    timeout: 240_000,
  }, async () => {
    pg = await startOwnPostgres(bin as string);
    api = await spawnApi({
      DATABASE_URL: pg.url,
      RUNTRACE_DB_CONNECT_TIMEOUT_MS: String(CONNECT_MS),
      RUNTRACE_DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_MS),
      RUNTRACE_DB_ACQUIRE_TIMEOUT_MS: String(ACQUIRE_MS),
    });
    const url = api.url;
    const agentId = 'agent-00000000-0000-4000-8000-0000000000f1';
    const outcomes: Outcome[] = [];
    const call = async (kind: Outcome['kind'], path: string, init?: RequestInit) => {
      const startedAt = Date.now();
      let status = 0;
      let retryAfter: string | null = null;
      let id: string | undefined;
      try {
        const res = await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(30_000) });
        status = res.status;
        retryAfter = res.headers.get('retry-after');
        const text = await res.text();
        if (kind === 'write' && res.ok) id = (JSON.parse(text) as { result: { data: { id: string } } }).result.data.id;
        // Never a driver's words in an answer.
        expect(text).not.toMatch(
          /ECONNREFUSED|CONNECT_TIMEOUT|57P01|terminating connection|postgres\.js|at .+\.ts:\d+/,
        );
      } catch {
        status = -1; // no answer at all (hung past 30 s or connection reset)
      }
      outcomes.push({ kind, startedAt, ms: Date.now() - startedAt, status, retryAfter, ...(id ? { id } : {}) });
    };
    const write = () =>
      call('write', '/trpc/runs.create', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ agentId }),
      });
    let loading = true;
    const writers = Array.from({ length: 6 }, async () => {
      while (loading) await write();
    });
    const readers = (async () => {
      while (loading) {
        await call('rest', '/v1/runs/?limit=5');
        await call('trpc-read', `/trpc/runs.list?input=${encodeURIComponent(JSON.stringify({ limit: 5 }))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    await new Promise((r) => setTimeout(r, 2000));
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const stopAt = Date.now();
    pg.stop();
    const stoppedAt = Date.now();
    // The outage: a few seconds of load against a dead server.
    const probes: { readyz: number; healthz: number }[] = [];
    while (Date.now() - stoppedAt < 5000) {
      const [readyz, healthz] = await Promise.all([fetch(`${url}/readyz`), fetch(`${url}/healthz`)]);
      probes.push({ readyz: readyz.status, healthz: healthz.status });
      await new Promise((r) => setTimeout(r, 500));
    }
    const restartAt = Date.now();
    pg.start();
    const restartedAt = Date.now();
    // Recovery by itself: the same api process writes again.
    let recoveredAt = 0;
    while (Date.now() - restartedAt < 30_000) {
      const res = await fetch(`${url}/trpc/runs.create`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ agentId }),
      });
      if (res.ok) {
        recoveredAt = Date.now();
        outcomes.push({
          kind: 'write',
          startedAt: recoveredAt,
          ms: 0,
          status: res.status,
          retryAfter: null,
          id: ((await res.json()) as { result: { data: { id: string } } }).result.data.id,
        });
        break;
      }
      await res.text();
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 1500));
    loading = false;
    await Promise.all([...writers, readers]);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    // What callers got.
    const during = outcomes.filter((o) => o.startedAt >= stoppedAt && o.startedAt + o.ms <= restartAt);
    const failed = outcomes.filter((o) => o.status < 200 || o.status >= 300);
    const notUnavailable = failed.filter((o) => o.status !== 503);
    const withoutRetryAfter = failed.filter((o) => o.status === 503 && !o.retryAfter);
    const maxOutageMs = Math.max(
      0,
      ...outcomes.filter((o) => o.startedAt + o.ms >= stopAt && o.startedAt <= restartAt).map((o) => o.ms),
    );
    // Every write acknowledged 2xx is there afterwards.
    const acknowledged = outcomes.filter((o) => o.kind === 'write' && o.id).map((o) => o.id as string);
    // A read is asked again (for up to 5 s) while it answers 503: that is an unavailable read, not a lost write. Only
    // an acknowledged run that is not found, or never readable, counts as lost.
    const retrieve = async (runId: string) => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const res = await fetch(`${url}/trpc/runs.retrieve?input=${encodeURIComponent(JSON.stringify({ runId }))}`);
        await res.text();
        if (res.status !== 503 || Date.now() > deadline) return res.status;
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    let missing = 0;
    const missingStatuses: number[] = [];
    for (let i = 0; i < acknowledged.length; i += 16) {
      const statuses = await Promise.all(acknowledged.slice(i, i + 16).map(retrieve));
      missingStatuses.push(...statuses.filter((s) => s !== 200));
      missing += statuses.filter((s) => s !== 200).length;
    }
    const sent = outcomes.filter((o) => o.kind === 'write').length;
    const by = (kind: Outcome['kind']) => during.filter((o) => o.kind === kind && o.status === 503).length;
    console.log(
      `fault-table | postgres stopped and restarted | sent ${sent} | written ${acknowledged.length} | counted lost ${missing}${missing ? ` (read back as HTTP ${missingStatuses.join(', ')})` : ''} | callers: ` +
        `503 + Retry-After during the outage (tRPC writes ${by('write')}, tRPC reads ${by('trpc-read')}, REST ${by('rest')}), ` +
        `max latency ${maxOutageMs} ms (bound ${BOUND_MS} ms), other errors ${notUnavailable.length}; /readyz 503 and /healthz 200 throughout; ` +
        `recovered ${recoveredAt ? recoveredAt - restartedAt : 'never'} ms after Postgres was back, without a restart`,
    );

    expect(during.filter((o) => o.status === 503).length).toBeGreaterThan(0);
    expect(
      during.every((o) => o.status === 503),
      JSON.stringify(during.filter((o) => o.status !== 503).slice(0, 5)),
    ).toBe(true);
    expect(notUnavailable, JSON.stringify(notUnavailable.slice(0, 5))).toEqual([]);
    expect(withoutRetryAfter, JSON.stringify(withoutRetryAfter.slice(0, 3))).toEqual([]);
    expect(maxOutageMs).toBeLessThanOrEqual(BOUND_MS);
    expect(probes.length).toBeGreaterThan(0);
    for (const probe of probes) expect(probe).toEqual({ readyz: 503, healthz: 200 });
    expect(recoveredAt).toBeGreaterThan(0);
    expect(missing).toBe(0);
    expect(acknowledged.length).toBeGreaterThan(0);
  });
});
