import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../actor.ts';
import { runs } from '../db/schema.ts';
import { Conflict, Expired, InvalidArgument, NotFound } from '../errors.ts';
import type { RunChange } from '../runs/run-manager.ts';
import { createTestRuntime, databaseTargets, newId, streamTargets, type TestRuntime } from '../testing/index.ts';
import type { RunEvent } from './run-event.ts';
import type { StreamItem } from './run-stream.ts';
import { StreamLost } from './run-stream.ts';

const say = (text: string): RunEvent => ({ messageType: 'assistant_message', content: text }) as RunEvent;

async function collect(items: AsyncIterable<StreamItem>, max = Number.POSITIVE_INFINITY): Promise<StreamItem[]> {
  const out: StreamItem[] = [];
  for await (const item of items) {
    out.push(item);
    if (out.length >= max) break;
  }
  return out;
}

function summary(items: StreamItem[]): string[] {
  return items.map((i) =>
    i.kind === 'end'
      ? 'END'
      : i.event.messageType === 'stop_reason'
        ? `stop:${i.event.stopReason}`
        : i.event.messageType === 'error_message'
          ? `error:${i.event.errorType}`
          : i.event.messageType === 'assistant_message'
            ? `say:${String(i.event.content)}`
            : i.event.messageType,
  );
}

const combos = databaseTargets().flatMap((db) =>
  streamTargets().map((stream) => ({ db, stream, name: `${db.name} + ${stream.name}` })),
);

