/**
 * The Letta REST layer's contract over plain HTTP: every status code Letta answers (and the reference bugs fixed),
 * the cursor rules of every list (CONTRACTS §4), auth, delete, the wire format and the OpenAPI document.
 */
import { type Actor, newId, Unavailable } from '@runtrace/core';
import type { Run, Step } from '@runtrace/core/runs';
import { databaseTargets } from '@runtrace/core/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { lettaRoutes } from './index.ts';
import { openApiPath } from './openapi.ts';
import { type RestApi, startRestApi } from './test-helpers.ts';

type Json = Record<string, unknown>;
const ids = (json: unknown) => (json as { id: string }[]).map((r) => r.id);

describe.each(databaseTargets())('Letta REST contract on $name', (target) => {
  let api: RestApi;
  let orgB: { key: string; actor: Actor };

  beforeAll(async () => {
    api = await startRestApi(target);
    const org = await api.rt.auth.createOrganization('b');
    const key = await api.rt.auth.createApiKey(org.id, 'b');
    orgB = { key: key.key, actor: { organizationId: org.id, userId: org.userId } };
  });
  afterAll(async () => {
    await api?.close();
  });

  const createRun = (input: Json = {}, key?: string) =>
    api.mutate<Run>('runs.create', { agentId: newId('agent'), ...input }, key);

  describe('paths', () => {
    it('redirects the collections without their trailing slash (307, query kept), and routes /active before /{run_id}', async () => {
      const runs = await api.rest('/v1/runs?limit=5&order=asc');
      expect(runs.status).toBe(307);
      expect(runs.headers.get('location')).toBe('/v1/runs/?limit=5&order=asc');
      const steps = await api.rest('/v1/steps');
      expect([steps.status, steps.headers.get('location')]).toEqual([307, '/v1/steps/']);
      const active = await api.rest('/v1/runs/active');
      expect(active.status).toBe(200);
      expect(Array.isArray(active.json)).toBe(true);
      const unknown = await api.rest('/v1/nothing-here');
      expect([unknown.status, unknown.json]).toEqual([404, { detail: 'Not Found' }]);
    });
  });

  describe('400', () => {
    it('a malformed id, as Letta words it', async () => {
      for (const path of ['', '/messages', '/usage', '/metrics', '/steps']) {
        const res = await api.rest(`/v1/runs/run-123${path}`);
        expect([res.status, res.json]).toEqual([
          400,
          { detail: "INVALID_ARGUMENT: Invalid run ID format: run-123. Expected format: 'run-<uuid4>'" },
        ]);
      }
      expect((await api.rest('/v1/runs/job-123', { method: 'DELETE' })).status).toBe(400);
      expect((await api.rest('/v1/runs/run-123/stream', { method: 'POST' })).status).toBe(400);
      const step = await api.rest('/v1/steps/step-1');
      expect(step.json).toEqual({
        detail: "INVALID_ARGUMENT: Invalid step ID format: step-1. Expected format: 'step-<uuid4>'",
      });
      expect((await api.rest('/v1/runs/?agent_id=agent-1')).status).toBe(400);
      expect((await api.rest('/v1/runs/?after=run-1')).status).toBe(400);
    });

    it("an invalid status is Letta's ValueError: \"'x' is not a valid RunStatus\" (case-sensitive)", async () => {
      const res = await api.rest('/v1/runs/?statuses=completed&statuses=x');
      expect([res.status, res.json]).toEqual([400, { detail: "'x' is not a valid RunStatus" }]);
      expect((await api.rest('/v1/runs/?statuses=COMPLETED')).json).toEqual({
        detail: "'COMPLETED' is not a valid RunStatus",
      });
      expect((await api.rest('/v1/runs/?statuses=completed&statuses=failed')).status).toBe(200);
    });

    it('an invalid date is a ValueError; streaming a run that is not background is INVALID_ARGUMENT', async () => {
      const date = await api.rest('/v1/steps/?start_date=yesterday');
      expect([date.status, date.json]).toEqual([400, { detail: "Invalid isoformat string: 'yesterday'" }]);
      const run = await createRun();
      const res = await api.rest(`/v1/runs/${run.id}/stream`, { method: 'POST' });
      expect([res.status, res.json]).toEqual([
        400,
        { detail: 'INVALID_ARGUMENT: Run was not created in background mode, so it cannot be retrieved.' },
      ]);
    });
  });

  describe('404', () => {
    it("an unknown id and another organization's id answer the same", async () => {
      const mine = await createRun({ background: true });
      const step = await api.mutate<Step>('steps.create', { runId: mine.id });
      for (const key of [undefined, orgB.key]) {
        const runId = key ? mine.id : newId('run');
        for (const path of ['', '/messages', '/usage', '/metrics', '/steps']) {
          const res = await api.rest(`/v1/runs/${runId}${path}`, { key });
          expect(res.status, path).toBe(404);
          expect((res.json as Json).detail).toBe(`Run ${runId} not found`);
        }
        expect((await api.rest(`/v1/runs/${runId}`, { method: 'DELETE', key })).status).toBe(404);
        expect((await api.rest(`/v1/runs/${runId}/stream`, { method: 'POST', key })).status).toBe(404);
        const stepId = key ? step.id : newId('step');
        for (const path of ['', '/metrics', '/trace', '/messages']) {
          expect((await api.rest(`/v1/steps/${stepId}${path}`, { key })).status, path).toBe(404);
        }
        const feedback = await api.rest(`/v1/steps/${stepId}/feedback`, {
          method: 'PATCH',
          key,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ feedback: 'positive' }),
        });
        expect(feedback.status).toBe(404);
      }
      // organization B lists none of the default organization's runs or steps
      expect(ids((await api.rest('/v1/runs/', { key: orgB.key })).json)).not.toContain(mine.id);
      expect(ids((await api.rest('/v1/steps/', { key: orgB.key })).json)).not.toContain(step.id);
    });

    it('an unknown cursor id on every list', async () => {
      const run = await createRun();
      const step = await api.mutate<Step>('steps.create', { runId: run.id });
      const lists = [
        ['/v1/runs/', 'run'],
        [`/v1/runs/${run.id}/steps`, 'step'],
        [`/v1/runs/${run.id}/messages`, 'message'],
        ['/v1/steps/', 'step'],
        [`/v1/steps/${step.id}/messages`, 'message'],
      ] as const;
      for (const [path, kind] of lists) {
        for (const cursor of ['after', 'before']) {
          const res = await api.rest(`${path}?${cursor}=${newId(kind)}`);
          expect(res.status, `${path} ${cursor}`).toBe(404);
          expect(typeof (res.json as Json).detail).toBe('string');
        }
      }
      // a step of another run is not a position in this run's steps
      const other = await createRun();
      const foreignStep = await api.mutate<Step>('steps.create', { runId: other.id });
      expect((await api.rest(`/v1/runs/${run.id}/steps?after=${foreignStep.id}`)).status).toBe(404);
    });
  });

  describe('422', () => {
    it("schema validation of query parameters, with FastAPI's issue list", async () => {
      const cases = [
        '/v1/runs/?limit=0',
        '/v1/runs/?limit=1001',
        '/v1/runs/?limit=ten',
        '/v1/runs/?order=sideways',
        '/v1/runs/?order_by=updated_at',
        '/v1/runs/?stop_reason=bored',
        '/v1/runs/?background=maybe',
        '/v1/runs/?active=perhaps',
        '/v1/steps/?feedback=meh',
        '/v1/steps/?has_feedback=2',
        `/v1/runs/${newId('run')}/steps?order=up`,
        `/v1/runs/${newId('run')}/messages?limit=-1`,
        `/v1/runs/${newId('run')}/trace?limit=5001`,
        `/v1/runs/${newId('run')}/trace?limit=0`,
      ];
      for (const path of cases) {
        const res = await api.rest(path);
        expect(res.status, path).toBe(422);
        const detail = (res.json as { detail: { loc: string[]; msg: string }[] }).detail;
        expect(detail[0]?.loc[0], path).toBe('query');
      }
      const bad = await api.rest('/v1/runs/?limit=0');
      expect((bad.json as { detail: Json[] }).detail[0]).toMatchObject({ loc: ['query', 'limit'], input: '0' });
    });

    it('the stream body: explicit null, a negative cursor, not JSON; the step trace path pattern', async () => {
      const run = await createRun({ background: true });
      const post = (body: string) =>
        api.rest(`/v1/runs/${run.id}/stream`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
        });
      for (const body of [
        '{"starting_after":null}',
        '{"starting_after":-1}',
        '{"starting_after":"x"}',
        '{"include_pings":"yes"}',
        '[1]',
      ]) {
        expect((await post(body)).status, body).toBe(422);
      }
      expect((await post('{not json')).status).toBe(422);
      const huge = await post(JSON.stringify({ starting_after: 0, padding: 'x'.repeat(1024 * 1024) }));
      expect([huge.status, typeof (huge.json as Json).detail]).toEqual([413, 'string']);
      const trace = await api.rest('/v1/steps/step-x/trace');
      expect(trace.status).toBe(422);
      expect((trace.json as { detail: Json[] }).detail[0]).toMatchObject({ loc: ['path', 'step_id'] });
    });
  });

  describe('410, 501, 503, 500', () => {
    it("410 EXPIRED for a background run created more than 3 hours ago (Letta's rule)", async () => {
      const old = await createRun({ background: true });
      await api.sql(`update runs set created_at = now() - interval '3 hours 1 minute' where id = '${old.id}'`);
      const res = await api.rest(`/v1/runs/${old.id}/stream`, { method: 'POST' });
      expect([res.status, res.json]).toEqual([
        410,
        { detail: 'EXPIRED: Run was created more than 3 hours ago, and is now expired.' },
      ]);
      // just under 3 hours still streams: the headers come at once, before any event
      const young = await createRun({ background: true });
      await api.sql(`update runs set created_at = now() - interval '2 hours 59 minutes' where id = '${young.id}'`);
      const controller = new AbortController();
      const open = await fetch(`${api.url}/v1/runs/${young.id}/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"include_pings":false}',
        signal: controller.signal,
      });
      expect(open.status).toBe(200);
      expect(open.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      controller.abort();
    });

    it('501 for the run trace while ClickHouse is off, naming CLICKHOUSE_URL, whatever the run (after the limit check)', async () => {
      for (const runId of [newId('run'), 'run-bad']) {
        const res = await api.rest(`/v1/runs/${runId}/trace`);
        expect(res.status).toBe(501);
        expect((res.json as Json).detail).toContain('CLICKHOUSE_URL');
      }
    });

    it('503 when the stream store is unavailable; 500 without details for a bug', async () => {
      const run = await createRun({ background: true });
      const spy = vi
        .spyOn(api.rt.streams, 'subscribe')
        .mockRejectedValueOnce(new Unavailable('Redis is unavailable: connection refused'));
      try {
        const res = await api.rest(`/v1/runs/${run.id}/stream`, { method: 'POST' });
        expect([res.status, res.json]).toEqual([503, { detail: 'Redis is unavailable: connection refused' }]);
      } finally {
        spy.mockRestore();
      }
      const bug = vi.spyOn(api.rt.runs, 'retrieve').mockRejectedValueOnce(new Error('secret internals'));
      try {
        const res = await api.rest(`/v1/runs/${run.id}`);
        expect([res.status, res.json]).toEqual([500, { detail: 'An unknown error occurred' }]);
        expect(res.text).not.toMatch(/secret|at \w+ \(/);
      } finally {
        bug.mockRestore();
      }
    });
  });

  describe('delete', () => {
    it('DELETE answers null, and the run, its steps and messages are gone (the reference always answered 500)', async () => {
      const run = await createRun();
      const step = await api.mutate<Step>('steps.create', { runId: run.id });
      await api.mutate('messages.create', { runId: run.id, messages: [{ messageType: 'user_message', content: 'x' }] });
      const res = await api.rest(`/v1/runs/${run.id}`, { method: 'DELETE' });
      expect([res.status, res.text]).toEqual([200, 'null']);
      expect((await api.rest(`/v1/runs/${run.id}`)).status).toBe(404);
      expect((await api.rest(`/v1/steps/${step.id}`)).status).toBe(404);
      expect(ids((await api.rest(`/v1/runs/?agent_id=${run.agentId}`)).json)).toEqual([]);
      expect((await api.rest(`/v1/runs/${run.id}`, { method: 'DELETE' })).status).toBe(404);
    });
  });

  describe('metrics', () => {
    it("GET /v1/runs/{run_id}/metrics: Letta's RunMetrics with nanoseconds as integers", async () => {
      const run = await createRun();
      await api.mutate('steps.create', { runId: run.id });
      await api.mutate('runs.update', {
        runId: run.id,
        status: 'completed',
        stopReason: 'end_turn',
        totalDurationNs: '9007199254740993',
      });
      const res = await api.rest(`/v1/runs/${run.id}/metrics`);
      expect(res.json).toMatchObject({
        id: run.id,
        agent_id: run.agentId,
        num_steps: 1,
        tools_used: null,
        project_id: null,
        template_id: null,
        base_template_id: null,
        organization_id: expect.stringMatching(/^org-/),
      });
      expect(res.text).toMatch(/"run_start_ns":\d{19},/);
      expect(res.text).toContain('"run_ns":9007199254740993');
    });
  });

  describe('cursors: after/before this id in the requested order, on every list', () => {
    /** Checks one list against its full contents in both orders: after, before, both, and walks both ways. */
    async function checkCursors(path: string) {
      const sep = path.includes('?') ? '&' : '?';
      for (const order of ['asc', 'desc'] as const) {
        const get = async (query: string) => {
          const res = await api.rest(`${path}${sep}order=${order}${query}`);
          expect(res.status, `${path} ${order} ${query}`).toBe(200);
          return ids(res.json);
        };
        const full = await get('&limit=1000');
        expect(full.length).toBeGreaterThanOrEqual(6);
        for (let i = 0; i < full.length; i++) {
          const x = full[i]!;
          expect(await get(`&after=${x}&limit=1000`)).toEqual(full.slice(i + 1));
          expect(await get(`&after=${x}&limit=2`)).toEqual(full.slice(i + 1, i + 3));
          expect(await get(`&before=${x}&limit=1000`)).toEqual(full.slice(0, i));
          expect(await get(`&before=${x}&limit=2`)).toEqual(full.slice(Math.max(0, i - 2), i));
        }
        expect(await get(`&after=${full[1]}&before=${full[4]}`)).toEqual(full.slice(2, 4));
        expect(await get(`&after=${full[4]}&before=${full[1]}`)).toEqual([]);
        // walking forward page by page with after=<last id>, and back with before=<first id>
        const forward: string[] = [];
        let page = await get('&limit=2');
        while (page.length) {
          forward.push(...page);
          page = await get(`&limit=2&after=${page[page.length - 1]}`);
        }
        expect(forward).toEqual(full);
        const backward: string[] = [];
        page = await get(`&limit=2&before=${full[full.length - 1]}`);
        while (page.length) {
          backward.unshift(...page);
          page = await get(`&limit=2&before=${page[0]}`);
        }
        expect(backward).toEqual(full.slice(0, -1));
      }
    }

    it('runs, steps (of a run and of the organization) and messages (of a run and of a step), ties included', async () => {
      const agentId = newId('agent');
      const runs: Run[] = [];
      for (let i = 0; i < 7; i++) runs.push(await createRun({ agentId }));
      // three runs share one timestamp, two another: the id decides among equals
      await api.sql(
        `update runs set created_at = '2026-01-01T00:00:00.123456Z'::timestamptz + (ord / 3) * interval '1 microsecond'
         from (select id as rid, row_number() over (order by id) as ord from runs where agent_id = '${agentId}') o
         where runs.id = o.rid`,
      );
      await checkCursors(`/v1/runs/?agent_id=${agentId}`);
      // Letta's deprecated ascending=true forces ascending whatever the order
      const asc = ids((await api.rest(`/v1/runs/?agent_id=${agentId}&order=desc&ascending=true`)).json);
      expect(asc).toEqual(ids((await api.rest(`/v1/runs/?agent_id=${agentId}&order=asc`)).json));

      const run = runs[0]!;
      const steps: Step[] = [];
      for (let i = 0; i < 7; i++) steps.push(await api.mutate<Step>('steps.create', { runId: run.id }));
      await api.sql(
        `update steps set created_at = '2026-01-02T00:00:00Z'::timestamptz + (ord / 2) * interval '1 second'
         from (select id as sid, row_number() over (order by id) as ord from steps where run_id = '${run.id}') o
         where steps.id = o.sid`,
      );
      await checkCursors(`/v1/runs/${run.id}/steps`);
      await checkCursors(`/v1/steps/?agent_id=${agentId}`);

      const stepId = steps[0]!.id;
      await api.mutate('messages.create', {
        runId: run.id,
        messages: Array.from({ length: 7 }, (_, i) => ({ messageType: 'assistant_message', content: `m${i}`, stepId })),
      });
      await checkCursors(`/v1/runs/${run.id}/messages`);
      await checkCursors(`/v1/steps/${stepId}/messages`);
    });
  });

  describe('auth', () => {
    it('a Bearer API key selects its organization; without one the default organization applies', async () => {
      const b = await createRun({}, orgB.key);
      expect(ids((await api.rest('/v1/runs/', { key: orgB.key })).json)).toEqual([b.id]);
      expect(ids((await api.rest('/v1/runs/')).json)).not.toContain(b.id);
      const bad = await api.rest('/v1/runs/', { key: 'rt_not_a_key' });
      expect([bad.status, bad.json]).toEqual([401, { detail: 'Invalid or revoked API key' }]);
    });

    it('RUNTRACE_AUTH=required: 401 without a key or with a malformed header, 200 with a key', async () => {
      const strict = await startRestApi(target, { RUNTRACE_AUTH: 'required' });
      try {
        const none = await strict.rest('/v1/runs/');
        expect([none.status, none.json]).toEqual([
          401,
          { detail: 'An API key is required: Authorization: Bearer <key>' },
        ]);
        const basic = await strict.rest('/v1/steps/', { headers: { authorization: 'Basic abc' } });
        expect(basic.status).toBe(401);
        const org = await strict.rt.auth.createOrganization('c');
        const key = await strict.rt.auth.createApiKey(org.id, 'c');
        expect((await strict.rest('/v1/runs/', { key: key.key })).status).toBe(200);
        await expect(strict.letta().runs.list()).rejects.toMatchObject({ status: 401 });
        expect((await strict.letta(key.key).runs.list()).items).toEqual([]);
      } finally {
        await strict.close();
      }
    });
  });

  describe('OpenAPI', () => {
    it('GET /v1/openapi.json describes every endpoint from the same schemas', async () => {
      const res = await api.rest('/v1/openapi.json');
      expect(res.status).toBe(200);
      const doc = res.json as { openapi: string; paths: Record<string, Record<string, Json>> };
      expect(doc.openapi).toBe('3.1.0');
      const routes = lettaRoutes({ pingIntervalMs: 1, subscriptions: undefined as never });
      for (const route of routes) {
        const op = doc.paths[openApiPath(route.url)]?.[route.method.toLowerCase()];
        expect(op, `${route.method} ${route.url}`).toMatchObject({ operationId: route.operationId });
      }
      expect(Object.keys(doc.paths).sort()).toEqual([...new Set(routes.map((r) => openApiPath(r.url)))].sort());
      type Operation = { responses: Record<string, { content: Record<string, { schema: Json }> }> };
      const retrieve = doc.paths['/v1/runs/{run_id}']?.get as Operation;
      const run = retrieve.responses['200']?.content['application/json']?.schema as {
        properties: Record<string, Json>;
      };
      expect(Object.keys(run.properties)).toContain('ttft_ns');
      expect(JSON.stringify(run.properties.ttft_ns)).toContain('"integer"');
      const list = doc.paths['/v1/runs/']?.get as { parameters: { name: string; deprecated?: boolean }[] };
      expect(list.parameters.map((p) => p.name)).toEqual(
        expect.arrayContaining([
          'agent_id',
          'agent_ids',
          'statuses',
          'background',
          'stop_reason',
          'conversation_id',
          'before',
          'after',
          'limit',
          'order',
          'order_by',
          'active',
          'ascending',
        ]),
      );
      expect(list.parameters.find((p) => p.name === 'agent_ids')?.deprecated).toBe(true);
    });
  });
});
