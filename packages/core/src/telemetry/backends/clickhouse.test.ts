import path from 'node:path';
import { Readable } from 'node:stream';
import type { ExecParams } from '@clickhouse/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../actor.ts';
import { type ClickHouse, connectClickHouse, parseClickHouseUrl, qualified } from '../../clickhouse/connect.ts';
import { currentTraceTtlDays, migrateClickHouse } from '../../clickhouse/migrate.ts';
import { clickhouseTargets, createScratchClickHouse, type ScratchClickHouse } from '../../clickhouse/testing.ts';
import { ConfigError } from '../../config.ts';
import { newId } from '../../ids.ts';
import { sampleTraces } from '../../testing/sample-traces.ts';
import { providerTraceBackendContract } from '../backend.contract.ts';
import { type ProviderTrace, toProviderTrace } from '../provider-trace.ts';
import {
  type ClickHouseBackendOptions,
  ClickHouseProviderTraceBackend,
  type ClickHouseTraceRow,
  openClickHouseProviderTraceBackend,
  traceFromRow,
} from './clickhouse.ts';

const a: Actor = { organizationId: newId('organization'), userId: newId('user') };
const b: Actor = { organizationId: newId('organization'), userId: newId('user') };

async function rows<T>(ch: ClickHouse, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await ch.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

function trace(overrides: Partial<ProviderTrace> = {}, sample = 0): ProviderTrace {
  const samples = sampleTraces();
  const s = samples[sample % samples.length]!;
  return {
    ...toProviderTrace({
      requestJson: s.requestJson,
      responseJson: s.responseJson,
      callType: s.callType,
      stepId: newId('step'),
      runId: newId('run'),
      agentId: newId('agent'),
    }),
    ...overrides,
  };
}

/**
 * The handle with its client wrapped: counts INSERTs (and the rows of each) and can make chosen INSERTs fail
 * before they reach ClickHouse.
 */
function instrumented(ch: ClickHouse, fail?: (insertNumber: number) => unknown) {
  const inserts: number[] = [];
  const client = new Proxy(ch.client, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop !== 'exec') return typeof value === 'function' ? value.bind(target) : value;
      return async (params: ExecParams & { values?: Readable }) => {
        if (!/^INSERT/i.test(params.query) || !params.values) return target.exec(params);
        let body = '';
        for await (const chunk of params.values) body += chunk;
        inserts.push(body.split('\n').filter(Boolean).length);
        const failure = fail?.(inserts.length);
        if (failure) throw failure;
        return target.exec({ ...params, values: Readable.from([body]) });
      };
    },
  });
  return { ch: { ...ch, client } as ClickHouse, inserts };
}

