import type { Random } from '../random.ts';
import type { AgentProfile } from './agent-profiles.ts';

/** What a step's spans are drawn from: its timings on the run's simulated clock (ns since the epoch). */
export interface StepTiming {
  stepId: string;
  index: number;
  model: string;
  providerName: string;
  stepStartNs: bigint;
  llmRequestStartNs: bigint;
  llmRequestNs: bigint;
  toolExecutionNs: bigint | null;
  toolName: string | null;
  stepNs: bigint;
  promptTokens: number;
  completionTokens: number;
  /** The step failed: its span carries the error status and this message. */
  error: string | null;
  /** The run's time to first token ends in this step (its first successful provider call). */
  firstToken: boolean;
}

export interface RunTiming {
  runId: string;
  traceId: string;
  agent: AgentProfile;
  startNs: bigint;
  endNs: bigint;
  steps: StepTiming[];
}

type AnyValue = { stringValue: string } | { intValue: string };
const attributes = (values: Record<string, string | number>) =>
  Object.entries(values).map(([key, value]) => ({
    key,
    value: (typeof value === 'number' ? { intValue: String(value) } : { stringValue: value }) as AnyValue,
  }));

/** OTLP span status codes: UNSET, OK, ERROR. */
const STATUS_ERROR = 2;
/** OTLP span kinds: INTERNAL, SERVER, CLIENT. */
const KIND = { internal: 1, server: 2, client: 3 } as const;

/**
 * The spans a Letta server exports for one agent request, as OTLP/JSON: the request (root), an `agent_step` per step,
 * each step's LLM call, `time_to_first_token` where the first token arrived, and `LettaAgentV3._execute_tool` for its
 * tool call. Names and shapes are those Letta's trace view filters on (letta-behavior.md), so runs.trace and the
 * dashboard's waterfall draw them; the steps share the run's trace id, as the steps recorded through steps.create do.
 */
export function runSpans(run: RunTiming, rnd: Random) {
  const spanId = () => rnd.hex(16);
  const rootId = spanId();
  const spans: Record<string, unknown>[] = [];
  const span = (s: {
    id?: string;
    parent: string;
    name: string;
    kind: number;
    startNs: bigint;
    endNs: bigint;
    attrs: Record<string, string | number>;
    error?: string | null;
  }) => {
    const id = s.id ?? spanId();
    spans.push({
      traceId: run.traceId,
      spanId: id,
      parentSpanId: s.parent,
      name: s.name,
      kind: s.kind,
      startTimeUnixNano: String(s.startNs),
      endTimeUnixNano: String(s.endNs),
      attributes: attributes(s.attrs),
      status: s.error ? { code: STATUS_ERROR, message: s.error } : {},
    });
    return id;
  };
  span({
    id: rootId,
    parent: '',
    name: 'POST /v1/agents/{agent_id}/messages',
    kind: KIND.server,
    startNs: run.startNs,
    endNs: run.endNs,
    attrs: { 'http.method': 'POST', 'http.route': '/v1/agents/{agent_id}/messages', 'agent.id': run.agent.id },
  });
  for (const step of run.steps) {
    const stepSpan = span({
      parent: rootId,
      name: 'agent_step',
      kind: KIND.internal,
      startNs: step.stepStartNs,
      endNs: step.stepStartNs + step.stepNs,
      attrs: { 'step.id': step.stepId, 'step.index': step.index, 'run.id': run.runId },
      error: step.error,
    });
    const llmEndNs = step.llmRequestStartNs + step.llmRequestNs;
    span({
      parent: stepSpan,
      name: 'llm_request',
      kind: KIND.client,
      startNs: step.llmRequestStartNs,
      endNs: llmEndNs,
      attrs: {
        'gen_ai.system': step.providerName,
        'gen_ai.request.model': step.model,
        'gen_ai.usage.input_tokens': step.promptTokens,
        'gen_ai.usage.output_tokens': step.completionTokens,
      },
      error: step.error,
    });
    if (step.firstToken) {
      // The run's first token, as the step clock counts it (35% into the first successful provider call).
      span({
        parent: stepSpan,
        name: 'time_to_first_token',
        kind: KIND.internal,
        startNs: run.startNs,
        endNs: step.llmRequestStartNs + (step.llmRequestNs * 35n) / 100n,
        attrs: {},
      });
    }
    if (step.toolExecutionNs !== null) {
      span({
        parent: stepSpan,
        name: 'LettaAgentV3._execute_tool',
        kind: KIND.internal,
        startNs: llmEndNs,
        endNs: llmEndNs + step.toolExecutionNs,
        attrs: { 'tool.name': step.toolName ?? 'unknown' },
      });
    }
  }
  return {
    resourceSpans: [
      {
        resource: { attributes: attributes({ 'service.name': 'letta-server' }) },
        scopeSpans: [{ scope: { name: 'runtrace-simulate' }, spans }],
      },
    ],
  };
}

/**
 * Exports one run's spans to the api's OTLP/HTTP receiver (`/v1/traces`, JSON): how many it stored, and why the rest
 * were not (an HTTP refusal, or the partial success's rejected spans), or null when all were.
 */
export async function exportSpans(
  url: string,
  apiKey: string | undefined,
  body: ReturnType<typeof runSpans>,
): Promise<{ spans: number; refused: string | null }> {
  const count = body.resourceSpans[0]!.scopeSpans[0]!.spans.length;
  const res = await fetch(`${url.replace(/\/+$/, '')}/v1/traces`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: JSON.stringify(body),
  });
  const answer = (await res.json().catch(() => ({}))) as {
    message?: string;
    partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string };
  };
  if (!res.ok) return { spans: 0, refused: `HTTP ${res.status}: ${answer.message ?? 'no message'}` };
  const rejected = Number(answer.partialSuccess?.rejectedSpans ?? 0);
  return {
    spans: count - rejected,
    refused: rejected ? `${rejected} spans rejected: ${answer.partialSuccess?.errorMessage ?? ''}` : null,
  };
}
