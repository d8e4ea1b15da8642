/**
 * OTLP/gRPC trace receiver: `opentelemetry.proto.collector.trace.v1.TraceService/Export` on RUNTRACE_OTLP_GRPC_PORT
 * (default 4317, the OTLP/gRPC port; `off`: none), on the api's HOST, as the OpenTelemetry SDKs, the Collector and
 * Letta's server export over gRPC. The same pipeline and answers as `POST /v1/traces` (otlp.ts):
 *
 * - the request's bytes go, undecoded by gRPC (identity (de)serializers), to `runtime.traces.ingest(…, 'protobuf')`,
 *   and the `ExportTraceServiceResponse` (with `partial_success`) comes back as the HTTP path encodes it;
 * - authenticated from the `authorization` metadata (`Bearer <key>`) like every call (auth.ts), before the message is
 *   handed on; anonymous calls get the default organization unless RUNTRACE_AUTH=required;
 * - a message over RUNTRACE_OTLP_MAX_BODY_BYTES, as sent or once decompressed (`grpc-encoding: gzip`), is refused by
 *   grpc-js with RESOURCE_EXHAUSTED;
 * - domain errors get the status code of ERROR_TABLE (CONTRACTS §2): INVALID_ARGUMENT malformed, UNAUTHENTICATED no
 *   or bad key, UNIMPLEMENTED CLICKHOUSE_URL=off, UNAVAILABLE ClickHouse down or behind (the only one exporters
 *   retry); anything else INTERNAL with a generic message (logged);
 * - shutdown (the api's close) stops taking calls and lets those in flight finish, for half of
 *   RUNTRACE_SHUTDOWN_TIMEOUT_MS at most, then cancels them.
 */
import {
  type handleUnaryCall,
  type Metadata,
  Server,
  ServerCredentials,
  ServerInterceptingCall,
  type ServerInterceptor,
  type ServiceDefinition,
  status,
} from '@grpc/grpc-js';
import { type Actor, domainErrorOf, type Runtime } from '@runtrace/core';
import { encodeExportResponse, type OtlpRequestOutcome } from '@runtrace/core/traces';
import type { FastifyInstance } from 'fastify';
import { actorFor } from './auth.ts';
import { ERROR_TABLE } from './error-table.ts';
import { otlpGrpcMetrics } from './otlp-grpc-metrics.ts';

/** The one method of the OTLP trace service, by its full gRPC path. */
export const OTLP_GRPC_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

const identity = (bytes: Buffer): Buffer => bytes;

/** The service with bytes in and out: the request is decoded once, by the pipeline that decodes `/v1/traces`. */
const TRACE_SERVICE: ServiceDefinition = {
  Export: {
    path: OTLP_GRPC_EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** A status the caller sees: the domain error's code and message, or INTERNAL with nothing of the bug's details. */
function statusOf(runtime: Runtime, err: unknown): { code: status; details: string } {
  const domain = domainErrorOf(err);
  if (domain) return { code: ERROR_TABLE[domain.code].grpc, details: domain.message };
  runtime.logger.error({ err, path: OTLP_GRPC_EXPORT_PATH }, 'OTLP/gRPC request failed');
  return { code: status.INTERNAL, details: 'Internal server error' };
}

/** The `authorization` metadata as the HTTP header would read (its first value). */
function authorizationOf(metadata: Metadata): string | undefined {
  const [value] = metadata.get('authorization');
  return typeof value === 'string' ? value : value?.toString('utf8');
}

/**
 * Authenticates each call on its metadata, before its message is handed on (an unknown caller's export is never
 * decoded), and counts each call by the status it ends with, whoever sends it: the handler, the authentication, or
 * grpc-js itself (a message over the limit, a compression it cannot read).
 */
function interceptor(
  runtime: Runtime,
  actors: WeakMap<Metadata, Actor>,
  partials: WeakSet<Metadata>,
): ServerInterceptor {
  const metrics = otlpGrpcMetrics(runtime.telemetry.metrics.registry);
  return (_method, call) => {
    let counted = false;
    let received: Metadata | undefined;
    // The call below is the base call: grpc-js ends a call it refuses itself through this same method.
    const send = call.sendStatus.bind(call);
    call.sendStatus = (end) => {
      if (!counted) {
        metrics.requests.inc({ code: status[end.code] ?? String(end.code) });
        // The health view's request counters, as for OTLP/HTTP: under the caller's organization once it is known.
        const organizationId = received ? (actors.get(received)?.organizationId ?? null) : null;
        runtime.traces.recordRequest(
          organizationId,
          grpcOutcomeOf(end.code, received ? partials.has(received) : false),
        );
      }
      counted = true;
      send(end);
    };
    const intercepting: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, pass) => {
            received = metadata;
            actorFor(runtime, authorizationOf(metadata)).then(
              (actor) => {
                actors.set(metadata, actor);
                pass(metadata);
              },
              (err) => intercepting.sendStatus(statusOf(runtime, err)),
            );
          },
        }),
    });
    return intercepting;
  };
}