describe.each(combos)('run streams through the runtime on $name', ({ db, stream }) => {
  let rt: TestRuntime;
  let actor: Actor;
  let other: Actor;
  const agentId = newId('agent');
  const background = () => rt.runs.create(actor, { agentId, background: true });

  beforeAll(async () => {
    rt = await createTestRuntime(db, { ...stream.env, RUNTRACE_STREAM_STALE_AFTER_MS: '400' });
    actor = await rt.auth.ensureDefaultActor();
    const org = await rt.auth.createOrganization('other');
    other = { organizationId: org.id, userId: org.userId };
  });
  afterAll(async () => {
    await rt?.dispose();
  });

  it('uses the configured store', () => {
    expect(rt.streams.kind).toBe(stream.name);
  });

  it('appends and replays events; end:true sets the status by the canonical mapping and ends the stream once', async () => {
    const run = await background();
    const first = await rt.streams.appendEvents(actor, { runId: run.id, events: [say('a'), say('b')] });
    expect(first.ids).toHaveLength(2);
    expect(first.ended).toBe(false);
    const last = await rt.streams.appendEvents(actor, {
      runId: run.id,
      events: [
        say('c'),
        { messageType: 'stop_reason', stopReason: 'max_tokens_exceeded' },
        { messageType: 'usage_statistics', promptTokens: 1, completionTokens: 2, totalTokens: 3, stepCount: 1 },
      ],
      end: true,
    });
    expect(last).toMatchObject({ ended: true });
    expect(last.ids).toHaveLength(3);
    expect(await rt.runs.retrieve(actor, { runId: run.id })).toMatchObject({
      status: 'failed',
      stopReason: 'max_tokens_exceeded',
    });
    const items = await collect(
      await rt.streams.subscribe(actor, { runId: run.id, signal: new AbortController().signal }),
    );
    expect(summary(items)).toEqual(['say:a', 'say:b', 'say:c', 'stop:max_tokens_exceeded', 'usage_statistics', 'END']);
    const ids = items.flatMap((i) => (i.kind === 'event' ? [i.id] : []));
    expect(ids).toEqual([...first.ids, ...last.ids]);
    const event = items[0];
    expect(event?.kind === 'event' && event.event).toMatchObject({ runId: run.id, seqId: 1 });
    await expect(rt.streams.appendEvents(actor, { runId: run.id, events: [say('late')] })).rejects.toBeInstanceOf(
      Conflict,
    );
    await expect(
      rt.streams.appendEvents(actor, {
        runId: run.id,
        events: [{ messageType: 'stop_reason', stopReason: 'end_turn' }],
        end: true,
      }),
    ).rejects.toBeInstanceOf(Conflict);
    // a repeated terminal update leaves the ended stream alone
    await rt.runs.update(actor, { runId: run.id, status: 'failed' });
    const again = await collect(
      await rt.streams.subscribe(actor, { runId: run.id, signal: new AbortController().signal }),
    );
    expect(summary(again)).toEqual(summary(items));
  });

  /**
   * `appendEvents({ end: true })` racing `runs.cancel` (in this process, or in `peer`, another process on the same
   * stores): exactly one stop_reason, then the end marker, matching the run's final status; the loser gets CONFLICT
   * with nothing written, or (cancel of a run already completed) its idempotent answer.
   */
  async function raceEndAgainstCancel(
    peer: TestRuntime,
    stopReason: 'end_turn' | 'requires_approval',
    runsToRace: number,
  ) {
    const outcomes = { completed: 0, cancelled: 0 };
    await Promise.all(
      Array.from({ length: runsToRace }, async (_, i) => {
        const run = await background();
        await rt.streams.appendEvents(actor, { runId: run.id, events: [say('before')] });
        const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
        const [appended, cancelled] = await Promise.allSettled([
          pause(i % 3).then(() =>
            rt.streams.appendEvents(actor, {
              runId: run.id,
              events: [say('final'), { messageType: 'stop_reason', stopReason }],
              end: true,
            }),
          ),
          pause((i >> 2) % 3).then(() => peer.runs.cancel(actor, { runId: run.id })),
        ]);
        const final = await rt.runs.retrieve(actor, { runId: run.id });
        const items = summary(
          await collect(await rt.streams.subscribe(actor, { runId: run.id, signal: new AbortController().signal })),
        );
        const context = `run ${i}: ${items.join(' ')}; final ${final.status}; append ${appended.status}; cancel ${cancelled.status}`;
        expect(
          items.filter((x) => x.startsWith('stop:')),
          context,
        ).toHaveLength(1);
        expect(
          items.filter((x) => x === 'END'),
          context,
        ).toHaveLength(1);
        expect(items.at(-1), context).toBe('END');
        expect(cancelled.status, context).toBe('fulfilled');
        if (appended.status === 'fulfilled') {
          // the producer won: its events are the stream's end; cancel answered the completed run (idempotent), or
          // cancelled a run waiting for approval after its stream had ended
          outcomes.completed += 1;
          expect(items, context).toEqual(['say:before', 'say:final', `stop:${stopReason}`, 'END']);
          expect(appended.value.ended, context).toBe(true);
          expect(appended.value.ids, context).toHaveLength(2);
          if (stopReason === 'requires_approval') expect(final.status, context).toBe('cancelled');
          else {
            expect(final).toMatchObject({ status: 'completed', stopReason });
            expect(cancelled.status === 'fulfilled' && cancelled.value.status, context).toBe('completed');
          }
        } else {
          // cancel won: the producer's refused append wrote nothing
          outcomes.cancelled += 1;
          expect(appended.reason, context).toBeInstanceOf(Conflict);
          expect(items, context).toEqual(['say:before', 'stop:cancelled', 'END']);
          expect(final, context).toMatchObject({ status: 'cancelled', stopReason: 'cancelled' });
        }
      }),
    );
    return outcomes;
  }

  it('appendEvents(end) racing runs.cancel: one stop reason matching the final status; the loser writes nothing', async () => {
    const outcomes = await raceEndAgainstCancel(rt, 'end_turn', 48);
    console.log(`append(end) vs cancel on ${db.name} + ${stream.name}:`, outcomes);
    expect(outcomes.completed + outcomes.cancelled).toBe(48);
    const approval = await raceEndAgainstCancel(rt, 'requires_approval', 12);
    expect(approval.completed + approval.cancelled).toBe(12);
  });

  // Two processes share a database and streams only through servers: one case of the matrix, registered only there
  // (not a skipped test in the others).
  if (db.name === 'postgres' && stream.name === 'redis')
    it('appendEvents(end) in one process racing runs.cancel in another: the same guarantees', async () => {
      const url = rt.config.databaseUrl;
      if (!url) throw new Error('no database url');
      const peer = await createTestRuntime(
        { name: 'postgres', create: async () => ({ url, pgliteDir: 'memory', drop: async () => {} }) },
        stream.env,
      );
      try {
        const outcomes = await raceEndAgainstCancel(peer, 'end_turn', 48);
        expect(outcomes.completed + outcomes.cancelled).toBe(48);
      } finally {
        await peer.dispose();
      }
    });

  it('refuses: another organization (NotFound), a non-background run (BAD_REQUEST), end without stop_reason (BAD_REQUEST naming events), a bad cursor', async () => {
    const run = await background();
    const signal = new AbortController().signal;
    await expect(rt.streams.appendEvents(other, { runId: run.id, events: [say('x')] })).rejects.toBeInstanceOf(
      NotFound,
    );
    await expect(rt.streams.subscribe(other, { runId: run.id, signal })).rejects.toBeInstanceOf(NotFound);
    await expect(rt.streams.appendEvents(actor, { runId: newId('run'), events: [say('x')] })).rejects.toBeInstanceOf(
      NotFound,
    );
    const plain = await rt.runs.create(actor, { agentId });
    const notBackground = rt.streams.appendEvents(actor, { runId: plain.id, events: [say('x')] });
    await expect(notBackground).rejects.toBeInstanceOf(InvalidArgument);
    await expect(notBackground).rejects.toThrow(/Run was not created in background mode/);
    await expect(rt.streams.subscribe(actor, { runId: plain.id, signal })).rejects.toThrow(
      /Run was not created in background mode/,
    );
    const noStop = rt.streams.appendEvents(actor, { runId: run.id, events: [say('x')], end: true });
    await expect(noStop).rejects.toBeInstanceOf(InvalidArgument);
    await expect(noStop).rejects.toMatchObject({ field: 'events' });
    await expect(noStop).rejects.toThrow(/`end: true`/);
    await expect(rt.streams.subscribe(actor, { runId: run.id, lastEventId: 'nope', signal })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      field: 'lastEventId',
    });
    // nothing was written by the refused calls
    const ac = new AbortController();
    const reading = collect(await rt.streams.subscribe(actor, { runId: run.id, signal: ac.signal }));
    await rt.streams.appendEvents(actor, { runId: run.id, events: [say('ok')] });
    await rt.runs.cancel(actor, { runId: run.id });
    expect(summary(await reading)).toEqual(['say:ok', 'stop:cancelled', 'END']);
  });

  it('runs.update / runs.cancel of a background run append the stop reason (if none was appended) and end the stream before returning', async () => {
    const cancelled = await background();
    await rt.streams.appendEvents(actor, { runId: cancelled.id, events: [say('working')] });
    await rt.runs.cancel(actor, { runId: cancelled.id });
    const a = await collect(
      await rt.streams.subscribe(actor, { runId: cancelled.id, signal: new AbortController().signal }),
    );
    expect(summary(a)).toEqual(['say:working', 'stop:cancelled', 'END']);
    await rt.runs.cancel(actor, { runId: cancelled.id });
    expect(
      summary(
        await collect(await rt.streams.subscribe(actor, { runId: cancelled.id, signal: new AbortController().signal })),
      ),
    ).toEqual(summary(a));

    const already = await background();
    await rt.streams.appendEvents(actor, {
      runId: already.id,
      events: [say('x'), { messageType: 'stop_reason', stopReason: 'end_turn' }],
    });
    await rt.runs.update(actor, { runId: already.id, status: 'completed' });
    expect(
      summary(
        await collect(await rt.streams.subscribe(actor, { runId: already.id, signal: new AbortController().signal })),
      ),
    ).toEqual(['say:x', 'stop:end_turn', 'END']);

    const differs = await background();
    await rt.streams.appendEvents(actor, {
      runId: differs.id,
      events: [{ messageType: 'stop_reason', stopReason: 'end_turn' }],
    });
    await rt.runs.update(actor, { runId: differs.id, stopReason: 'llm_api_error' });
    expect(
      summary(
        await collect(await rt.streams.subscribe(actor, { runId: differs.id, signal: new AbortController().signal })),
      ),
    ).toEqual(['stop:end_turn', 'stop:llm_api_error', 'END']);

    const silent = await background();
    await rt.runs.update(actor, { runId: silent.id, status: 'completed' });
    expect(
      summary(
        await collect(await rt.streams.subscribe(actor, { runId: silent.id, signal: new AbortController().signal })),
      ),
    ).toEqual(['stop:end_turn', 'END']);

    // a non-background run has no stream; its terminal update does not make one
    const plain = await rt.runs.create(actor, { agentId });
    await rt.runs.cancel(actor, { runId: plain.id });
    expect(await rt.streams.stream.info(plain.id)).toBeNull();
  });

  it('a terminal run whose stream did not end (its end failed) is ended by the next subscriber, not left silent', async () => {
    const run = await background();
    await rt.streams.appendEvents(actor, { runId: run.id, events: [say('x')] });
    // the status changed without the hook (as when Redis was down during runs.update)
    await rt.database.db.update(runs).set({ status: 'completed', stopReason: 'end_turn' }).where(eq(runs.id, run.id));
    const items = await collect(
      await rt.streams.subscribe(actor, { runId: run.id, signal: new AbortController().signal }),
    );
    expect(summary(items)).toEqual(['say:x', 'stop:end_turn', 'END']);
  });

  it('appends reuse a recent run lookup; a run ended by another process refuses them through its ended stream', async () => {
    const run = await background();
    await rt.streams.appendEvents(actor, { runId: run.id, events: [say('1')] });
    // another process ends the run: the row and the stream (its onTerminal hook), not this process's lookup
    await rt.database.db.update(runs).set({ status: 'cancelled', stopReason: 'cancelled' }).where(eq(runs.id, run.id));
    await rt.streams.stream.end(run.id, { stopReason: 'cancelled', fallback: 'cancelled' });
    await expect(rt.streams.appendEvents(actor, { runId: run.id, events: [say('2')] })).rejects.toBeInstanceOf(
      Conflict,
    );
    // the lookup was dropped: the run's status answers now
    await expect(rt.streams.appendEvents(actor, { runId: run.id, events: [say('3')] })).rejects.toThrow(
      /already cancelled/,
    );
    // another organization never gets another's lookup
    const mine = await background();
    await rt.streams.appendEvents(actor, { runId: mine.id, events: [say('x')] });
    await expect(rt.streams.appendEvents(other, { runId: mine.id, events: [say('y')] })).rejects.toBeInstanceOf(
      NotFound,
    );
  });

  it('a live reader sees the end written by runs.cancel', async () => {
    const run = await background();
    const ac = new AbortController();
    const reading = collect(await rt.streams.subscribe(actor, { runId: run.id, signal: ac.signal }));
    await rt.streams.appendEvents(actor, { runId: run.id, events: [say('1')] });
    await rt.runs.update(actor, { runId: run.id, status: 'running' });
    await rt.streams.appendEvents(actor, { runId: run.id, events: [say('2')] });
    await rt.runs.cancel(actor, { runId: run.id });
    expect(summary(await reading)).toEqual(['say:1', 'say:2', 'stop:cancelled', 'END']);
  });

  it('resumes from lastEventId (wins over startingAfter) and from startingAfter', async () => {
    const run = await background();
    const { ids } = await rt.streams.appendEvents(actor, {
      runId: run.id,
      events: [say('1'), say('2'), say('3'), say('4')],
    });
    await rt.runs.update(actor, { runId: run.id, stopReason: 'end_turn' });
    const fromCursor = await collect(
      await rt.streams.subscribe(actor, {
        runId: run.id,
        lastEventId: ids[1],
        startingAfter: 0,
        signal: new AbortController().signal,
      }),
    );
    expect(summary(fromCursor)).toEqual(['say:3', 'say:4', 'stop:end_turn', 'END']);
    const fromSeq = await collect(
      await rt.streams.subscribe(actor, {
        runId: run.id,
        startingAfter: 3,
        batchSize: 1,
        signal: new AbortController().signal,
      }),
    );
    expect(summary(fromSeq)).toEqual(['say:4', 'stop:end_turn', 'END']);
  });

  it('a terminal run whose stream was lost within retention: the lost-stream error, never silence', async () => {
    const run = await background();
    const { ids } = await rt.streams.appendEvents(actor, { runId: run.id, events: [say('1')] });
    await rt.runs.cancel(actor, { runId: run.id });
    await stream.lose(rt.streams.stream, run.id);
    await expect(
      rt.streams.subscribe(actor, { runId: run.id, signal: new AbortController().signal }),
    ).rejects.toBeInstanceOf(StreamLost);
    await expect(
      rt.streams.subscribe(actor, { runId: run.id, lastEventId: ids[0], signal: new AbortController().signal }),
    ).rejects.toThrow(/was lost/);
  });

  it('an active run whose stream was lost: a reader with an old cursor gets the lost-stream error', async () => {
    const run = await background();
    const { ids } = await rt.streams.appendEvents(actor, { runId: run.id, events: [say('1'), say('2')] });
    await stream.lose(rt.streams.stream, run.id);
    await rt.streams.appendEvents(actor, { runId: run.id, events: [say('3')] });
    const read = rt.streams.subscribe(actor, {
      runId: run.id,
      lastEventId: ids[1],
      signal: new AbortController().signal,
    });
    await expect(read.then((items) => collect(items))).rejects.toBeInstanceOf(StreamLost);
    await rt.runs.cancel(actor, { runId: run.id });
  });

  it('fails a background run whose producer fell silent (stream_incomplete) and ends its stream', async () => {
    const run = await background();
    await rt.streams.appendEvents(actor, { runId: run.id, events: [say('started')] });
    const fresh = await background();
    const ac = new AbortController();
    const reading = collect(await rt.streams.subscribe(actor, { runId: run.id, signal: ac.signal }));
    await new Promise((r) => setTimeout(r, 500));
    await rt.streams.appendEvents(actor, { runId: fresh.id, events: [say('alive')] });
    const failed = await rt.streams.sweepStale();
    expect(failed).toBeGreaterThanOrEqual(1);
    expect(await rt.runs.retrieve(actor, { runId: run.id })).toMatchObject({ status: 'failed', stopReason: 'error' });
    expect(await rt.runs.retrieve(actor, { runId: fresh.id })).toMatchObject({ status: 'created' });
    const items = await reading;
    expect(summary(items)).toEqual(['say:started', 'stop:error', 'error:stream_incomplete', 'END']);
    const error = items[2];
    expect(error?.kind === 'event' && error.event).toMatchObject({
      messageType: 'error_message',
      errorType: 'stream_incomplete',
      message: 'Stream ended unexpectedly without stop_reason.',
    });
    // a second sweep (another process) changes nothing
    await rt.streams.sweepStale();
    const again = await collect(
      await rt.streams.subscribe(actor, { runId: run.id, signal: new AbortController().signal }),
    );
    expect(summary(again)).toEqual(summary(items));
    await rt.runs.cancel(actor, { runId: fresh.id });
  });

  it('a run stream past retention is Expired', async () => {
    const short = await createTestRuntime(db, { ...stream.env, RUNTRACE_STREAM_RETENTION_MS: '300' });
    try {
      const a = await short.auth.ensureDefaultActor();
      const run = await short.runs.create(a, { agentId, background: true });
      const { ids } = await short.streams.appendEvents(a, { runId: run.id, events: [say('1')] });
      await short.runs.cancel(a, { runId: run.id });
      await new Promise((r) => setTimeout(r, 500));
      await expect(
        short.streams.subscribe(a, { runId: run.id, signal: new AbortController().signal }),
      ).rejects.toBeInstanceOf(Expired);
      await expect(
        short.streams.subscribe(a, { runId: run.id, lastEventId: ids[0], signal: new AbortController().signal }),
      ).rejects.toBeInstanceOf(Expired);
    } finally {
      await short.dispose();
    }
  });

  it('publishes run changes per organization', async () => {
    const ac = new AbortController();
    const mine = await rt.runChanges.subscribe(actor.organizationId, ac.signal);
    const theirs = await rt.runChanges.subscribe(other.organizationId, ac.signal);
    const run = await background();
    await rt.runs.update(actor, { runId: run.id, status: 'running' });
    await rt.runs.cancel(actor, { runId: run.id });
    const seen: RunChange[] = [];
    for await (const change of mine) {
      if (change.run.id !== run.id) continue;
      seen.push(change);
      if (seen.length === 3) break;
    }
    expect(seen.map((c) => [c.type, c.previousStatus, c.run.status])).toEqual([
      ['created', null, 'created'],
      ['updated', 'created', 'running'],
      ['updated', 'running', 'cancelled'],
    ]);
    const otherRun = await rt.runs.create(other, { agentId });
    for await (const change of theirs) {
      expect(change.organizationId).toBe(other.organizationId);
      expect(change.run.id).toBe(otherRun.id);
      break;
    }
    ac.abort();
  });
});
