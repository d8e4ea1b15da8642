/** What both readers of OTLP export requests (otlp-to-rows.ts for JSON, otlp-wire-rows.ts for protobuf) make. */

/** The spans of one export request as `otel_traces` rows. */
export interface OtlpRows {
  /** JSONEachRow lines, joined by newlines (no trailing one); '' when there are none. */
  lines: string;
  rows: number;
  /** Spans refused for invalid data (partial success). */
  rejected: number;
  /** Spans kept with text made storable (unpaired surrogates → U+FFFD, NUL removed). */
  altered: number;
  /** Why, when `rejected` > 0: each reason with its count; the warning about altered spans. */
  errorMessage: string;
  /** The refused spans by reason (a fixed sentence each: no span data), for the health view's counters. */
  reasons: ReadonlyMap<string, number>;
  /** The rows one by one (what `lines` joins), for the GenAI mapping stage. */
  spanLines: readonly string[];
  /**
   * The resources that set {@link RUNS_FROM_SPANS_ATTRIBUTE} (true or false), each with the rows it holds
   * (`spanLines` indexes from `firstRow` up to, not including, `endRow`); empty in the common case.
   */
  runsFromSpansOverrides: readonly { firstRow: number; endRow: number; enabled: boolean }[];
}

/** The resource attribute that opts a resource's spans into (`true`) or out of (`false`) runs from spans. */
export const RUNS_FROM_SPANS_ATTRIBUTE = 'runtrace.runs_from_spans';

/** The resource attribute that carries the caller's organization; `otel_traces.OrganizationId` is derived from it. */
export const ORGANIZATION_ATTRIBUTE = 'runtrace.organization_id';

/** pdata's SpanKind.String() (what the exporter writes), by the proto's enum number. */
export const SPAN_KINDS = ['Unspecified', 'Internal', 'Server', 'Client', 'Producer', 'Consumer'];
/** pdata's StatusCode.String(), by enum number. */
export const STATUS_CODES = ['Unset', 'Ok', 'Error'];
/** An export's rows one by one, from its JSONEachRow lines (no row holds a raw newline: JSON escapes it). */
export function spanLinesOf(lines: string): string[] {
  return lines ? lines.split('\n') : [];
}
