import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ACTOR } from '../actor.ts';
import { type ClickHouse, qualified } from '../clickhouse/connect.ts';
import { currentTraceTtlDays, migrateClickHouse } from '../clickhouse/migrate.ts';
import { clickhouseTargets, createScratchClickHouse, type ScratchClickHouse } from '../clickhouse/testing.ts';
import { createTestRuntime, databaseTargets, newId, type TestRuntime } from '../testing/index.ts';
import { inTraceView } from './live-spans.ts';
import { readTraceSpans } from './span-reader.ts';

async function rows<T>(ch: ClickHouse, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const result = await ch.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}

const hex = (n: number, bytes: number) => n.toString(16).padStart(bytes * 2, '0');
/** An OTLP/JSON request: one span per [traceNo, spanNo, startNs, name, parentSpanNo?]. */
function request(spans: [number, number, bigint, string, number?][], service = 'agent') {
  return Buffer.from(
    JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
          scopeSpans: [
            {
              spans: spans.map(([t, s, start, name, parent]) => ({
                traceId: hex(t, 16),
                spanId: hex(s, 8),
                parentSpanId: parent === undefined ? '' : hex(parent, 8),
                name,
                startTimeUnixNano: String(start),
                endTimeUnixNano: String(start + 1_000n),
              })),
            },
          ],
        },
      ],
    }),
  );
}

