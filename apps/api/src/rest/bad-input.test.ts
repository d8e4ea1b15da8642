/**
 * Bad input at the REST door: refused with Letta's 400/422 answers naming where it was on the wire (`query`, `path`,
 * `body`, snake_case names), never a 500, and never written.
 */
import { newId } from '@runtrace/core';
import type { Run, Step } from '@runtrace/core/runs';
import { databaseTargets } from '@runtrace/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RestApi, startRestApi } from './test-helpers.ts';

type Issue = { loc: (string | number)[]; msg: string; type: string };

describe.each(databaseTargets())('Letta REST bad input on $name', (target) => {
  let api: RestApi;
  let run: Run;
  let step: Step;

  beforeAll(async () => {
    api = await startRestApi(target);
    run = await api.mutate<Run>('runs.create', { agentId: newId('agent') });
    step = await api.mutate<Step>('steps.create', { runId: run.id, tags: ['kept'] });
  });
  afterAll(async () => {
    await api?.close();
  });

  describe('dates beyond what the stores hold', () => {
    it.each([
      ['start_date', '9999-12-31T23:59:59-14:00'],
      ['end_date', '9999-12-31T23:59:59-14:00'],
      ['start_date', '0001-01-01T00:00:00+14:00'],
      ['end_date', '0000-06-01'],
    ])('GET /v1/steps/?%s=%s → 400 naming the parameter and the range', async (name, value) => {
      const res = await api.rest(`/v1/steps/?${name}=${encodeURIComponent(value)}`);
      expect(res.status).toBe(400);
      expect((res.json as { detail: string }).detail).toContain(name);
      expect((res.json as { detail: string }).detail).toMatch(/0001-01-01T00:00:00Z and 9999-12-31T23:59:59\.999999Z/);
    });

    it('accepts the edges, and offsets Python accepts (converted to UTC)', async () => {
      for (const query of [
        'start_date=0001-01-01T00:00:00Z',
        'end_date=9999-12-31T23:59:59.999Z',
        'start_date=2024-01-01T00:00:00%2B23:00',
        'start_date=0001-01-01',
      ]) {
        expect((await api.rest(`/v1/steps/?${query}`)).status, query).toBe(200);
      }
    });
  });

  /** A PATCH of the step's feedback with `body` as the raw JSON text (so it can hold lone surrogates). */
  const patchFeedback = (body: string) =>
    api.rest(`/v1/steps/${step.id}/feedback`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body,
    });

  describe('text the database cannot store, at every entrance (query, path, body)', () => {
    const NUL = /NUL/;
    const SURROGATE = /surrogate/;
    it.each([
      ['GET', '/v1/steps/?model=%00', ['query', 'model'], NUL],
      ['GET', '/v1/steps/?tags=a&tags=b%00', ['query', 'tags', 1], NUL],
      ['GET', '/v1/steps/?trace_ids=%00', ['query', 'trace_ids', 0], NUL],
      ['GET', '/v1/steps/?project_id=x%00y', ['query', 'project_id'], NUL],
      ['GET', '/v1/steps/?agent_id=%00', ['query', 'agent_id'], NUL],
      ['GET', '/v1/runs/?conversation_id=%00', ['query', 'conversation_id'], NUL],
      ['GET', '/v1/runs/?agent_ids=%00', ['query', 'agent_ids', 0], NUL],
      ['GET', '/v1/runs/?after=%00', ['query', 'after'], NUL],
      ['GET', '/v1/runs/run-%00', ['path', 'run_id'], NUL],
      ['GET', '/v1/steps/step-%00/messages', ['path', 'step_id'], NUL],
    ])('%s %s → 422 at %j', async (method, path, loc, why) => {
      const res = await api.rest(path, { method });
      expect(res.status).toBe(422);
      const [issue] = (res.json as { detail: Issue[] }).detail;
      expect(issue?.loc).toEqual(loc);
      expect(issue?.msg).toMatch(why);
    });

    it.each([
      ['{"tags":["\\u0000"]}', ['body', 'tags', 0], NUL],
      ['{"tags":["ok","\\ud800"]}', ['body', 'tags', 1], SURROGATE],
      ['{"feedback":"positive","tags":["\\udc00x"]}', ['body', 'tags', 0], SURROGATE],
      ['{"feedback":"positive","extra":{"a\\u0000b":1}}', ['body', 'extra', 'a\u0000b'], NUL],
      ['{"\\ud800":1}', ['body', '\ud800'], SURROGATE],
    ])('PATCH feedback %s → 422 at %j, nothing written', async (body, loc, why) => {
      const res = await patchFeedback(body);
      expect(res.status).toBe(422);
      const [issue] = (res.json as { detail: Issue[] }).detail;
      expect(issue?.loc).toEqual(loc);
      expect(issue?.msg).toMatch(why);
      const after = await api.rest(`/v1/steps/${step.id}`);
      expect(after.json as { tags: string[]; feedback: string | null }).toMatchObject({
        tags: ['kept'],
        feedback: null,
      });
    });

    it('a stream body with a bad key names it', async () => {
      const background = await api.mutate<Run>('runs.create', { agentId: newId('agent'), background: true });
      const res = await api.rest(`/v1/runs/${background.id}/stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"starting_after":0,"x\\u0000":1}',
        signal: AbortSignal.timeout(10_000),
      });
      expect(res.status).toBe(422);
      expect((res.json as { detail: Issue[] }).detail[0]?.loc).toEqual(['body', 'x\u0000']);
    });
  });

  describe('validation by core names the wire location and the wire name', () => {
    it.each([
      [`/v1/runs/?conversation_id=${'c'.repeat(300)}`, ['query', 'conversation_id']],
      [`/v1/steps/?trace_ids=a&trace_ids=${'t'.repeat(300)}`, ['query', 'trace_ids', 1]],
    ])('GET %s → 422 at %j', async (path, loc) => {
      const res = await api.rest(path);
      expect(res.status).toBe(422);
      expect((res.json as { detail: Issue[] }).detail[0]?.loc).toEqual(loc);
    });
  });
});
