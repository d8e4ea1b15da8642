/**
 * What the Letta REST layer builds its id cursors on: each list's `cursorFor` (an id → the cursor of a page ending
 * on it) and the exclusive `until` bound; plus steps.list's filters, steps.setFeedback and messages.listByStep.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from './actor.ts';
import { InvalidArgument, NotFound } from './errors.ts';
import type { Order } from './pagination.ts';
import { createTestRuntime, databaseTargets, newId, type TestRuntime } from './testing/index.ts';

describe.each(databaseTargets())('id cursors and windows on $name', (target) => {
  let rt: TestRuntime;
  let actor: Actor;
  let other: Actor;

  beforeAll(async () => {
    rt = await createTestRuntime(target);
    actor = await rt.auth.ensureDefaultActor();
    const org = await rt.auth.createOrganization('other');
    other = { organizationId: org.id, userId: org.userId };
  });
  afterAll(async () => {
    await rt?.dispose();
  });

  const sql = (query: string) => rt.database.db.execute(query);

  it('runs: cursorFor + until give exactly the runs between two ids, in both orders, ties included', async () => {
    const agentId = newId('agent');
    for (let i = 0; i < 6; i++) await rt.runs.create(actor, { agentId });
    await sql(`update runs set created_at = '2026-01-01T00:00:00Z' where agent_id = '${agentId}'`);
    for (const order of ['asc', 'desc'] as Order[]) {
      const all = (await rt.runs.list(actor, { agentId, order })).items.map((r) => r.id);
      const from = await rt.runs.cursorFor(actor, all[1]!, order);
      const to = await rt.runs.cursorFor(actor, all[4]!, order);
      const page = await rt.runs.list(actor, { agentId, order, cursor: from }, { until: to });
      expect(page.items.map((r) => r.id)).toEqual(all.slice(2, 4));
      expect((await rt.runs.list(actor, { agentId, order }, { until: to })).items.map((r) => r.id)).toEqual(
        all.slice(0, 4),
      );
    }
    await expect(rt.runs.cursorFor(actor, newId('run'), 'asc')).rejects.toBeInstanceOf(NotFound);
    await expect(
      rt.runs.cursorFor(other, (await rt.runs.list(actor, { agentId })).items[0]!.id, 'asc'),
    ).rejects.toBeInstanceOf(NotFound);
    await expect(rt.runs.cursorFor(actor, 'run-1', 'asc')).rejects.toBeInstanceOf(InvalidArgument);
    // a cursor of one order is refused by the other
    const asc = await rt.runs.cursorFor(actor, (await rt.runs.list(actor, { agentId })).items[0]!.id, 'asc');
    await expect(rt.runs.list(actor, { agentId, order: 'desc' }, { until: asc })).rejects.toBeInstanceOf(
      InvalidArgument,
    );
  });

  it('runs.list takes agentIds (any of them) unless agentId is given', async () => {
    const [a, b, c] = [newId('agent'), newId('agent'), newId('agent')];
    const ra = await rt.runs.create(actor, { agentId: a });
    const rb = await rt.runs.create(actor, { agentId: b });
    await rt.runs.create(actor, { agentId: c });
    const ids = async (input: object, agentIds: string[]) =>
      (await rt.runs.list(actor, { ...input, order: 'asc' }, { agentIds })).items.map((r) => r.id);
    expect(await ids({}, [a, b])).toEqual([ra.id, rb.id]);
    expect(await ids({ agentId: a }, [b])).toEqual([ra.id]);
    expect(await ids({}, [])).toEqual([]);
    await expect(ids({}, ['agent-x'])).rejects.toBeInstanceOf(InvalidArgument);
  });

  it("steps: the organization's list with Letta's filters, cursors scoped to a run, feedback", async () => {
    const run = await rt.runs.create(actor, { agentId: newId('agent') });
    const s1 = await rt.steps.create(actor, {
      runId: run.id,
      model: 'm1',
      traceId: 't1',
      tags: ['a', 'b'],
      projectId: 'p',
    });
    const s2 = await rt.steps.create(actor, { runId: run.id, model: 'm2', tags: ['a'] });
    const list = async (input: object) =>
      (await rt.steps.list(actor, { agentId: run.agentId, ...input })).items.map((s) => s.id);
    expect(await list({})).toEqual([s2.id, s1.id]);
    expect(await list({ model: 'm1' })).toEqual([s1.id]);
    expect(await list({ traceIds: ['t1', 'zz'] })).toEqual([s1.id]);
    expect(await list({ traceIds: [] })).toEqual([]);
    expect(await list({ tags: ['a', 'b'] })).toEqual([s1.id]);
    expect(await list({ projectId: 'p' })).toEqual([s1.id]);
    expect(await list({ startDate: '2999-01-01T00:00:00Z' })).toEqual([]);
    expect(await list({ endDate: '2999-01-01T00:00:00Z', order: 'asc' })).toEqual([s1.id, s2.id]);
    const withFeedback = await rt.steps.setFeedback(actor, { stepId: s1.id, feedback: 'negative', tags: ['bad'] });
    expect(withFeedback).toMatchObject({ feedback: 'negative', tags: ['bad'] });
    expect(await list({ hasFeedback: true })).toEqual([s1.id]);
    expect(await list({ feedback: 'negative' })).toEqual([s1.id]);
    expect(await rt.steps.setFeedback(actor, { stepId: s1.id, tags: [] })).toMatchObject({
      feedback: null,
      tags: ['bad'],
    });
    await expect(rt.steps.setFeedback(other, { stepId: s1.id, feedback: 'positive' })).rejects.toBeInstanceOf(NotFound);
    expect((await rt.steps.list(other, {})).items).toEqual([]);
    // a step's cursor belongs to its run's list (or the organization's), not to another run's
    const otherRun = await rt.runs.create(actor, { agentId: run.agentId });
    await expect(rt.steps.cursorFor(actor, s1.id, 'asc', otherRun.id)).rejects.toBeInstanceOf(NotFound);
    const cursor = await rt.steps.cursorFor(actor, s1.id, 'asc', run.id);
    expect((await rt.steps.listByRun(actor, { runId: run.id, order: 'asc', cursor })).items.map((s) => s.id)).toEqual([
      s2.id,
    ]);
    await expect(rt.steps.list(actor, { order: 'asc', cursor })).rejects.toBeInstanceOf(InvalidArgument);
  });

  it("messages: a step's messages in order, cursors of a run's or a step's list, until", async () => {
    const run = await rt.runs.create(actor, { agentId: newId('agent') });
    const step = await rt.steps.create(actor, { runId: run.id });
    const appended = await rt.messages.append(actor, {
      runId: run.id,
      messages: [
        { messageType: 'user_message', content: 'a', stepId: step.id },
        { messageType: 'assistant_message', content: 'b' },
        { messageType: 'assistant_message', content: 'c', stepId: step.id },
        { messageType: 'assistant_message', content: 'd', stepId: step.id },
      ],
    });
    const [m1, m2, m3, m4] = appended.map((m) => m.id) as [string, string, string, string];
    const byStep = async (order: Order, window: { cursor?: string; until?: string } = {}) =>
      (
        await rt.messages.listByStep(actor, { stepId: step.id, order, cursor: window.cursor }, { until: window.until })
      ).items.map((m) => m.id);
    expect(await byStep('asc')).toEqual([m1, m3, m4]);
    expect(await byStep('desc')).toEqual([m4, m3, m1]);
    const from = await rt.messages.cursorFor(actor, { stepId: step.id }, m1, 'asc');
    const to = await rt.messages.cursorFor(actor, { stepId: step.id }, m4, 'asc');
    expect(await byStep('asc', { cursor: from, until: to })).toEqual([m3]);
    await expect(rt.messages.cursorFor(actor, { stepId: step.id }, m2, 'asc')).rejects.toBeInstanceOf(NotFound);
    const runTo = await rt.messages.cursorFor(actor, { runId: run.id }, m3, 'desc');
    const runPage = await rt.messages.listByRun(actor, { runId: run.id, order: 'desc' }, { until: runTo });
    expect(runPage.items.map((m) => m.id)).toEqual([m4]);
    await expect(rt.messages.cursorFor(other, { runId: run.id }, m1, 'asc')).rejects.toBeInstanceOf(NotFound);
    await expect(rt.messages.listByStep(other, { stepId: step.id })).rejects.toBeInstanceOf(NotFound);
  });
});
