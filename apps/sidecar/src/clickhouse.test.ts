/** SIDECAR_CLICKHOUSE_URL end to end: a sidecar child process on its own chdb directory, read back afterwards. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Actor, newId } from '@runtrace/core';
import { SocketProviderTraceBackend, toProviderTrace } from '@runtrace/core/telemetry';
import { connectClickHouse } from '@runtrace/core/clickhouse';
import { afterAll, describe, expect, it } from 'vitest';
import { countById, failingSidecar, spawnSidecar } from './test-helpers.ts';

const root = mkdtempSync(path.join(os.tmpdir(), 'runtrace-sidecar-ch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('sidecar ClickHouse sink (chdb)', () => {
  it('inserts every record, batched, into sidecar_provider_traces besides the files', async () => {
    const socketPath = path.join(root, 'telemetry.sock');
    const dir = path.join(root, 'files');
    const chdbDir = path.join(root, 'chdb');
    const sidecar = await spawnSidecar({
      TELEMETRY_SOCKET: socketPath,
      RUNTRACE_SIDECAR_DIR: dir,
      RUNTRACE_SIDECAR_GZIP: '0',
      SIDECAR_CLICKHOUSE_URL: `chdb:${chdbDir}`,
    });
    const backend = new SocketProviderTraceBackend({ socketPath });
    const actor: Actor = { organizationId: newId('organization'), userId: newId('user') };
    const traces = Array.from({ length: 2_000 }, (_, i) =>
      toProviderTrace({
        requestJson: { model: 'gpt-4o-mini', i },
        responseJson: i === 7 ? { error: { message: 'Rate limit exceeded' } } : { ok: true },
        stepId: newId('step'),
        // one record's unpaired surrogate must not lose the other records of its INSERT
        agentTags: i === 9 ? ['a', 'b\ud800'] : ['a', 'b'],
      }),
    );
    for (const t of traces) backend.enqueue(actor, t);
    await backend.close();
    expect(await sidecar.stop('SIGTERM')).toBe(0);
    expect(countById(dir).size).toBe(2_000);

    const ch = await connectClickHouse({ url: `chdb:${chdbDir}`, dataDir: root });
    try {
      const result = await ch.client.query({
        query: `SELECT count() AS n, uniqExact(provider_trace_id) AS ids, countIf(error = 'Rate limit exceeded' AND response IS NULL) AS errors,
                       min(length(tags)) AS tags, min(toYear(timestamp)) AS year
                FROM \`${ch.database}\`.sidecar_provider_traces`,
        format: 'JSONEachRow',
      });
      const [row] = (await result.json()) as Record<string, string | number>[];
      expect(Number(row?.n)).toBe(2_000);
      expect(Number(row?.ids)).toBe(2_000);
      expect(Number(row?.errors)).toBe(1);
      expect(Number(row?.tags)).toBe(2);
      expect(Number(row?.year)).toBeGreaterThanOrEqual(2025);
      const one = await ch.client.query({
        query: `SELECT request FROM \`${ch.database}\`.sidecar_provider_traces WHERE provider_trace_id = {id:String}`,
        query_params: { id: traces[3]?.id },
        format: 'JSONEachRow',
      });
      const [r] = (await one.json()) as { request: string }[];
      expect(JSON.parse(r?.request ?? 'null')).toEqual({ model: 'gpt-4o-mini', i: 3 });
      const nine = await ch.client.query({
        query: `SELECT tags FROM \`${ch.database}\`.sidecar_provider_traces WHERE provider_trace_id = {id:String}`,
        query_params: { id: traces[9]?.id },
        format: 'JSONEachRow',
      });
      expect(await nine.json()).toEqual([{ tags: ['a', 'b\ufffd'] }]);
    } finally {
      await ch.close();
    }
  });

  it('refuses a bad SIDECAR_CLICKHOUSE_URL at start, naming it without the password', async () => {
    const { code, output } = await failingSidecar({
      TELEMETRY_SOCKET: path.join(root, 'bad.sock'),
      RUNTRACE_SIDECAR_DIR: path.join(root, 'bad'),
      SIDECAR_CLICKHOUSE_URL: 'ftp://user:hunter2@example/db',
    });
    expect(code).toBe(1);
    expect(output).toMatch(/SIDECAR_CLICKHOUSE_URL/);
    expect(output).not.toMatch(/hunter2/);
  });
});
