/**
 * OTLP/HTTP's answers, encoded like the request: an `ExportTraceServiceResponse` (with the specification's partial
 * success when spans were refused or changed) for an export, a `google.rpc.Status` for an error.
 */
import { Buffer } from 'node:buffer';
import { otlpProtoTypes } from './otlp-proto.ts';

/** OTLP/HTTP's two encodings, of a request and of its answer alike. */
export type OtlpFormat = 'json' | 'protobuf';

/** The exporter's warning about `altered` spans, or ''. */
export function alteredSpansWarning(altered: number): string {
  return altered
    ? `${altered} span${altered === 1 ? '' : 's'} kept with text changed: unpaired surrogates replaced by U+FFFD, NUL characters removed`
    : '';
}

/** A partial success's `error_message`: each reason spans were rejected for with its count; the altered warning. */
export function partialSuccessMessage(reasons: ReadonlyMap<string, number>, rejected: number, altered: number): string {
  const rejections = rejected
    ? `${rejected} span${rejected === 1 ? '' : 's'} rejected: ${[...reasons].map(([r, n]) => `${r} (${n})`).join('; ')}`
    : '';
  return [rejections, alteredSpansWarning(altered)].filter(Boolean).join('; ');
}

/** The content type an OTLP answer goes back in: the request's. */
export const OTLP_CONTENT_TYPES: Record<OtlpFormat, string> = {
  json: 'application/json',
  protobuf: 'application/x-protobuf',
};

/**
 * An `ExportTraceServiceResponse`: empty when every span was accepted as it was; with `partial_success` (the count and
 * the reasons) when some were rejected, or only its message as a warning when spans were kept altered, as the OTLP
 * specification asks.
 */
export function encodeExportResponse(format: OtlpFormat, rejected: number, errorMessage: string): Uint8Array {
  // With nothing rejected, a message is a warning (the spec allows it: rejected_spans 0, error_message set).
  const partial = rejected > 0 || errorMessage !== '';
  const response = partial ? { partialSuccess: { rejectedSpans: rejected, errorMessage } } : {};
  if (format === 'json') {
    // The protobuf JSON mapping writes int64 as a decimal string, and leaves out fields at their default.
    const json = partial
      ? { partialSuccess: { ...(rejected > 0 ? { rejectedSpans: String(rejected) } : {}), errorMessage } }
      : {};
    return Buffer.from(JSON.stringify(json));
  }
  const { ExportTraceServiceResponse } = otlpProtoTypes();
  return ExportTraceServiceResponse.encode(ExportTraceServiceResponse.fromObject(response)).finish();
}

/** gRPC status codes used in OTLP error bodies (google.rpc.Code). */
export const RPC_CODES = {
  INVALID_ARGUMENT: 3,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** The body of an OTLP/HTTP error answer: a `google.rpc.Status`, encoded like the request. */
export function encodeStatus(format: OtlpFormat, code: number, message: string): Uint8Array {
  if (format === 'json') return Buffer.from(JSON.stringify({ code, message }));
  const { Status } = otlpProtoTypes();
  return Status.encode(Status.fromObject({ code, message })).finish();
}
