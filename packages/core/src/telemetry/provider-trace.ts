import { z } from 'zod';
import { idSchema, newId } from '../ids.ts';
import { jsonObjectSchema } from '../json.ts';
import { timestampInputSchema, toIso } from '../time.ts';

const jsonObject = jsonObjectSchema;

/**
 * A provider trace as a caller sends it: the raw request and response of one LLM call. Strict: unknown keys
 * (e.g. `organizationId`) are refused — the organization always comes from the caller.
 */
export const providerTraceInput = z.strictObject({
  /** `provider_trace-<uuid4>`; generated when absent. */
  id: idSchema('providerTrace').optional(),
  requestJson: jsonObject,
  responseJson: jsonObject,
  stepId: idSchema('step').nullish(),
  runId: idSchema('run').nullish(),
  agentId: idSchema('agent').nullish(),
  agentTags: z.array(z.string()).nullish(),
  /** e.g. `agent_step`, `summarization`. */
  callType: z.string().max(200).nullish(),
  createdAt: timestampInputSchema.nullish(),
});
export type ProviderTraceInput = z.input<typeof providerTraceInput>;

/** A provider trace with its id and time settled: what every backend receives, identical across backends. */
export const providerTraceSchema = z.object({
  id: z.string(),
  requestJson: jsonObject,
  responseJson: jsonObject,
  stepId: z.string().nullable(),
  runId: z.string().nullable(),
  agentId: z.string().nullable(),
  agentTags: z.array(z.string()).nullable(),
  callType: z.string().nullable(),
  /** UTC ISO-8601. */
  createdAt: z.string(),
});
export type ProviderTrace = z.infer<typeof providerTraceSchema>;

/** Traces this module settled: handing one back is not validated twice (it is on the hot path of every write). */
const settled = new WeakSet<ProviderTrace>();

/** Validates and settles the id and timestamp once, so every backend stores the same trace. */
export function toProviderTrace(raw: ProviderTraceInput | ProviderTrace): ProviderTrace {
  if (settled.has(raw as ProviderTrace)) return raw as ProviderTrace;
  const input = providerTraceInput.parse(raw);
  const trace: ProviderTrace = {
    id: input.id ?? newId('providerTrace'),
    requestJson: input.requestJson,
    responseJson: input.responseJson,
    stepId: input.stepId ?? null,
    runId: input.runId ?? null,
    agentId: input.agentId ?? null,
    agentTags: input.agentTags ?? null,
    callType: input.callType ?? null,
    createdAt: toIso(input.createdAt ? new Date(input.createdAt) : new Date()),
  };
  settled.add(trace);
  return trace;
}

/** The JSON text of a trace's request and response. */
export interface TraceBodiesJson {
  request: string;
  response: string;
}

/** Where a trace keeps its {@link TraceBodiesJson} (a property, not a WeakMap: ephemerons slow every GC down). */
const BODIES_JSON = Symbol('runtrace.bodiesJson');

/**
 * The JSON text of the trace's request and response, made once per trace object however many backends write it: they
 * are most of a trace, and each backend embeds them whole in its row or record.
 */
export function traceBodiesJson(trace: ProviderTrace): TraceBodiesJson {
  const holder = trace as ProviderTrace & { [BODIES_JSON]?: TraceBodiesJson };
  let bodies = holder[BODIES_JSON];
  if (!bodies) {
    bodies = { request: JSON.stringify(trace.requestJson), response: JSON.stringify(trace.responseJson) };
    // not enumerable: spreading or comparing a trace never sees it (and a frozen trace is simply not cached)
    if (Object.isExtensible(holder)) Object.defineProperty(holder, BODIES_JSON, { value: bodies });
  }
  return bodies;
}
