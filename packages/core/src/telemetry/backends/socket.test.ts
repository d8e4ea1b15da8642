import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../actor.ts';
import { newId } from '../../ids.ts';
import { providerTraceBackendContract } from '../backend.contract.ts';
import { type ProviderTrace, toProviderTrace } from '../provider-trace.ts';
import { SocketDrain } from '../socket-drain.ts';
import {
  decodeLine,
  encodeRecord,
  encodeTraceRecord,
  extractError,
  PROTOCOL_VERSION,
  pythonIsoTimestamp,
  type SocketRecordV1,
  toSocketRecord,
} from '../socket-protocol.ts';
import { SocketProviderTraceBackend } from './socket.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'runtrace-socket-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let seq = 0;
const socketPath = () => path.join(dir, `s${++seq}.sock`);

const a: Actor = { organizationId: newId('organization'), userId: newId('user') };
const b: Actor = { organizationId: newId('organization'), userId: newId('user') };

/**
 * A minimal NDJSON receiver speaking the sidecar's side of protocol v1 (the real sidecar, apps/sidecar, has its own
 * suite that drives this backend against it as a child process; core must not depend on apps).
 * `stop()` is the graceful goodbye (SocketDrain): half-close every connection, read until the client's end, then
 * stop accepting.
 * `crash()` destroys every connection at once, unread data included.
 */
async function startReceiver(file: string, { stores = true } = {}) {
  const records: SocketRecordV1[] = [];
  const rejected: string[] = [];
  // records are stored as soon as they are read: the store is always settled
  const drain = new SocketDrain({ settled: () => Promise.resolve() });
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    drain.add(socket);
    let pending = '';
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      const lines = (pending + text).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const decoded = decodeLine(line);
        if (decoded.kind === 'ok') records.push(decoded.record);
        else rejected.push(decoded.kind);
      }
    });
    // `stores: false`: a receiver that reads but never stores, so never ends its side (the proof of storage)
    socket.on('end', () => stores && socket.end());
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(file, resolve));
  const closed = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return {
    records,
    rejected,
    count: (ids: string[]) => {
      const wanted = new Set(ids);
      return records.filter((r) => wanted.has(r.provider_trace_id)).length;
    },
    async stop() {
      await drain.drain();
      await closed();
    },
    async crash() {
      const done = closed();
      for (const s of drain.sockets) s.destroy();
      await done;
    },
  };
}

function trace(overrides: Partial<ProviderTrace> = {}): ProviderTrace {
  return {
    ...toProviderTrace({
      requestJson: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] },
      responseJson: { choices: [{ message: { role: 'assistant', content: 'hello' } }] },
      stepId: newId('step'),
      runId: newId('run'),
      agentId: newId('agent'),
      agentTags: ['t'],
      callType: 'agent_step',
    }),
    ...overrides,
  };
}

