/**
 * The production topology, built (`node dist/main.js` each): two api processes and one sidecar sharing one Postgres
 * and one Redis. Writes go through api #1 (provider traces to Postgres and, over the socket, to the sidecar); reads
 * and the live stream come from api #2; everything stops on SIGTERM with exit code 0.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createScratchDatabase, newId } from '@runtrace/core/testing';
import { type ChildSidecar, readSinkLines, spawnSidecar } from '@runtrace/sidecar/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntraceClient, type RuntraceClient } from './create-runtrace-client.ts';
import { type ApiProcess, spawnApi } from './testing/api-process.ts';
import { API_APP_DIR, buildApiAndSidecar, SIDECAR_APP_DIR } from './testing/built.ts';
import { sharedServers } from './testing/shared-servers.ts';
import { until, watchStream } from './testing/streams.ts';

const servers = sharedServers('the topology suite');

describe.runIf(servers)('2 built apis + 1 built sidecar on one Postgres and one Redis', { timeout: 300_000 }, () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let work: string;
  let sidecar: ChildSidecar;
  let one: ApiProcess;
  let two: ApiProcess;
  let viaOne: RuntraceClient;
  let viaTwo: RuntraceClient;

  beforeAll(async () => {
    buildApiAndSidecar();
    scratch = await createScratchDatabase(servers?.databaseUrl ?? '');
    work = mkdtempSync(path.join(os.tmpdir(), 'runtrace-topology-'));
    const socketPath = path.join(work, 'telemetry.sock');
    sidecar = await spawnSidecar(
      { TELEMETRY_SOCKET: socketPath, RUNTRACE_SIDECAR_DIR: path.join(work, 'files') },
      { builtDir: SIDECAR_APP_DIR },
    );
    const env = { DATABASE_URL: scratch.url, REDIS_URL: servers?.redisUrl ?? '' };
    one = await spawnApi(
      { ...env, TELEMETRY_PROVIDER_TRACE_BACKEND: 'postgres,socket', TELEMETRY_SOCKET: socketPath },
      { builtDir: API_APP_DIR },
    );
    two = await spawnApi(env, { builtDir: API_APP_DIR });
    viaOne = createRuntraceClient({ url: one.url, reconnectDelayMs: 50 });
    viaTwo = createRuntraceClient({ url: two.url, reconnectDelayMs: 50 });
  }, 300_000);
  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop(), sidecar?.stop()]);
    await scratch?.drop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('writes through #1, reads and streams through #2, the sidecar files the trace, and all exit 0 on SIGTERM', async () => {
    const run = await viaOne.runs.create.mutate({ agentId: newId('agent'), background: true });
    const stream = watchStream(viaTwo, { runId: run.id });
    await until('the subscription on #2 to start', () => stream.started > 0);

    const messageId = newId('message');
    const events = ['a', 'b', 'c'].map((content) => ({
      messageType: 'assistant_message' as const,
      id: messageId,
      content,
    }));
    await viaOne.runs.appendEvents.mutate({ runId: run.id, events });
    await until('the live events on #2', () => stream.events().length === 3);

    const step = await viaOne.steps.create.mutate({ id: newId('step'), runId: run.id, promptTokens: 1 });
    const trace = await viaOne.providerTraces.create.mutate({
      requestJson: { model: 'm' },
      responseJson: { ok: true },
      runId: run.id,
      stepId: step.id,
    });
    expect((await viaTwo.providerTraces.list.query({ runId: run.id })).items.map((t) => t.id)).toContain(trace.id);

    await viaOne.runs.appendEvents.mutate({
      runId: run.id,
      events: [{ messageType: 'stop_reason', stopReason: 'end_turn' }],
      end: true,
    });
    await stream.done;
    expect(stream.error).toBeNull();
    expect(stream.events().map((e) => e.data.seqId)).toEqual([1, 2, 3, 4]);
    expect(await viaTwo.runs.retrieve.query({ runId: run.id })).toMatchObject({ status: 'completed' });

    // SIGTERM: the apis first (#1 drains its socket queue into the sidecar), then the sidecar (files completed).
    expect(await one.stop(), one.output()).toBe(0);
    expect(await two.stop(), two.output()).toBe(0);
    expect(await sidecar.stop('SIGTERM'), sidecar.output()).toBe(0);
    const filed = readSinkLines(path.join(work, 'files'), true).map(
      (line) => (JSON.parse(line) as { provider_trace_id: string }).provider_trace_id,
    );
    expect(filed).toEqual([trace.id]);
  });
});
