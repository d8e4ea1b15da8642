import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import { buildServer } from '@runtrace/api';
import { createRuntraceClient } from '@runtrace/client';
import { createTestRuntime, databaseTargets, type TestRuntime } from '@runtrace/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCall, loadProviderSamples } from '../provider-samples.ts';
import { createRandom, stableId } from '../random.ts';
import { AGENT_PROFILES } from './agent-profiles.ts';
import type { Outcome } from './plan-outcomes.ts';
import { recordRuns } from './record-runs.ts';

describe.each(databaseTargets())('pnpm simulate on $name', (target) => {
  let runtime: TestRuntime;
  let close: () => Promise<unknown>;
  let url: string;

  beforeAll(async () => {
    // ClickHouse on, as on the embedded defaults: the spans of OTLP/HTTP exports are stored there.
    runtime = await createTestRuntime(target, { CLICKHOUSE_URL: 'chdb:memory' });
    const app = await buildServer(runtime);
    await app.listen({ host: '127.0.0.1', port: 0 });
    close = () => app.close();
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await close?.();
    await runtime?.dispose();
  });

  it("records every step's provider trace and one trace of spans per run, which runs.trace draws", async () => {
    const client = createRuntraceClient({ url });
    const calls = loadProviderSamples().samples.map(describeCall);
    const agents = AGENT_PROFILES.slice(0, 2).map((p) => ({ ...p, id: stableId('agent', p.name) }));
    const plan: Outcome[] = ['end_turn', 'max_steps', 'error', 'llm_api_error', 'end_turn'];
    const { results } = await recordRuns({
      client,
      apiUrl: url,
      plan,
      agents,
      concurrency: 2,
      calls,
      rnd: createRandom(7),
      stepDelayMs: 0,
      tokenDelayMs: 0,
      backgroundShare: 0.4,
    });
    expect(results.map((r) => r.error)).toEqual(plan.map(() => null));
    for (const r of results) {
      const runId = r.runId as string;
      const { items: steps } = await client.runs.steps.query({ runId, limit: 100 });
      expect(steps).toHaveLength(r.steps);
      const traceIds = new Set(steps.map((s) => s.traceId));
      expect(traceIds.size).toBe(1);

      // a provider trace per step, the sample's own request
      const { items: traces } = await client.providerTraces.list.query({ runId });
      expect(r.providerTraces).toBe(r.steps);
      expect(traces.map((t) => t.stepId).sort()).toEqual(steps.map((s) => s.id).sort());
      // (jsonb keeps objects, not their key order)
      for (const t of traces) {
        expect(calls.some((c) => isDeepStrictEqual(c.requestJson, t.requestJson))).toBe(true);
        expect(calls.some((c) => isDeepStrictEqual(c.responseJson, t.responseJson))).toBe(true);
      }

      // the run's spans under the steps' trace id, as Letta's trace view filters them
      const spans = await client.runs.trace.query({ runId });
      expect(r.spans).toBeGreaterThanOrEqual(spans.length);
      expect(r.spansRefused).toBeNull();
      expect(new Set(spans.map((s) => s.traceId))).toEqual(traceIds);
      const named = (name: string) => spans.filter((s) => s.spanName === name);
      expect(spans.filter((s) => s.parentSpanId === '')).toHaveLength(1);
      expect(named('agent_step')).toHaveLength(r.steps);
      expect(
        named('agent_step')
          .map((s) => s.spanAttributes['step.id'])
          .sort(),
      ).toEqual(steps.map((s) => s.id).sort());
      const toolSteps = steps.filter((s) => s.toolExecutionNs != null).length;
      expect(named('LettaAgentV3._execute_tool')).toHaveLength(toolSteps);
      // the first token arrives in the first step whose provider call did not fail: only an llm_api_error run's
      // last step fails its call
      const answered = r.outcome !== 'llm_api_error' || r.steps > 1;
      expect(named('time_to_first_token')).toHaveLength(answered ? 1 : 0);
      // a failed step's span says so
      const failedStep = steps.find((s) => s.status === 'failed');
      if (failedStep) {
        const span = named('agent_step').find((s) => s.spanAttributes['step.id'] === failedStep.id);
        expect(span?.statusCode).toBe('Error');
      }
    }
  });
});
