/**
 * The managers' batch methods (runs.findMany / createMany / updateMany, steps.createMany, messages.appendMany,
 * providerTraces.createMany) on both drivers: each input answered as its single call would answer it, in one call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../actor.ts';
import { Conflict, InvalidArgument, NotFound } from '../errors.ts';
import { createTestRuntime, databaseTargets, newId, type TestRuntime } from '../testing/index.ts';

describe.each(databaseTargets())('batch writes of the managers on $name', (target) => {
  let rt: TestRuntime;
  let actor: Actor;
  let other: Actor;

  beforeAll(async () => {
    rt = await createTestRuntime(target);
    actor = await rt.auth.ensureDefaultActor();
    const org = await rt.auth.createOrganization('other batch');
    other = { organizationId: org.id, userId: org.userId };
  });
  afterAll(async () => {
    await rt?.dispose();
  });

  it('runs: createMany answers each input (new, retried, taken, invalid); findMany reads only the actor’s', async () => {
    const agentId = newId('agent');
    const retriedId = newId('run');
    const first = await rt.runs.create(actor, { id: retriedId, agentId, metadata: { k: 1 } });
    const takenId = (await rt.runs.create(other, { agentId: newId('agent') })).id;
    const freshId = newId('run');
    const answers = await rt.runs.createMany(actor, [
      { id: freshId, agentId, agentName: 'batch agent' },
      { id: retriedId, agentId, metadata: { k: 1 } },
      { id: takenId, agentId },
      { agentId: 'not-an-agent-id' },
    ]);
    expect(answers[0]).toMatchObject({ created: true, run: { id: freshId, status: 'created', agentId } });
    expect(answers[1]).toEqual({ created: false, run: first });
    expect(answers[2]).toBeInstanceOf(Conflict);
    expect(answers[3]).toBeInstanceOf(Error);
    const found = await rt.runs.findMany(actor, [freshId, retriedId, takenId, newId('run')]);
    expect([...found.keys()].sort()).toEqual([freshId, retriedId].sort());
    expect(found.get(retriedId)).toEqual(await rt.runs.retrieve(actor, { runId: retriedId }));
    expect(await rt.runs.metrics(actor, { runId: freshId })).toMatchObject({ id: freshId, agentId, numSteps: 0 });
    expect((await rt.agents.list(actor, {})).items.find((a) => a.id === agentId)?.name).toBe('batch agent');
  });

  it('runs: createMany with one id or one agent repeated: the first input creates, a repeat is a retry or taken', async () => {
    const runId = newId('run');
    const agentId = newId('agent');
    const answers = await rt.runs.createMany(actor, [
      { id: runId, agentId, agentName: 'first' },
      { id: runId, agentId, agentName: 'first' },
      { id: runId, agentId, agentName: 'second' },
      { agentId, agentName: 'third' },
    ]);
    expect(answers[0]).toMatchObject({ created: true, run: { id: runId } });
    expect(answers[1]).toEqual({ created: false, run: (answers[0] as { run: unknown }).run });
    expect(answers[2]).toBeInstanceOf(Conflict);
    expect(answers[3]).toMatchObject({ created: true, run: { agentId } });
    expect((await rt.agents.list(actor, {})).items.find((a) => a.id === agentId)?.name).toBe('first');
  });

  it('runs: updateMany applies updates in order in one transaction; a refused one changes nothing of its own', async () => {
    const a = await rt.runs.create(actor, { agentId: newId('agent') });
    const b = await rt.runs.create(actor, { agentId: newId('agent') });
    const answers = await rt.runs.updateMany(actor, [
      { runId: a.id, status: 'running', metadata: { x: 1 } },
      { runId: a.id, stopReason: 'end_turn', totalDurationNs: 5_000_000n },
      { runId: b.id, stopReason: 'error' },
      { runId: b.id, status: 'running' },
      { runId: newId('run'), status: 'running' },
      { runId: a.id, stopReason: 'cancelled', status: 'completed' },
    ]);
    expect(answers[0]).toMatchObject({ id: a.id, status: 'running', metadata: { x: 1 } });
    expect(answers[1]).toMatchObject({
      id: a.id,
      status: 'completed',
      stopReason: 'end_turn',
      totalDurationNs: '5000000',
    });
    expect(answers[2]).toMatchObject({ id: b.id, status: 'failed', stopReason: 'error' });
    expect(answers[3]).toBeInstanceOf(Conflict);
    expect(answers[4]).toBeInstanceOf(NotFound);
    expect(answers[5]).toBeInstanceOf(InvalidArgument);
    expect(await rt.runs.retrieve(actor, { runId: b.id })).toMatchObject({ status: 'failed', stopReason: 'error' });
    expect((await rt.runs.metrics(actor, { runId: a.id })).runNs).toBe('5000000');
    // runs of one agent ended in one batch: each updated in one statement; the agent keeps the last stop reason
    const agentId = newId('agent');
    const c = await rt.runs.create(actor, { agentId });
    const d = await rt.runs.create(actor, { agentId });
    const ended = await rt.runs.updateMany(actor, [
      { runId: c.id, stopReason: 'end_turn', totalDurationNs: 7n, metadata: { k: 1 } },
      { runId: d.id, stopReason: 'max_tokens_exceeded' },
      { runId: c.id, metadata: { j: 2 } },
    ]);
    expect(ended[0]).toMatchObject({ status: 'completed', totalDurationNs: '7', metadata: { k: 1 } });
    expect(ended[1]).toMatchObject({ status: 'failed', stopReason: 'max_tokens_exceeded' });
    expect(ended[2]).toMatchObject({ status: 'completed', metadata: { k: 1, j: 2 } });
    expect((ended[1] as { completedAt: string | null }).completedAt).not.toBeNull();
    expect((await rt.agents.list(actor, {})).items.find((a) => a.id === agentId)?.lastStopReason).toBe(
      'max_tokens_exceeded',
    );
    // another organization's run is unknown to the actor
    expect((await rt.runs.updateMany(other, [{ runId: a.id, metadata: { y: 2 } }]))[0]).toBeInstanceOf(NotFound);
  });

  it('steps: createMany prices and totals every new step once, answers retries, refuses taken ids and unknown runs', async () => {
    const run = await rt.runs.create(actor, { agentId: newId('agent') });
    const otherRun = await rt.runs.create(actor, { agentId: newId('agent') });
    const s1 = newId('step');
    const s2 = newId('step');
    const s3 = newId('step');
    const step = (id: string, runId: string, prompt: number, extra: Record<string, unknown> = {}) => ({
      id,
      runId,
      model: 'gpt-4o-mini',
      providerName: 'openai',
      promptTokens: prompt,
      completionTokens: 10,
      ...extra,
    });
    const answers = await rt.steps.createMany(actor, [
      step(s1, run.id, 100, { model: 'first-model' }),
      step(s2, run.id, 200, { status: 'failed', errorType: 'boom', llmRequestNs: 7n }),
      step(s3, otherRun.id, 50),
      step(newId('step'), newId('run'), 1),
      step('bad-id', run.id, 1),
    ]);
    expect(answers.slice(0, 3).map((a) => (a instanceof Error ? a : a.id))).toEqual([s1, s2, s3]);
    expect(answers[3]).toBeInstanceOf(NotFound);
    expect(answers[4]).toBeInstanceOf(Error);
    const listed = (await rt.steps.listByRun(actor, { runId: run.id, order: 'asc' })).items.map((s) => s.id);
    expect(listed).toEqual([s1, s2]);
    const totals = await rt.runs.retrieve(actor, { runId: run.id });
    expect(totals).toMatchObject({
      stepCount: 2,
      stepErrors: 1,
      totalTokens: 320,
      model: 'first-model',
      provider: 'openai',
    });
    expect(totals.llmNs).toBe('7');
    expect((await rt.runs.metrics(actor, { runId: run.id })).numSteps).toBe(2);
    // a repeat of the batch adds nothing; the same id with other content is taken
    const again = await rt.steps.createMany(actor, [
      step(s1, run.id, 100, { model: 'first-model' }),
      step(s3, otherRun.id, 51),
    ]);
    expect((again[0] as { id: string }).id).toBe(s1);
    expect(again[1]).toBeInstanceOf(Conflict);
    expect(await rt.runs.retrieve(actor, { runId: run.id })).toMatchObject({ stepCount: 2, totalTokens: 320 });
    expect(await rt.runs.retrieve(actor, { runId: otherRun.id })).toMatchObject({ stepCount: 1, totalTokens: 60 });
  });

  it('messages: appendMany numbers each run’s messages in order; a refused batch writes nothing of its own', async () => {
    const a = await rt.runs.create(actor, { agentId: newId('agent') });
    const b = await rt.runs.create(actor, { agentId: newId('agent') });
    const [stepA] = (await rt.steps.createMany(actor, [{ runId: a.id, promptTokens: 1, completionTokens: 1 }])) as {
      id: string;
    }[];
    const text = (content: string, extra: Record<string, unknown> = {}) => ({
      messageType: 'user_message' as const,
      content,
      ...extra,
    });
    const answers = await rt.messages.appendMany(actor, [
      { runId: a.id, messages: [text('a1', { stepId: stepA?.id }), text('a2')] },
      { runId: b.id, messages: [text('b1')] },
      { runId: a.id, messages: [text('a3')] },
      { runId: a.id, messages: [text('x', { stepId: newId('step') })] },
      { runId: newId('run'), messages: [text('y')] },
      { runId: a.id, messages: [] },
    ]);
    expect((answers[0] as { seqId: number }[]).map((m) => m.seqId)).toEqual([1, 2]);
    expect((answers[1] as { seqId: number }[]).map((m) => m.seqId)).toEqual([1]);
    expect((answers[2] as { seqId: number }[]).map((m) => m.seqId)).toEqual([3]);
    expect(answers[3]).toBeInstanceOf(NotFound);
    expect(answers[4]).toBeInstanceOf(NotFound);
    expect(answers[5]).toBeInstanceOf(Error);
    const listed = (await rt.messages.listByRun(actor, { runId: a.id })).items;
    expect(listed.map((m) => (m as { content?: string }).content)).toEqual(['a1', 'a2', 'a3']);
    expect(listed[0]?.stepId).toBe(stepA?.id);
    // an id appended before: the whole call is refused (the caller looks again), nothing of it written
    const taken = listed[0]?.id as string;
    await expect(
      rt.messages.appendMany(actor, [
        { runId: b.id, messages: [text('b2')] },
        { runId: a.id, messages: [text('dup', { id: taken })] },
      ]),
    ).rejects.toBeInstanceOf(Conflict);
    expect((await rt.messages.listByRun(actor, { runId: b.id })).items).toHaveLength(1);
  });

  it('provider traces: createMany stores each, answers a retry with the first, refuses unknown references and taken ids', async () => {
    const run = await rt.runs.create(actor, { agentId: newId('agent') });
    const [step] = (await rt.steps.createMany(actor, [{ runId: run.id, promptTokens: 1, completionTokens: 1 }])) as {
      id: string;
    }[];
    const trace = (id: string, extra: Record<string, unknown> = {}) => ({
      id,
      runId: run.id,
      stepId: step?.id,
      requestJson: { model: 'm', id },
      responseJson: { ok: true },
      createdAt: '2026-01-02T03:04:05.000Z',
      ...extra,
    });
    const t1 = newId('providerTrace');
    const t2 = newId('providerTrace');
    const answers = await rt.providerTraces.createMany(actor, [
      trace(t1),
      trace(t2),
      trace(newId('providerTrace'), { runId: newId('run') }),
      trace(newId('providerTrace'), { stepId: newId('step') }),
    ]);
    expect(answers.slice(0, 2).map((a) => (a instanceof Error ? a : a.id))).toEqual([t1, t2]);
    expect(answers[2]).toBeInstanceOf(NotFound);
    expect(answers[3]).toBeInstanceOf(NotFound);
    const again = await rt.providerTraces.createMany(actor, [trace(t1), trace(t2, { responseJson: { ok: false } })]);
    expect(again[0]).toEqual(answers[0]);
    expect(again[1]).toBeInstanceOf(Conflict);
    const listed = await rt.providerTraces.listByRun(actor, { runId: run.id });
    expect(listed.items.map((t) => t.id).sort()).toEqual([t1, t2].sort());
    expect((await rt.providerTraces.createMany(other, [trace(t1)]))[0]).toBeInstanceOf(NotFound);
  });
});