describe.each(clickhouseTargets())('clickhouse provider-trace backend on $name', (target) => {
  providerTraceBackendContract('clickhouse', {
    actors: () => ({ a, b }),
    create: async () => {
      const scratch = await createScratchClickHouse(target);
      const { ch } = scratch;
      const table = qualified(ch, 'provider_traces');
      return {
        deps: { clickhouse: ch },
        async stored(actor, id) {
          const [row] = await rows<ClickHouseTraceRow>(
            ch,
            `SELECT id, step_id, run_id, agent_id, agent_tags, call_type, request_json, response_json,
                    toString(created_at) AS created_at
             FROM ${table} FINAL WHERE organization_id = {org:String} AND id = {id:String}`,
            { org: actor.organizationId, id },
          );
          return row ? traceFromRow(row) : null;
        },
        async count(ids) {
          const [row] = await rows<{ n: string | number }>(
            ch,
            `SELECT count() AS n FROM ${table} FINAL WHERE id IN {ids:Array(String)}`,
            { ids },
          );
          return Number(row?.n ?? 0);
        },
        dispose: () => scratch.drop(),
      };
    },
  });

  describe('batching, failures and reads', () => {
    let scratch: ScratchClickHouse;
    let backend: ClickHouseProviderTraceBackend | null = null;
    const open = (options: Omit<ClickHouseBackendOptions, 'clickhouse'> = {}, fail?: (n: number) => unknown) => {
      const { ch, inserts } = instrumented(scratch.ch, fail);
      backend = new ClickHouseProviderTraceBackend({ ...options, clickhouse: ch });
      return { backend, inserts };
    };
    beforeAll(async () => {
      scratch = await createScratchClickHouse(target);
    });
    afterEach(async () => {
      await backend?.close();
      backend = null;
    });
    afterAll(() => scratch?.drop());
    const countIds = async (ids: string[], final = true) => {
      const [row] = await rows<{ n: string | number }>(
        scratch.ch,
        `SELECT count() AS n FROM ${qualified(scratch.ch, 'provider_traces')} ${final ? 'FINAL' : ''} WHERE id IN {ids:Array(String)}`,
        { ids },
      );
      return Number(row?.n);
    };

    it('by time: 100 quick creates within the flush interval go in one INSERT, resolved after it', async () => {
      const { backend, inserts } = open({ flushIntervalMs: 50 });
      const traces = Array.from({ length: 100 }, (_, i) => trace({}, i));
      const started = performance.now();
      const results = await Promise.all(traces.map((t) => backend.create(a, t)));
      expect(performance.now() - started).toBeGreaterThanOrEqual(45);
      expect(inserts).toEqual([100]);
      expect(results.map((r) => r.id)).toEqual(traces.map((t) => t.id));
      expect(await countIds(traces.map((t) => t.id))).toBe(100);
      expect(backend.stats()).toMatchObject({ queueDepth: 0, queueBytes: 0, dropped: 0 });
    });

    it('by rows: a full batch is written at once, without waiting for the interval', async () => {
      const { backend, inserts } = open({ flushIntervalMs: 60_000, maxBatchRows: 10 });
      const started = performance.now();
      await Promise.all(Array.from({ length: 30 }, (_, i) => backend.create(a, trace({}, i))));
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(inserts).toEqual([10, 10, 10]);
    });

    it('by bytes: a batch never exceeds maxBatchBytes, and a full one goes at once', async () => {
      const padded = (i: number) =>
        trace({ requestJson: { pad: 'x'.repeat(1_000), i: 1_000 + i }, responseJson: {}, callType: null });
      // every row is the same size (~1.4 KB): a cap of 2.5 rows makes batches of two, written when 3 are waiting
      const { backend, inserts } = open({ flushIntervalMs: 60_000, maxBatchBytes: 3_600, maxConcurrentInserts: 1 });
      const first = Array.from({ length: 5 }, (_, i) => backend.create(a, padded(i)));
      await Promise.all(first.slice(0, 4));
      expect(inserts).toEqual([2, 2]);
      expect(backend.stats().queueDepth).toBe(1);
      await backend.flush();
      await Promise.all(first);
      expect(inserts).toEqual([2, 2, 1]);
    });

    it('a row larger than maxBatchBytes goes alone', async () => {
      const { backend, inserts } = open({ flushIntervalMs: 60_000, maxBatchBytes: 1 });
      await Promise.all([backend.create(a, trace()), backend.create(a, trace({}, 1))]);
      expect(inserts).toEqual([1, 1]);
    });

    it('a failed INSERT rejects only its own callers; enqueue counts the loss and reports it', async () => {
      const boom = Object.assign(new Error('Code: 241. Memory limit exceeded'), {
        code: '241',
        type: 'MEMORY_LIMIT_EXCEEDED',
      });
      const { backend, inserts } = open({ flushIntervalMs: 60_000, maxBatchRows: 5, maxConcurrentInserts: 1 }, (n) =>
        n === 1 ? boom : undefined,
      );
      const traces = Array.from({ length: 10 }, (_, i) => trace({}, i));
      const results = await Promise.allSettled(traces.map((t) => backend.create(a, t)));
      expect(inserts).toEqual([5, 5]);
      expect(results.slice(0, 5).every((r) => r.status === 'rejected')).toBe(true);
      expect(results.slice(5).every((r) => r.status === 'fulfilled')).toBe(true);
      // an overloaded ClickHouse is the retryable Unavailable, with the original error as its cause
      expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'UNAVAILABLE', cause: boom });
      expect(await countIds(traces.map((t) => t.id))).toBe(5);

      const reported: unknown[] = [];
      const failing = new ClickHouseProviderTraceBackend({
        clickhouse: instrumented(scratch.ch, () =>
          Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
        ).ch,
        flushIntervalMs: 0,
        onBackgroundError: (err) => reported.push(err),
      });
      expect(() => failing.enqueue(a, trace())).not.toThrow();
      await failing.close();
      expect(failing.stats().dropped).toBe(1);
      expect(reported).toEqual([expect.objectContaining({ code: 'UNAVAILABLE' })]);
    });

    it('a ClickHouse answer that is not an outage stays as it is (a bug, not a 503)', async () => {
      const bad = Object.assign(new Error('Code: 62. Syntax error'), { code: '62', type: 'SYNTAX_ERROR' });
      const { backend } = open({ flushIntervalMs: 0 }, () => bad);
      await expect(backend.create(a, trace())).rejects.toBe(bad);
    });

    it('one trace of a batch holding a lone surrogate or NUL fails alone: the other 11 are written', async () => {
      const { backend, inserts } = open({ flushIntervalMs: 60_000, maxConcurrentInserts: 1 });
      const bad = [
        trace({ requestJson: { messages: [{ role: 'user', content: 'cut \ud800 here' }] } }),
        trace({ agentTags: ['ok', '\udfff'] }),
        trace({ responseJson: { 'k\ud83d': 1 } }),
        trace({ callType: 'agent\u0000step' }),
      ];
      const good = Array.from({ length: 11 }, (_, i) => trace({}, i));
      const all = [...good.slice(0, 4), bad[0]!, ...good.slice(4, 8), bad[1]!, bad[2]!, ...good.slice(8), bad[3]!];
      const settled = Promise.allSettled(all.map((t) => backend.create(a, t)));
      await backend.flush();
      const results = await settled;
      for (const [i, t] of all.entries()) {
        if (bad.includes(t))
          expect(results[i]).toMatchObject({ status: 'rejected', reason: { code: 'INVALID_ARGUMENT' } });
        else expect(results[i]?.status).toBe('fulfilled');
      }
      expect(
        results.map((r) => (r.status === 'rejected' ? (r.reason as { field?: string }).field : null)).filter(Boolean),
      ).toEqual([
        'requestJson.messages.0.content',
        'agentTags.1',
        'responseJson.k\ud83d', // a bad key is named by its own path
        'callType',
      ]);
      expect(await countIds(good.map((t) => t.id))).toBe(11);
      expect(await countIds(bad.map((t) => t.id))).toBe(0);
      expect(inserts).toEqual([11]);
    });

    it('refuses a trace whose createdAt is not a timestamp without failing its neighbours', async () => {
      const { backend, inserts } = open({ flushIntervalMs: 20 });
      const good = trace();
      const results = await Promise.allSettled([
        backend.create(a, { ...trace(), createdAt: 'not a timestamp' }),
        backend.create(a, good),
      ]);
      expect(results[0]).toMatchObject({
        status: 'rejected',
        reason: { code: 'INVALID_ARGUMENT', field: 'createdAt' },
      });
      expect(results[1]?.status).toBe('fulfilled');
      expect(inserts).toEqual([1]);
    });

    it('refuses a createdAt beyond years 0001–9999 (as no input schema lets through) instead of recursing without end', async () => {
      const { backend, inserts } = open({ flushIntervalMs: 20 });
      const results = await Promise.allSettled([
        backend.create(a, { ...trace(), createdAt: '+010000-01-01T00:00:00.000Z' }),
        backend.create(a, { ...trace(), createdAt: '2024-01-01T00:00:00+23:00' }),
        backend.create(a, trace()),
      ]);
      expect(results[0]).toMatchObject({
        status: 'rejected',
        reason: { code: 'INVALID_ARGUMENT', field: 'createdAt' },
      });
      expect(results.slice(1).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      expect(inserts).toEqual([2]);
    });

    it('bounds its queue: beyond maxQueueRows create() is Unavailable and enqueue() drops, counted', async () => {
      const { backend } = open({ flushIntervalMs: 60_000, maxQueueRows: 3 });
      const accepted = [backend.create(a, trace()), backend.create(a, trace()), backend.create(a, trace())];
      await expect(backend.create(a, trace())).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      backend.enqueue(a, trace());
      await new Promise((r) => setTimeout(r, 0));
      expect(backend.stats()).toMatchObject({ queueDepth: 3, dropped: 1 });
      expect(backend.stats().queueBytes).toBeGreaterThan(3 * 1_000);
      await backend.close();
      await Promise.all(accepted);
      expect(backend.stats()).toMatchObject({ queueDepth: 0, queueBytes: 0 });
    });

    it('create after close is refused, enqueue after close is a counted drop', async () => {
      const { backend } = open();
      await backend.close();
      await expect(backend.create(a, trace())).rejects.toThrow(/closed/);
      expect(() => backend.enqueue(a, trace())).not.toThrow();
      await new Promise((r) => setTimeout(r, 0));
      expect(backend.stats().dropped).toBe(1);
    });

    it('stores a trace intact: JSON text, unicode, control characters, absent fields, microsecond-free timestamps', async () => {
      const { backend } = open({ flushIntervalMs: 0 });
      const full = trace({
        requestJson: {
          text: 'a\u0001b — 你好 🎉 "quoted" \\ back \\ud800 \ud83d\ude00',
          n: 1.5,
          big: 2 ** 53,
          list: [null, true, {}],
        },
        responseJson: { empty: {}, arr: [] },
        agentTags: ['x', 'y'],
        createdAt: '2026-03-04T05:06:07.089000Z',
      });
      const bare: ProviderTrace = {
        ...trace(),
        stepId: newId('step'),
        runId: null,
        agentId: null,
        agentTags: null,
        callType: null,
        requestJson: {},
        responseJson: {},
      };
      const empty = trace({ callType: '' });
      await Promise.all([backend.create(a, full), backend.create(a, bare), backend.create(a, empty)]);
      expect(await backend.readByStep(a, full.stepId!)).toEqual(full);
      expect(await backend.readByStep(a, bare.stepId!)).toEqual(bare);
      expect((await backend.readByStep(a, empty.stepId!))?.callType).toBe('');
    });

    it('a retried insert of the same trace reads and counts once', async () => {
      const { backend, inserts } = open({ flushIntervalMs: 0 });
      const t = trace();
      await backend.create(a, t);
      await backend.create(a, t);
      await Promise.all([backend.create(a, t), backend.create(a, t)]);
      expect(inserts.length).toBeGreaterThanOrEqual(2);
      expect(await backend.listByRun(a, t.runId!, 10)).toEqual([t]);
      expect(await countIds([t.id])).toBe(1);
    });

    it('scopes every read and delete by organization, even for the same step and run ids', async () => {
      const { backend } = open({ flushIntervalMs: 0 });
      const stepId = newId('step');
      const runId = newId('run');
      const mine = trace({ stepId, runId });
      const theirs = trace({ stepId, runId, createdAt: new Date(Date.now() + 1_000).toISOString() }, 1);
      await Promise.all([backend.create(a, mine), backend.create(b, theirs)]);
      expect((await backend.readByStep(a, stepId))?.id).toBe(mine.id);
      expect((await backend.readByStep(b, stepId))?.id).toBe(theirs.id);
      expect((await backend.listByRun(a, runId, 10)).map((t) => t.id)).toEqual([mine.id]);
      await backend.deleteByRun(a, runId);
      expect(await backend.listByRun(a, runId, 10)).toEqual([]);
      expect((await backend.listByRun(b, runId, 10)).map((t) => t.id)).toEqual([theirs.id]);
      expect(await backend.readByStep(a, '')).toBeNull();
    });

    it('listByRun honours its limit, oldest first', async () => {
      const { backend } = open({ flushIntervalMs: 0 });
      const runId = newId('run');
      const traces = Array.from({ length: 5 }, (_, i) => trace({ runId, createdAt: `2026-02-01T00:00:0${i}.000Z` }, i));
      await Promise.all([...traces].reverse().map((t) => backend.create(a, t)));
      expect((await backend.listByRun(a, runId, 3)).map((t) => t.id)).toEqual(traces.slice(0, 3).map((t) => t.id));
      expect(await backend.listByRun(a, runId, 0)).toEqual([]);
    });

    it('deleteByRun first writes the run traces still waiting in a batch, so none reappears', async () => {
      const { backend } = open({ flushIntervalMs: 60_000 });
      const runId = newId('run');
      for (let i = 0; i < 3; i++) backend.enqueue(a, trace({ runId }, i));
      await backend.deleteByRun(a, runId);
      await backend.close();
      expect(await backend.listByRun(a, runId, 10)).toEqual([]);
      expect(backend.stats().dropped).toBe(0);
    });
  });

  describe('migrations and TTL', () => {
    it('creates provider_traces with its ORDER BY, run index and the configured TTL (from receipt)', async () => {
      const scratch = await createScratchClickHouse(target, { ttlDays: 30 });
      try {
        const [row] = await rows<{ statement: string }>(
          scratch.ch,
          `SHOW CREATE TABLE ${qualified(scratch.ch, 'provider_traces')}`,
        );
        const ddl = row?.statement ?? '';
        expect(ddl).toContain('ENGINE = ReplacingMergeTree');
        expect(ddl).toContain('ORDER BY (organization_id, step_id, created_at, id)');
        expect(ddl).toMatch(/INDEX idx_run_id run_id TYPE bloom_filter/);
        expect(ddl).toMatch(/TTL inserted_at \+ toIntervalDay\(30\)/);
      } finally {
        await scratch.drop();
      }
    });

    it('applies each version once (also when applied concurrently) and follows a changed TTL', async () => {
      const scratch = await createScratchClickHouse(target, { migrate: false });
      const { ch } = scratch;
      try {
        const first = await Promise.all([
          migrateClickHouse(ch, { ttlDays: 30 }),
          migrateClickHouse(ch, { ttlDays: 30 }),
          migrateClickHouse(ch, { ttlDays: 30 }),
        ]);
        expect(first.flat()).toEqual([1, 2, 3]);
        expect(await migrateClickHouse(ch, { ttlDays: 30 })).toEqual([]);
        const versions = await rows<{ version: number; n: string | number }>(
          ch,
          `SELECT version, count() AS n FROM ${qualified(ch, 'runtrace_migrations')} GROUP BY version ORDER BY version`,
        );
        expect(versions.map((v) => [Number(v.version), Number(v.n)])).toEqual([
          [1, 1],
          [2, 1],
          [3, 1],
        ]);
        expect(await currentTraceTtlDays(ch)).toBe(30);
        await migrateClickHouse(ch, { ttlDays: 7 });
        expect(await currentTraceTtlDays(ch)).toBe(7);
        await migrateClickHouse(ch, { ttlDays: 0 });
        expect(await currentTraceTtlDays(ch)).toBeNull();
        await migrateClickHouse(ch, { ttlDays: 0 });
        await expect(migrateClickHouse(ch, { ttlDays: -1 })).rejects.toThrow(/ttlDays/);
      } finally {
        await scratch.drop();
      }
    });

    it('expires traces received longer ago than the TTL, not traces that merely carry an old createdAt', async () => {
      const scratch = await createScratchClickHouse(target, { ttlDays: 30 });
      const { ch } = scratch;
      const table = qualified(ch, 'provider_traces');
      try {
        const backend = new ClickHouseProviderTraceBackend({ clickhouse: ch, flushIntervalMs: 0 });
        const backfilled = trace({ createdAt: '2025-01-01T00:00:00.000Z' });
        await backend.create(a, backfilled);
        await backend.close();
        await ch.client.command({
          query: `INSERT INTO ${table} (organization_id, id, step_id, created_at, inserted_at)
                  VALUES ({org:String}, 'provider_trace-expired', 'step-x', now64(6), now() - INTERVAL 31 DAY)`,
          query_params: { org: a.organizationId },
        });
        await ch.client.command({ query: `OPTIMIZE TABLE ${table} FINAL` });
        const ids = await rows<{ id: string }>(ch, `SELECT id FROM ${table} ORDER BY id`);
        expect(ids.map((r) => r.id)).toEqual([backfilled.id]);
      } finally {
        await scratch.drop();
      }
    });
  });
});

