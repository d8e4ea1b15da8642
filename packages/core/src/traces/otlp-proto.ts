import path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const PROTO_DIR = fileURLToPath(new URL('./proto', import.meta.url));

/** The OTLP messages `POST /v1/traces` decodes and answers with (see proto/README.md). */
export interface OtlpProtoTypes {
  ExportTraceServiceRequest: protobuf.Type;
  ExportTraceServiceResponse: protobuf.Type;
  Status: protobuf.Type;
}

let types: OtlpProtoTypes | null = null;

/** Loads the vendored .proto files once (a few ms), on the first protobuf request. */
export function otlpProtoTypes(): OtlpProtoTypes {
  if (types) return types;
  const root = new protobuf.Root();
  // Our files import each other by file name; google/protobuf/* are protobufjs's bundled common types.
  root.resolvePath = (_origin, target) =>
    target.startsWith('google/protobuf/') ? target : path.join(PROTO_DIR, target);
  root.loadSync(['otlp-trace-service.proto', 'google-rpc-status.proto'], { keepCase: false });
  root.resolveAll();
  types = {
    ExportTraceServiceRequest: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest'),
    ExportTraceServiceResponse: root.lookupType('opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse'),
    Status: root.lookupType('google.rpc.Status'),
  };
  return types;
}
