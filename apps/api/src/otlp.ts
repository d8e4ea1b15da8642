/**
 * OTLP/HTTP trace receiver: `POST /v1/traces` with an `ExportTraceServiceRequest` as `application/x-protobuf` or
 * `application/json`, optionally gzip-compressed, as the OpenTelemetry SDKs and collectors export it.
 *
 * - Authenticated like every call (auth.ts): `Authorization: Bearer <key>`, or the default organization when auth is
 *   optional. The spans get the caller's organization.
 * - 200 with an `ExportTraceServiceResponse` in the request's encoding; `partial_success` when spans were refused.
 * - Errors answer with a `google.rpc.Status` in the request's encoding (JSON when the type is unsupported): 400
 *   malformed, 401 no or bad key, 413 body (or its decompressed form) over RUNTRACE_OTLP_MAX_BODY_BYTES, 415 other
 *   content types or encodings, 501 CLICKHOUSE_URL=off, 503 ClickHouse down or behind (retryable, Retry-After).
 */
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { type Actor, domainErrorOf, InvalidArgument, PayloadTooLarge, type Runtime } from '@runtrace/core';
import {
  encodeExportResponse,
  encodeStatus,
  OTLP_CONTENT_TYPES,
  type OtlpFormat,
  otlpOutcomeOf,
  RPC_CODES,
} from '@runtrace/core/traces';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { actorFor } from './auth.ts';
import { ERROR_TABLE, type ErrorAnswer } from './error-table.ts';

const gunzipAsync = promisify(gunzip);

/** The path OTLP/HTTP exporters post traces to (their default `<endpoint>/v1/traces`). */
export const OTLP_TRACES_PATH = '/v1/traces';

/** An OTLP content type → its format; null for any other type. */
function formatOf(contentType: string | undefined): OtlpFormat | null {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return null;
}

class UnsupportedMediaType extends Error {}

type StatusAnswer = Pick<ErrorAnswer, 'http' | 'grpc'>;

/** A refusal by HTTP status of our own (415, Fastify's 4xx), with the code of a request no retry can fix. */
const refused = (http: number): StatusAnswer => ({ http, grpc: ERROR_TABLE.INVALID_ARGUMENT.grpc });

/** An error answer: status `answer.http` with a `google.rpc.Status` of code `answer.grpc`. */
function sendStatus(reply: FastifyReply, format: OtlpFormat, answer: StatusAnswer, message: string) {
  if (answer.http === 503) reply.header('retry-after', '1');
  return reply
    .code(answer.http)
    .header('content-type', OTLP_CONTENT_TYPES[format])
    .send(Buffer.from(encodeStatus(format, answer.grpc, message)));
}

/** Gzip → the body, refusing one that inflates beyond `limit` (a small body must not become a huge one). */
async function inflate(body: Buffer, limit: number): Promise<Buffer> {
  try {
    return await gunzipAsync(body, { maxOutputLength: limit });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE')
      throw new PayloadTooLarge(`the decompressed body is larger than ${limit} bytes`);
    throw new InvalidArgument(`the body is not valid gzip: ${(err as Error).message}`);
  }
}

/** Registers `POST /v1/traces` in a scope of its own (its own body parser, limit and error answers). */
export async function registerOtlpRoutes(app: FastifyInstance, runtime: Runtime): Promise<void> {
  const limit = runtime.config.otlpMaxBodyBytes;
  await app.register(async (scope) => {
    const actors = new WeakMap<FastifyRequest, Actor>();
    const partial = new WeakSet<FastifyRequest>();
    // Every answer is counted once, under the caller's organization when it is known (the health view's counters).
    scope.addHook('onResponse', async (request, reply) => {
      const outcome = otlpOutcomeOf(reply.statusCode, partial.has(request));
      runtime.traces.recordRequest(actors.get(request)?.organizationId ?? null, outcome);
    });
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limit }, (_request, body, done) =>
      done(null, body),
    );
    // Before the body is read: an unknown caller or an unsupported type is answered without receiving 32 MiB.
    scope.addHook('onRequest', async (request) => {
      if (!formatOf(request.headers['content-type'])) throw new UnsupportedMediaType();
      actors.set(request, await actorFor(runtime, request.headers.authorization));
    });
    scope.setErrorHandler((error: FastifyError, request, reply) => {
      const format = formatOf(request.headers['content-type']) ?? 'json';
      if (error instanceof UnsupportedMediaType) {
        return sendStatus(
          reply,
          'json',
          refused(415),
          `unsupported content type "${request.headers['content-type'] ?? ''}": OTLP/HTTP takes application/x-protobuf or application/json`,
        );
      }
      const domain = domainErrorOf(error);
      if (domain) return sendStatus(reply, format, ERROR_TABLE[domain.code], domain.message);
      // Fastify's own refusals: a body over the limit (413), an unreadable one (400).
      if (error.statusCode === 413) {
        reply.header('connection', 'close');
        return sendStatus(reply, format, ERROR_TABLE.PAYLOAD_TOO_LARGE, `the body is larger than ${limit} bytes`);
      }
      if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
        return sendStatus(reply, format, refused(error.statusCode), error.message);
      }
      runtime.logger.error({ err: error, path: OTLP_TRACES_PATH }, 'OTLP request failed');
      return sendStatus(reply, format, { http: 500, grpc: RPC_CODES.INTERNAL }, 'Internal server error');
    });
    scope.post(OTLP_TRACES_PATH, { bodyLimit: limit }, async (request, reply) => {
      const format = formatOf(request.headers['content-type']) as OtlpFormat;
      const actor = actors.get(request) as Actor;
      let body = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
      const encoding = request.headers['content-encoding']?.trim().toLowerCase();
      if (encoding === 'gzip') body = await inflate(body, limit);
      else if (encoding && encoding !== 'identity') {
        return sendStatus(reply, format, refused(415), `unsupported content encoding "${encoding}": use gzip or none`);
      }
      const result = await runtime.traces.ingest(actor, body, format);
      if (result.rejected > 0) partial.add(request);
      return reply
        .code(200)
        .header('content-type', OTLP_CONTENT_TYPES[format])
        .send(Buffer.from(encodeExportResponse(format, result.rejected, result.errorMessage)));
    });
  });
}