describe('CLICKHOUSE_URL', () => {
  const dataDir = '/srv/runtrace-data';
  it.each([
    [undefined, { kind: 'chdb', path: path.join(dataDir, 'clickhouse') }],
    ['', { kind: 'chdb', path: path.join(dataDir, 'clickhouse') }],
    ['chdb:memory', { kind: 'chdb', path: ':memory:' }],
    ['chdb:/var/lib/ch', { kind: 'chdb', path: '/var/lib/ch' }],
    ['chdb:rel/ch', { kind: 'chdb', path: '/work/here/rel/ch' }],
    ['off', { kind: 'off' }],
    [
      'http://ch.internal',
      { kind: 'server', url: 'http://ch.internal:8123', username: 'default', password: '', database: undefined },
    ],
    [
      'https://alice:p%40ss%3Aword@ch.example.com:9440/traces',
      {
        kind: 'server',
        url: 'https://ch.example.com:9440',
        username: 'alice',
        password: 'p@ss:word',
        database: 'traces',
      },
    ],
    [
      'https://bob@ch.example.com/',
      { kind: 'server', url: 'https://ch.example.com:8443', username: 'bob', password: '', database: undefined },
    ],
    [
      'http://[::1]:8123/db',
      { kind: 'server', url: 'http://[::1]:8123', username: 'default', password: '', database: 'db' },
    ],
  ])('%s', (value, expected) => {
    expect(parseClickHouseUrl(value, { dataDir, cwd: '/work/here' })).toEqual(expected);
  });

  it.each([
    'clickhouse://ch:9000',
    'chdb:',
    'ch.internal:9440',
    'http://',
    'http://u:secret@ch/bad-name',
    'http://ch:8123/db?secure=1',
    'postgres://u:secret@h/db',
  ])('refuses %s with an error naming CLICKHOUSE_URL and no password', (value) => {
    let error: unknown;
    try {
      parseClickHouseUrl(value, { dataDir });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/^CLICKHOUSE_URL: /);
    expect((error as Error).message).not.toContain('secret');
    expect(() => parseClickHouseUrl(value, { dataDir, variable: 'SIDECAR_CLICKHOUSE_URL' })).toThrow(
      /^SIDECAR_CLICKHOUSE_URL: /,
    );
  });

  it('off: connecting and opening the backend answer NOT_IMPLEMENTED naming the variable', async () => {
    await expect(connectClickHouse({ url: 'off', dataDir })).rejects.toMatchObject({
      code: 'NOT_IMPLEMENTED',
      message: expect.stringContaining('CLICKHOUSE_URL'),
    });
    await expect(
      openClickHouseProviderTraceBackend({ clickhouseUrl: 'off', dataDir, clickhouseTraceTtlDays: 30 }),
    ).rejects.toMatchObject({ code: 'NOT_IMPLEMENTED', message: expect.stringContaining('CLICKHOUSE_URL') });
  });

  it('every handle on the same chdb shares one engine, which outlives all but the last close', async () => {
    const one = await connectClickHouse({ url: 'chdb:memory', dataDir, database: 'shared_a' });
    const two = await connectClickHouse({ url: 'chdb:memory', dataDir, database: 'shared_b' });
    expect(two.client).toBe(one.client);
    expect([one.kind, one.location]).toEqual(['chdb', 'chdb (in memory)/shared_a']);
    await one.close();
    await one.close();
    const [row] = await rows<{ n: number }>(two, "SELECT count() AS n FROM system.databases WHERE name = 'shared_a'");
    expect(Number(row?.n)).toBe(1);
    await two.client.command({ query: 'DROP DATABASE shared_a' });
    await two.client.command({ query: 'DROP DATABASE shared_b' });
    await two.close();
  });

  it('opens the backend from configuration: connect, migrate, close with the backend', async () => {
    // a second handle keeps the in-memory engine (and so its data) alive after the backend closes its own
    const ch = await connectClickHouse({ url: 'chdb:memory', dataDir });
    const backend = await openClickHouseProviderTraceBackend({
      clickhouseUrl: 'chdb:memory',
      dataDir,
      clickhouseTraceTtlDays: 14,
    });
    const t = trace();
    await backend.create(a, t);
    expect((await backend.readByStep(a, t.stepId!))?.id).toBe(t.id);
    await backend.close();
    try {
      expect(ch.database).toBe('runtrace');
      expect(await currentTraceTtlDays(ch)).toBe(14);
      await ch.client.command({ query: 'DROP DATABASE runtrace' });
    } finally {
      await ch.close();
    }
  });
});