async function until(ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

providerTraceBackendContract('socket', {
  actors: () => ({ a, b }),
  settleMs: 5000,
  create: async () => {
    const file = socketPath();
    const receiver = await startReceiver(file);
    return {
      deps: { config: { telemetrySocket: file } },
      async stored(_actor, id) {
        const r = receiver.records.find((x) => x.provider_trace_id === id);
        if (!r) return null;
        return {
          id: r.provider_trace_id,
          requestJson: r.request,
          responseJson: r.response ?? { error: { message: r.error } },
          stepId: r.step_id,
          runId: r.run_id,
          agentId: r.agent_id,
          agentTags: r.tags,
          callType: r.type,
          createdAt: r.timestamp,
        };
      },
      count: async (ids) => receiver.count(ids),
      dispose: () => receiver.stop(),
    };
  },
});

describe('socket protocol v1 record (letta-behavior §7.2–§7.4)', () => {
  it('has exactly the reference keys, in order, with protocol_version 1', () => {
    const t = trace();
    const line = encodeRecord(toSocketRecord(t));
    expect(line.endsWith('\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    const parsed = JSON.parse(line);
    expect(Object.keys(parsed)).toEqual([
      'protocol_version',
      'provider_trace_id',
      'agent_id',
      'run_id',
      'step_id',
      'tags',
      'type',
      'request',
      'response',
      'error',
      'timestamp',
    ]);
    expect(parsed).toMatchObject({
      protocol_version: 1,
      provider_trace_id: t.id,
      agent_id: t.agentId,
      run_id: t.runId,
      step_id: t.stepId,
      tags: ['t'],
      type: 'agent_step',
      request: t.requestJson,
      response: t.responseJson,
      error: null,
    });
    expect(PROTOCOL_VERSION).toBe(1);
  });

  it('defaults type to agent_step, tags to [], and keeps nulls for absent ids', () => {
    const r = toSocketRecord(
      trace({ callType: null, agentTags: null, agentId: null, runId: null, stepId: null, requestJson: {} }),
    );
    expect(r).toMatchObject({ type: 'agent_step', tags: [], agent_id: null, run_id: null, step_id: null, request: {} });
    expect(toSocketRecord(trace({ callType: '' })).type).toBe('agent_step');
    expect(toSocketRecord(trace({ callType: 'summarization' })).type).toBe('summarization');
  });

  it.each([
    [{ error: { message: 'Rate limit exceeded' } }, 'Rate limit exceeded', null],
    [{ error: 'boom' }, null, 'kept'],
    [{ error: { type: 'x' } }, null, 'kept'],
    [{ error: { message: '' } }, '', 'kept'],
    [{ error: { message: null } }, null, 'kept'],
    [{ error: { type: 'invalid_request_error', message: 'too long' } }, 'too long', null],
    [{ choices: [] }, null, 'kept'],
  ])('extracts the error of %j as in §7.3', (response, error, kept) => {
    const got = extractError(response);
    expect(got.error).toBe(error);
    expect(got.response).toBe(kept === 'kept' ? response : null);
    const record = toSocketRecord(trace({ responseJson: response }));
    expect(record.error).toBe(error);
    expect(record.response).toEqual(kept === 'kept' ? response : null);
  });

  it('writes the same line when the request and response text is shared with other backends', () => {
    const at = Date.UTC(2026, 0, 16, 21, 0, 52, 123) + 0.456;
    const cases = [
      trace(),
      trace({ callType: null, agentTags: null, agentId: null, runId: null, stepId: null, requestJson: {} }),
      trace({ callType: '', agentTags: ['a', 'é"\\'] }),
      trace({ responseJson: { error: { message: 'Rate limit exceeded' } } }),
      trace({ responseJson: { error: { message: '' } } }),
      trace({ responseJson: { error: { message: { nested: [1, 2] } } } }),
      trace({ requestJson: { text: 'héllo — 你好 🎉', nul: 'a\u0000b', skip: undefined, n: 1.5e300 } }),
    ];
    for (const t of cases) expect(encodeTraceRecord(t, at)).toBe(encodeRecord(toSocketRecord(t, at)));
  });

  it('stamps the time as Python isoformat does: microseconds and +00:00', () => {
    expect(pythonIsoTimestamp(Date.UTC(2026, 0, 16, 21, 0, 52, 123) + 0.456)).toBe('2026-01-16T21:00:52.123456+00:00');
    expect(pythonIsoTimestamp(Date.UTC(2026, 0, 1))).toBe('2026-01-01T00:00:00.000000+00:00');
    const before = Date.now();
    const stamp = toSocketRecord(trace()).timestamp;
    expect(stamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    expect(Math.abs(Date.parse(stamp) - before)).toBeLessThan(1000);
  });

  it('writes non-ASCII as UTF-8 that any JSON parser reads back', () => {
    const t = trace({ requestJson: { text: 'héllo — 你好 🎉', nul: 'a\u0000b' } });
    expect(JSON.parse(encodeRecord(toSocketRecord(t))).request).toEqual(t.requestJson);
  });

  it('decodes what it encodes, and tells malformed lines from other protocol versions', () => {
    const record = toSocketRecord(trace());
    const line = encodeRecord(record);
    expect(decodeLine(line)).toEqual({ kind: 'ok', record: JSON.parse(line) });
    expect(decodeLine(Buffer.from(line))).toEqual({ kind: 'ok', record: JSON.parse(line) });
    // Letta's Python spacing reads the same
    expect(decodeLine(line.replaceAll('":', '": ').replaceAll(',"', ', "')).kind).toBe('ok');
    expect(decodeLine('{"protocol_version": 1, ').kind).toBe('malformed');
    expect(decodeLine('[1,2]').kind).toBe('malformed');
    expect(decodeLine('null').kind).toBe('malformed');
    expect(decodeLine(JSON.stringify({ ...record, protocol_version: 2 }))).toEqual({
      kind: 'unsupported_version',
      version: 2,
    });
    expect(decodeLine(JSON.stringify({ ...record, protocol_version: undefined })).kind).toBe('unsupported_version');
    expect(decodeLine(JSON.stringify({ ...record, tags: 'x' }))).toMatchObject({ kind: 'malformed' });
    expect(decodeLine(JSON.stringify({ ...record, provider_trace_id: 7 }))).toMatchObject({ kind: 'malformed' });
    expect(decodeLine(JSON.stringify({ ...record, response: [1] }))).toMatchObject({ kind: 'malformed' });
    expect(decodeLine(JSON.stringify({ ...record, timestamp: 'yesterday' }))).toMatchObject({ kind: 'malformed' });
    expect(decodeLine(JSON.stringify({ ...record, response: null, error: 'x' })).kind).toBe('ok');
  });
});

describe('socket backend delivery', () => {
  it('bounds the queue in records while the sidecar is down, dropping the oldest and counting each drop', async () => {
    const file = socketPath();
    const backend = new SocketProviderTraceBackend({ socketPath: file, maxRecords: 10, backoffMaxMs: 100 });
    const traces = Array.from({ length: 25 }, () => trace());
    for (const t of traces) backend.enqueue(a, t);
    expect(backend.stats()).toMatchObject({ queueDepth: 10, dropped: 15 });
    const receiver = await startReceiver(file);
    await backend.close();
    await until(() => receiver.records.length >= 10);
    expect(receiver.records.map((r) => r.provider_trace_id)).toEqual(traces.slice(15).map((t) => t.id));
    expect(backend.stats()).toMatchObject({ queueDepth: 0, dropped: 15 });
    await receiver.stop();
  });

  it('bounds the queue in bytes too', async () => {
    const file = socketPath();
    const one = Buffer.byteLength(encodeRecord(toSocketRecord(trace())));
    const backend = new SocketProviderTraceBackend({ socketPath: file, maxBytes: one * 3 + 10, closeTimeoutMs: 50 });
    for (let i = 0; i < 8; i++) backend.enqueue(a, trace());
    expect(backend.stats().queueDepth).toBe(3);
    expect(backend.stats().dropped).toBe(5);
    expect(backend.stats().queueBytes).toBeLessThanOrEqual(one * 3 + 10);
    const huge = trace({ requestJson: { blob: 'x'.repeat(one * 4) } });
    backend.enqueue(a, huge); // larger than the whole bound: dropped itself, the queue kept
    expect(backend.stats()).toMatchObject({ queueDepth: 3, dropped: 6 });
    await backend.close(); // nobody listens: after the timeout the rest is dropped and counted
    expect(backend.stats()).toMatchObject({ queueDepth: 0, queueBytes: 0, dropped: 9 });
  });

  it('reconnects after the sidecar restarts and delivers what was queued meanwhile, each record once', async () => {
    const file = socketPath();
    let receiver = await startReceiver(file);
    const backend = new SocketProviderTraceBackend({ socketPath: file, backoffInitialMs: 10, backoffMaxMs: 50 });
    const first = Array.from({ length: 200 }, () => trace());
    for (const t of first) backend.enqueue(a, t);
    await until(() => receiver.records.length === 200);
    const before = receiver.records;
    await receiver.stop();
    const second = Array.from({ length: 300 }, () => trace());
    for (const t of second) backend.enqueue(a, t);
    await new Promise((r) => setTimeout(r, 100)); // a few refused attempts
    receiver = await startReceiver(file);
    await until(() => receiver.records.length === 300);
    const all = [...before, ...receiver.records].map((r) => r.provider_trace_id);
    expect(all).toEqual([...first, ...second].map((t) => t.id));
    expect(backend.stats()).toMatchObject({ dropped: 0, queueDepth: 0 });
    expect(backend.stats().reconnects).toBeGreaterThanOrEqual(1);
    expect(backend.deliveryStats()).toMatchObject({ accepted: 500, written: 500, possiblyLost: 0 });
    await backend.close();
    await receiver.stop();
  });

  it('carries many records per connection: a new one per checkpoint (1,000 records), in few writes', async () => {
    const file = socketPath();
    let connections = 0;
    const receiver = await startReceiver(file);
    const backend = new SocketProviderTraceBackend({
      socketPath: file,
      onStatus: (s) => {
        if (s.connected) connections += 1;
      },
    });
    for (let i = 0; i < 2000; i++) backend.enqueue(a, trace());
    await backend.close();
    await until(() => receiver.records.length === 2000);
    expect(connections).toBeLessThanOrEqual(3); // two checkpoints, and the connection proving the last one
    await receiver.stop();
  });

  it('after a crash of the sidecar, never sends a record twice and counts what may be lost', async () => {
    const file = socketPath();
    let receiver = await startReceiver(file);
    const backend = new SocketProviderTraceBackend({ socketPath: file, backoffInitialMs: 10, backoffMaxMs: 50 });
    const traces = Array.from({ length: 3000 }, () => trace());
    for (const t of traces.slice(0, 1500)) backend.enqueue(a, t);
    await until(() => receiver.records.length > 0);
    const seen = receiver.records;
    await receiver.crash();
    await new Promise((r) => setTimeout(r, 30));
    receiver = await startReceiver(file);
    for (const t of traces.slice(1500)) backend.enqueue(a, t);
    await backend.close();
    await until(() => receiver.records.length > 0 && backend.stats().queueDepth === 0);
    await receiver.stop();
    const ids = [...seen, ...receiver.records].map((r) => r.provider_trace_id);
    expect(new Set(ids).size).toBe(ids.length); // at most once
    const missing = traces.length - ids.length;
    const stats = backend.deliveryStats();
    expect(stats.dropped).toBe(0);
    expect(missing).toBeLessThanOrEqual(stats.possiblyLost);
  });

  it('keeps drops and possible losses per organization: statsFor() shows one organization its own', async () => {
    const file = socketPath();
    let receiver = await startReceiver(file, { stores: false });
    const backend = new SocketProviderTraceBackend({ socketPath: file, maxRecords: 4, backoffInitialMs: 10 });
    for (let i = 0; i < 3; i++) backend.enqueue(a, trace());
    await until(() => receiver.records.length === 3);
    await receiver.crash(); // a's three records were written and never proven stored
    for (let i = 0; i < 5; i++) backend.enqueue(b, trace()); // nobody listens: the oldest b record overflows
    await until(() => backend.stats().possiblyLost === 3);
    expect(backend.statsFor(a.organizationId)).toEqual({ dropped: 0, possiblyLost: 3, lastDroppedAt: null });
    expect(backend.statsFor(b.organizationId)).toEqual({
      dropped: 1,
      possiblyLost: 0,
      lastDroppedAt: expect.any(Number),
    });
    expect(backend.stats()).toMatchObject({ dropped: 1, possiblyLost: 3 });
    receiver = await startReceiver(file);
    await backend.close();
    await receiver.stop();
    expect(backend.statsFor(b.organizationId)).toMatchObject({ dropped: 1, possiblyLost: 0 });
  });

  it('never throws to the caller, and drops what cannot be encoded', async () => {
    const backend = new SocketProviderTraceBackend({
      socketPath: path.join(dir, 'missing', 'x.sock'),
      closeTimeoutMs: 50,
    });
    expect(() => backend.enqueue(a, trace({ requestJson: { n: 1n } }))).not.toThrow();
    expect(backend.stats().dropped).toBe(1);
    await expect(backend.create(a, trace())).resolves.toBeNull();
    await backend.close();
    expect(() => backend.enqueue(a, trace())).not.toThrow();
    expect(backend.stats()).toMatchObject({ dropped: 3, queueDepth: 0 });
  });

  it('keeps enqueue cheap: it only encodes and queues (the bench measures p99)', async () => {
    const backend = new SocketProviderTraceBackend({ socketPath: path.join(dir, 'nobody.sock'), closeTimeoutMs: 10 });
    const traces = Array.from({ length: 2000 }, () => trace());
    const times: number[] = [];
    for (const t of traces) {
      const t0 = performance.now();
      backend.enqueue(a, t);
      times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    expect(times[Math.floor(times.length / 2)]).toBeLessThan(0.2); // ms: 200 µs, far above what it takes
    await backend.close();
  });
});