const OUTCOME_BY_CODE: Partial<Record<status, OtlpRequestOutcome>> = {
  [status.INVALID_ARGUMENT]: 'malformed',
  [status.UNAUTHENTICATED]: 'unauthorized',
  [status.PERMISSION_DENIED]: 'unauthorized',
  [status.RESOURCE_EXHAUSTED]: 'too_large',
  [status.UNIMPLEMENTED]: 'not_implemented',
  [status.UNAVAILABLE]: 'unavailable',
};

/** A call's final status (and whether spans were refused) → the outcome `POST /v1/traces` would count for it. */
export function grpcOutcomeOf(code: status, partial: boolean): OtlpRequestOutcome {
  if (code === status.OK) return partial ? 'partial' : 'accepted';
  return OUTCOME_BY_CODE[code] ?? 'internal';
}

/** Stops taking calls and lets those in flight end, for `deadlineMs` at most; then ends them (CANCELLED). */
export async function drainGrpcServer(server: Server, deadlineMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, deadlineMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** `host:port` for grpc-js, an IPv6 address in brackets. */
const hostPort = (host: string, port: number) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

const boundPorts = new WeakMap<FastifyInstance, number>();

/** The port the OTLP/gRPC receiver of `app` listens on (once `app` is ready), or null when it has none. */
export function otlpGrpcPort(app: FastifyInstance): number | null {
  return boundPorts.get(app) ?? null;
}

/**
 * Opens the OTLP/gRPC receiver with the api (when `app` gets ready, so a port already taken fails the api's start)
 * on RUNTRACE_OTLP_GRPC_PORT of HOST, and drains it when `app` closes. Nothing with RUNTRACE_OTLP_GRPC_PORT=off.
 */
export function registerOtlpGrpc(app: FastifyInstance, runtime: Runtime): void {
  const { otlpGrpcPort: port, host, otlpMaxBodyBytes, shutdownTimeoutMs } = runtime.config;
  if (port === 'off') return;
  const metrics = otlpGrpcMetrics(runtime.telemetry.metrics.registry);
  const actors = new WeakMap<Metadata, Actor>();
  const partials = new WeakSet<Metadata>();
  const exportTraces: handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    const run = async () => {
      // Set by the interceptor, which runs first; a call without it is authenticated here.
      const actor = actors.get(call.metadata) ?? (await actorFor(runtime, authorizationOf(call.metadata)));
      const result = await runtime.traces.ingest(actor, call.request, 'protobuf');
      metrics.spans.inc({ result: 'written' }, result.accepted);
      metrics.spans.inc({ result: 'rejected' }, result.rejected);
      if (result.rejected > 0) partials.add(call.metadata);
      return Buffer.from(encodeExportResponse('protobuf', result.rejected, result.errorMessage));
    };
    run().then(
      (response) => callback(null, response),
      (err: unknown) => callback(statusOf(runtime, err)),
    );
  };
  let server: Server | null = null;
  app.addHook('onReady', async () => {
    server = new Server({
      'grpc.max_receive_message_length': otlpMaxBodyBytes,
      interceptors: [interceptor(runtime, actors, partials)],
    });
    server.addService(TRACE_SERVICE, { Export: exportTraces });
    const address = hostPort(host, port);
    const bound = await new Promise<number>((resolve, reject) =>
      server?.bindAsync(address, ServerCredentials.createInsecure(), (err, boundPort) =>
        err ? reject(err) : resolve(boundPort),
      ),
    ).catch((err: Error) => {
      throw new Error(`RUNTRACE_OTLP_GRPC_PORT: the OTLP/gRPC receiver cannot listen on ${address}: ${err.message}`);
    });
    boundPorts.set(app, bound);
  });
  app.addHook('onClose', async () => {
    if (server) await drainGrpcServer(server, shutdownTimeoutMs / 2);
    boundPorts.delete(app);
  });
}
