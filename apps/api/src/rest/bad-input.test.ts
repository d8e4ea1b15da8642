/**
 * Bad input at the REST door: refused with Letta's 400/422 answers naming where it was on the wire (`query`, `path`,
 * `body`, snake_case names), never a 500, and never written.
 */
import { newId, type Run, type Step } from '@runtrace/core';
import { databaseTargets } from '@runtrace/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RestApi, startRestApi } from './test-helpers.ts';

describe.each(databaseTargets())('Letta REST bad input on $name', (target) => {
  let api: RestApi;
  let run: Run;

  beforeAll(async () => {
    api = await startRestApi(target);
    run = await api.mutate<Run>('runs.create', { agentId: newId('agent') });
    await api.mutate<Step>('steps.create', { runId: run.id });
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
});
