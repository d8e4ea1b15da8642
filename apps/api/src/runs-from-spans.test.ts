/**
 * Runs from spans over real HTTP: an opted-in organization's OTLP export (the AI SDK's real spans, POSTed to
 * /v1/traces as its exporter sent them) becomes a run that runs.list, runs.steps, runs.messages and runs.trace show;
 * another organization sees none of it; the mapping counters are on /metrics. And the CLI that switches it.
 */
import type { AddressInfo } from 'node:net';
import {
  aiSdkFixture,
  createTestRuntime,
  type DatabaseTarget,
  databaseTargets,
  type TestRuntime,
} from '@runtrace/core/testing';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from './server.ts';
import { scratchCli } from './test-cli.ts';

describe.each(databaseTargets())('runs from spans over HTTP on $name', (target: DatabaseTarget) => {
  let rt: TestRuntime;
  let app: FastifyInstance;
  let url: string;
  let keyA: string;
  let keyB: string;

  const query = async (key: string, procedure: string, input: unknown) => {
    const res = await fetch(`${url}/trpc/${procedure}?input=${encodeURIComponent(JSON.stringify(input))}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const body = (await res.json()) as { result?: { data: unknown }; error?: { data: Record<string, unknown> } };
    return { status: res.status, data: body.result?.data as Record<string, unknown>, error: body.error?.data };
  };
  const postTraces = (key: string, body: Buffer) =>
    fetch(`${url}/v1/traces`, {
      method: 'POST',
      body: new Uint8Array(body),
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    });

  beforeAll(async () => {
    rt = await createTestRuntime(target, { CLICKHOUSE_URL: 'chdb:memory', NODE_ENV: 'production' });
    app = await buildServer(rt);
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const a = await rt.auth.createOrganization('a');
    const b = await rt.auth.createOrganization('b');
    keyA = (await rt.auth.createApiKey(a.id, 'a')).key;
    keyB = (await rt.auth.createApiKey(b.id, 'b')).key;
    await rt.runsFromSpans.setFor(a.id, { enabled: true });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await rt?.dispose();
  });

  it("turns an opted-in organization's export into a run its lists and trace view show, and nobody else's", async () => {
    const { body, traceId } = aiSdkFixture('ai-sdk-generate-text');
    const res = await postTraces(keyA, body);
    expect(res.status).toBe(200);
    const runs = (await query(keyA, 'runs.list', {})).data.items as Record<string, unknown>[];
    expect(runs).toHaveLength(1);
    const run = runs[0] as { id: string };
    expect(run).toMatchObject({ status: 'completed', stopReason: 'end_turn', stepCount: 2, model: 'gpt-4o-mini' });

    const steps = (await query(keyA, 'runs.steps', { runId: run.id, order: 'asc' })).data.items as Record<
      string,
      unknown
    >[];
    expect(steps.map((s) => [s.model, s.promptTokens, s.completionTokens, s.traceId])).toEqual([
      ['gpt-4o-mini', 120, 18, traceId],
      ['gpt-4o-mini', 160, 9, traceId],
    ]);
    const messages = (await query(keyA, 'runs.messages', { runId: run.id })).data.items as { messageType: string }[];
    // system, user, the tool call and its return, the answer (the core suite checks each)
    expect(messages).toHaveLength(5);
    expect(messages.at(-1)).toMatchObject({ messageType: 'assistant_message', content: 'Paris: 21°C, clear.' });
    const spans = (await query(keyA, 'runs.trace', { runId: run.id, llmSpans: true })).data as unknown as {
      spanName: string;
    }[];
    expect(spans.map((s) => s.spanName)).toEqual(
      expect.arrayContaining(['invoke_agent gpt-4o-mini', 'chat gpt-4o-mini']),
    );

    // another organization: no run, and the run's id is not found
    expect((await query(keyB, 'runs.list', {})).data.items).toEqual([]);
    expect((await query(keyB, 'runs.retrieve', { runId: run.id })).error).toMatchObject({ code: 'NOT_FOUND' });

    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/^runtrace_otlp_mapped_spans_total\{kind="llm"\} 2$/m);
    expect(metrics).toMatch(/^runtrace_otlp_mapped_spans_total\{kind="tool"\} 1$/m);
    expect(metrics).toMatch(/^runtrace_otlp_mapped_spans_total\{kind="agent"\} 1$/m);
    expect(metrics).toContain('# TYPE runtrace_otlp_mapping_failures_total counter');
  });

  it('records nothing for an organization that has not opted in; its spans are still stored', async () => {
    const { body } = aiSdkFixture('ai-sdk-stream-text');
    expect((await postTraces(keyB, body)).status).toBe(200);
    expect((await query(keyB, 'runs.list', {})).data.items).toEqual([]);
    await rt.traces.flush();
    expect(rt.traces.statsFor((await rt.auth.listOrganizations()).find((o) => o.name === 'b')!.id).spans.written).toBe(
      3,
    );
  });
});

describe('pnpm runtrace runs-from-spans (the CLI, on PGlite)', () => {
  const { run: cli, remove } = scratchCli('runs-from-spans');
  afterAll(remove);
  const org = 'org-00000000-0000-4000-8000-000000000000';

  it('switches an organization on and off, shows it, and refuses bad values and unknown organizations', async () => {
    const shown = await cli('runs-from-spans', 'show', '--json');
    expect(JSON.parse(shown.stdout)).toEqual([{ organizationId: org, enabled: false }]);
    const on = await cli('runs-from-spans', 'set', '--org', org, '--enabled', 'on', '--json');
    expect(JSON.parse(on.stdout)).toEqual({ organizationId: org, enabled: true });
    expect((await cli('runs-from-spans', 'show', '--org', org)).stdout).toContain(`${org}  runs from spans on`);
    const bad = await cli('runs-from-spans', 'set', '--org', org, '--enabled', 'maybe');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--enabled must be on or off');
    const unknown = await cli('runs-from-spans', 'set', '--org', 'org-nope', '--enabled', 'off');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Organization org-nope not found');
    const off = await cli('runs-from-spans', 'set', '--org', org, '--enabled', 'off');
    expect(off.stdout).toContain(`${org}  runs from spans off`);
  }, 120_000);
});