describe.each(clickhouseTargets())('otel_traces on $name', (target) => {
  describe('schema', () => {
    let scratch: ScratchClickHouse;
    beforeAll(async () => {
      scratch = await createScratchClickHouse(target);
    });
    afterAll(() => scratch?.drop());

    it('follows RUNTRACE_OTEL_TTL_DAYS on both span tables, and leaves them alone when not given', async () => {
      const { ch } = scratch;
      await migrateClickHouse(ch, { ttlDays: 30, otelTtlDays: 7 });
      expect([
        await currentTraceTtlDays(ch, 'otel_traces'),
        await currentTraceTtlDays(ch, 'otel_traces_trace_id_ts'),
      ]).toEqual([7, 7]);
      await migrateClickHouse(ch, { ttlDays: 30 });
      expect(await currentTraceTtlDays(ch, 'otel_traces')).toBe(7);
      await migrateClickHouse(ch, { ttlDays: 30, otelTtlDays: 0 });
      expect([
        await currentTraceTtlDays(ch, 'otel_traces'),
        await currentTraceTtlDays(ch, 'otel_traces_trace_id_ts'),
      ]).toEqual([null, null]);
      await expect(migrateClickHouse(ch, { ttlDays: 30, otelTtlDays: -1 })).rejects.toThrow(/otelTtlDays/);
      expect(await currentTraceTtlDays(ch)).toBe(30);
    });

    it("counts a trace's window row from its newest span, so an old span of the trace cannot expire the window", async () => {
      const { ch } = scratch;
      await migrateClickHouse(ch, { ttlDays: 30, otelTtlDays: 7 });
      const engines = await (
        await ch.client.query({
          query:
            'SELECT name, engine_full FROM system.tables WHERE database = {db:String} AND engine_full LIKE {ttl:String}',
          query_params: { db: ch.database, ttl: '%TTL%' },
          format: 'JSONEachRow',
        })
      ).json<{ name: string; engine_full: string }>();
      const ttlOf = (name: string) =>
        /\bTTL\s+(.*?)\s+SETTINGS/.exec(engines.find((e) => e.name === name)?.engine_full ?? '')?.[1];
      // as ClickHouse renders them: what applyTtl compares with, so a restart alters nothing
      expect(ttlOf('otel_traces_trace_id_ts')).toBe('End + toIntervalDay(7)');
      expect(ttlOf('otel_traces')).toBe('toDateTime(Timestamp) + toIntervalDay(7)');
      expect(ttlOf('provider_traces')).toBe('inserted_at + toIntervalDay(30)');
      await migrateClickHouse(ch, { ttlDays: 30, otelTtlDays: 0 }); // the suite's older spans must stay
    });

    it("takes the OpenTelemetry Collector exporter's INSERT as it is; the organization comes from the resource attribute", async () => {
      const { ch } = scratch;
      // the column list of the exporter's traces_insert.sql, with values as it sends them
      await ch.client.command({
        query: `INSERT INTO ${qualified(ch, 'otel_traces')} (Timestamp, TraceId, SpanId, ParentSpanId, TraceState, SpanName,
          SpanKind, ServiceName, ResourceAttributes, ScopeName, ScopeVersion, SpanAttributes, Duration, StatusCode,
          StatusMessage, Events.Timestamp, Events.Name, Events.Attributes, Links.TraceId, Links.SpanId, Links.TraceState,
          Links.Attributes)
          VALUES ('2026-01-02 03:04:05.123456789', '${hex(1, 16)}', '${hex(1, 8)}', '', '', 'agent_step', 'Server', 'collector',
            {'service.name': 'collector', 'runtrace.organization_id': '${DEFAULT_ACTOR.organizationId}'}, 'scope', '1', {'k': 'v'},
            1500, 'Ok', '', ['2026-01-02 03:04:05.2'], ['e'], [{'a': 'b'}], [], [], [], []),
          ('2026-01-02 03:04:06', '${hex(1, 16)}', '${hex(2, 8)}', '', '', 'agent_step', 'Server', 'collector',
            {'service.name': 'collector'}, '', '', {}, 1, 'Unset', '', [], [], [], [], [], [], [])`,
      });
      const spans = await readTraceSpans(ch, {
        organizationId: DEFAULT_ACTOR.organizationId,
        traceIds: [hex(1, 16)],
        limit: 10,
      });
      // the span without the organization attribute belongs to nobody
      expect(spans).toEqual([
        expect.objectContaining({
          spanId: hex(1, 8),
          serviceName: 'collector',
          spanAttributes: { k: 'v' },
          duration: '1500',
          events: [{ timestamp: expect.stringMatching(/^\d{10}200000000$/), name: 'e', attributes: { a: 'b' } }],
        }),
      ]);
      // and the materialized view put the trace into the lookup table
      const [lookup] = await rows<{ n: string | number }>(
        ch,
        `SELECT count() AS n FROM ${qualified(ch, 'otel_traces_trace_id_ts')} WHERE TraceId = {id:String}`,
        { id: hex(1, 16) },
      );
      expect(Number(lookup?.n)).toBeGreaterThan(0);
    });
  });

  describe('OtelTraces', () => {
    let rt: TestRuntime;
    beforeAll(async () => {
      rt = await createTestRuntime(databaseTargets()[0]!, { CLICKHOUSE_URL: target.url });
    });
    afterAll(() => rt?.dispose());

    it('finds a trace through its time window, the same spans as without the lookup, across days', async () => {
      const day = 86_400_000_000_000n;
      const t0 = BigInt(Date.now()) * 1_000_000n - 3n * day;
      // trace 7 spans two days (two partitions); trace 8 lies between, and has a span named like a root's child
      const result = await rt.traces.ingest(
        DEFAULT_ACTOR,
        request([
          [7, 1, t0, 'root'],
          [8, 2, t0 + day / 2n, 'root'],
          [7, 3, t0 + day + 5n, 'agent_step', 1],
          [7, 4, t0 + day + 6n, 'llm_request', 3],
          [7, 5, t0 + day + 7n, 'Agent._execute_tool', 3],
          [7, 6, t0 + day + 8n, 'Agent.execute_tool', 3],
          [7, 7, t0 + day + 9n, 'time_to_first_token', 3],
        ]),
        'json',
      );
      expect(result).toEqual({ accepted: 7, rejected: 0, errorMessage: '' });
      await rt.traces.flush();
      const ch = rt.clickhouse!;
      const read = (useLookup: boolean, viewFilter = true) =>
        readTraceSpans(ch, {
          organizationId: DEFAULT_ACTOR.organizationId,
          traceIds: [hex(7, 16)],
          limit: 100,
          useLookup,
          viewFilter,
        });
      const withLookup = await read(true);
      expect(withLookup.map((s) => s.spanName)).toEqual([
        'root',
        'agent_step',
        'Agent._execute_tool',
        'time_to_first_token',
      ]);
      expect(withLookup.map((s) => s.timestamp)).toEqual([t0, t0 + day + 5n, t0 + day + 7n, t0 + day + 9n].map(String));
      expect(await read(false)).toEqual(withLookup);
      expect((await read(true, false)).map((s) => s.spanId)).toEqual([1, 3, 4, 5, 6, 7].map((n) => hex(n, 8)));
      // an unknown trace id has no window, hence no spans
      expect(
        await readTraceSpans(ch, { organizationId: DEFAULT_ACTOR.organizationId, traceIds: [hex(99, 16)], limit: 5 }),
      ).toEqual([]);
    });

    it('puts a parent before the children that start in the same nanosecond, whatever their span ids', async () => {
      const t0 = BigInt(Date.now()) * 1_000_000n - 60_000_000_000n;
      // span 9 (the root) and its child 5 and grandchild 2 start together; span ids alone would give 2, 5, 9
      await rt.traces.ingest(
        DEFAULT_ACTOR,
        request([
          [11, 2, t0, 'grandchild', 5],
          [11, 9, t0, 'root'],
          [11, 5, t0, 'child', 9],
          [11, 1, t0 + 1n, 'later', 9],
        ]),
        'json',
      );
      await rt.traces.flush();
      const spans = await readTraceSpans(rt.clickhouse!, {
        organizationId: DEFAULT_ACTOR.organizationId,
        traceIds: [hex(11, 16)],
        limit: 10,
        viewFilter: false,
      });
      expect(spans.map((s) => s.spanName)).toEqual(['root', 'child', 'grandchild', 'later']);
    });

    it("with llmSpans, draws a GenAI agent's steps and tools too (the AI SDK's spans), as the live filter does", async () => {
      const traceIds: string[] = [];
      for (const name of ['ai-sdk-generate-text', 'ai-sdk-legacy-generate-text']) {
        const body = readFileSync(new URL(`./genai/fixtures/${name}.json`, import.meta.url));
        traceIds.push(JSON.parse(body.toString()).resourceSpans[0].scopeSpans[0].spans[0].traceId);
        expect((await rt.traces.ingest(DEFAULT_ACTOR, body, 'json')).rejected).toBe(0);
      }
      await rt.traces.flush();
      const read = (options: { viewFilter?: boolean; llmSpans?: boolean }) =>
        readTraceSpans(rt.clickhouse!, {
          organizationId: DEFAULT_ACTOR.organizationId,
          traceIds,
          limit: 100,
          ...options,
        });
      const drawn = await read({ llmSpans: true });
      expect(new Set(drawn.map((s) => s.spanName))).toEqual(
        new Set([
          'invoke_agent gpt-4o-mini',
          'step 1',
          'chat gpt-4o-mini',
          'execute_tool weather',
          'step 2',
          'ai.generateText',
          'ai.generateText.doGenerate',
          'ai.toolCall',
        ]),
      );
      // the SQL filter and its JS twin (live updates) keep the same spans
      expect(drawn).toEqual((await read({ viewFilter: false })).filter((s) => inTraceView(s, true)));
      expect((await read({})).map((s) => s.spanName).sort()).toEqual(['ai.generateText', 'invoke_agent gpt-4o-mini']);
    });

    it('forRun reads the trace ids of the run steps in the caller organization only', async () => {
      const run = await rt.runs.create(DEFAULT_ACTOR, { agentId: newId('agent') });
      await rt.steps.create(DEFAULT_ACTOR, { runId: run.id, traceId: hex(7, 16) });
      expect((await rt.traces.forRun(DEFAULT_ACTOR, { runId: run.id })).map((s) => s.spanName)).toEqual([
        'root',
        'agent_step',
        'Agent._execute_tool',
        'time_to_first_token',
      ]);
      expect(await rt.traces.forRun(DEFAULT_ACTOR, { runId: run.id, limit: 1 })).toHaveLength(1);
      // the dashboard also asks for the LLM calls, which Letta's view filter leaves out
      expect((await rt.traces.forRun(DEFAULT_ACTOR, { runId: run.id, llmSpans: true })).map((s) => s.spanName)).toEqual(
        ['root', 'agent_step', 'llm_request', 'Agent._execute_tool', 'time_to_first_token'],
      );
      const org = await rt.auth.createOrganization('other');
      await expect(
        rt.traces.forRun({ organizationId: org.id, userId: org.userId }, { runId: run.id }),
      ).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    });
  });
});

describe('RUNTRACE_OTEL_SELF_TRACE', () => {
  it('refuses direct without ClickHouse at start, naming both variables', async () => {
    await expect(
      createTestRuntime(databaseTargets()[0]!, { CLICKHOUSE_URL: 'off', RUNTRACE_OTEL_SELF_TRACE: 'direct' }),
    ).rejects.toThrow(/RUNTRACE_OTEL_SELF_TRACE=direct .*CLICKHOUSE_URL=off/);
  });
});
