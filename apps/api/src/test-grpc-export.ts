/**
 * For tests: a raw OTLP/gRPC client that sends bytes as they are (malformed, oversized, gzip-compressed), which the
 * official exporter never would, and resolves with the status the receiver ended the call with.
 */
import { Client, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import { OTLP_GRPC_EXPORT_PATH } from './otlp-grpc.ts';

export interface GrpcExportAnswer {
  /** The gRPC status name (`OK`, `INVALID_ARGUMENT`, …). */
  code: string;
  details: string;
  /** The response message's bytes on OK. */
  response: Buffer | null;
}

/** One client (one HTTP/2 connection) to `127.0.0.1:port`; `gzip` compresses every message it sends. */
export function grpcExportClient(port: number, options: { gzip?: boolean } = {}) {
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), {
    // 2 is gzip in grpc-js's compression algorithms
    ...(options.gzip ? { 'grpc.default_compression_algorithm': 2 } : {}),
    'grpc.max_send_message_length': -1,
  });
  const identity = (bytes: Buffer) => bytes;
  return {
    /** Sends `body` as an ExportTraceServiceRequest, with `authorization` metadata when given. */
    export(body: Uint8Array, authorization?: string): Promise<GrpcExportAnswer> {
      const metadata = new Metadata();
      if (authorization !== undefined) metadata.set('authorization', authorization);
      return new Promise((resolve) => {
        client.makeUnaryRequest(
          OTLP_GRPC_EXPORT_PATH,
          identity,
          identity,
          Buffer.from(body),
          metadata,
          { deadline: Date.now() + 60_000 },
          (err: ServiceError | null, response?: Buffer) =>
            resolve(
              err
                ? { code: status[err.code] ?? String(err.code), details: err.details, response: null }
                : { code: 'OK', details: '', response: response ?? Buffer.alloc(0) },
            ),
        );
      });
    },
    close: () => client.close(),
  };
}
