import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type ContentCoding, negotiateContentCoding } from './accept-encoding.ts';

/**
 * The qualities of dynamic answers: brotli 4 and gzip 6. Measured (`pnpm bench -- --only compression`) on a 100-run
 * page of runs.list (70 KB) and a 524-span trace (768 KB): brotli 4 sends 8.2 KB / 15.7 KB for 0.37 / 1.95 ms of CPU
 * per body; brotli 5 saves 4–14 % more for 1.6–2.3× that CPU, brotli 1 costs a third and sends 8–27 % more; zlib's
 * default (11) takes 100 ms / 1.4 s. gzip 6 (for clients without br): 8.5 KB / 20 KB for 0.43 / 2.6 ms. Static assets
 * are compressed once at build, at the highest quality (the dashboard's vite.config.ts).
 */
export const BROTLI_QUALITY = 4;
export const GZIP_LEVEL = 6;

export interface CompressionOptions {
  /** The smallest body compressed, in bytes; smaller ones cost more to compress than they save. @default 1024 */
  minBytes?: number;
}

/**
 * JSON and text answers compressed with brotli or gzip as the request's `Accept-Encoding` prefers
 * (RUNTRACE_HTTP_COMPRESSION_MIN_BYTES), in one `onSend` hook: every route's buffered answer passes it, tRPC's adapter
 * (a web Response), the direct routes of fast-calls.ts and the REST layer alike. `Vary: Accept-Encoding` goes on every
 * answer that could be compressed, whatever its size, so a cache never hands a compressed answer to a client that
 * cannot read it.
 *
 * Left as they are: Server-Sent Events (sse-writer.ts writes them to the socket itself, for tRPC and REST, and a
 * `text/event-stream` or streamed answer is never buffered here: a compressor would hold events back), answers already
 * encoded (the dashboard's pre-compressed assets), streamed bodies (files), other types (OTLP protobuf), HEAD, 1xx,
 * 204 and 304 answers.
 *
 * Why not @fastify/compress: it would read tRPC's Response bodies as streams and compress them through a zlib stream
 * per answer (chunked, no length; a streamed tRPC batch would be held back), decompresses request bodies unless told
 * not to (OTLP reads gzip bodies itself), and sets Vary only on the answers it compressed.
 *
 * Bodies up to {@link INLINE_MAX_BYTES} are compressed on the event loop, larger ones on libuv's thread pool.
 */
export function registerCompression(app: FastifyInstance, options: CompressionOptions = {}): void {
  const minBytes = options.minBytes ?? 1024;
  app.addHook('onSend', async (request, reply, payload) => {
    if (payload === null || payload === undefined) return payload;
    if (isWebResponse(payload)) return compressResponse(request, reply, payload, minBytes);
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload; // a stream: a file or a pipe
    if (!compressible(reply.getHeader('content-type'), reply.getHeader('content-encoding'))) return payload;
    addVary(reply);
    return compressBody(request, reply, payload, minBytes);
  });
}

async function compressBody(
  request: FastifyRequest,
  reply: FastifyReply,
  body: string | Buffer,
  minBytes: number,
): Promise<string | Buffer> {
  const status = reply.statusCode;
  if (request.method === 'HEAD' || status < 200 || status === 204 || status === 304) return body;
  if (Buffer.byteLength(body) < minBytes) return body;
  const coding = negotiateContentCoding(request.headers['accept-encoding']);
  if (!coding) return body;
  const compressed = await compress(coding, typeof body === 'string' ? Buffer.from(body) : body);
  reply.header('content-encoding', coding);
  reply.removeHeader('content-length');
  return compressed;
}

/**
 * A web Response from tRPC's adapter. A buffered one (a query's or a mutation's JSON) is taken apart — its status and
 * headers onto the reply, its body read — and compressed like any other answer; a streamed one (`text/event-stream`,
 * or a JSON-lines batch sent with `transfer-encoding: chunked`) goes out as it is.
 */
async function compressResponse(
  request: FastifyRequest,
  reply: FastifyReply,
  response: Response,
  minBytes: number,
): Promise<Response | string | Buffer> {
  const headers = response.headers;
  if (
    response.body === null ||
    headers.has('transfer-encoding') ||
    !compressible(headers.get('content-type') ?? undefined, headers.get('content-encoding') ?? undefined)
  ) {
    return response;
  }
  if (!negotiateContentCoding(request.headers['accept-encoding'])) {
    // Sent as it is (Fastify reads the Response itself), but caches must still know that the answer varies.
    headers.set('vary', mergeVary(headers.get('vary') ?? undefined));
    return response;
  }
  reply.code(response.status);
  headers.forEach((value, name) => {
    reply.header(name, value);
  });
  addVary(reply);
  return compressBody(request, reply, Buffer.from(await response.arrayBuffer()), minBytes);
}

const COMPRESSIBLE = /^\s*(?:text\/(?!event-stream)|application\/(?:[\w.-]+\+)?(?:json|xml|javascript)\b)/i;

function compressible(contentType: unknown, contentEncoding: unknown): boolean {
  if (contentEncoding !== undefined && contentEncoding !== null && contentEncoding !== 'identity') return false;
  return typeof contentType === 'string' && COMPRESSIBLE.test(contentType);
}

function isWebResponse(payload: unknown): payload is Response {
  return (
    typeof payload === 'object' && payload !== null && Object.prototype.toString.call(payload) === '[object Response]'
  );
}

function mergeVary(current: string | undefined): string {
  if (!current) return 'accept-encoding';
  if (/(?:^|,)\s*(?:accept-encoding|\*)\s*(?:,|$)/i.test(current)) return current;
  return `${current}, accept-encoding`;
}

function addVary(reply: FastifyReply): void {
  const current = reply.getHeader('vary');
  reply.header('vary', mergeVary(Array.isArray(current) ? current.join(', ') : current?.toString()));
}

const brotliAsync = promisify(zlib.brotliCompress);
const gzipAsync = promisify(zlib.gzip);
const { BROTLI_PARAM_QUALITY, BROTLI_PARAM_MODE, BROTLI_MODE_TEXT, BROTLI_PARAM_SIZE_HINT } = zlib.constants;

/**
 * Bodies up to this size are compressed on the event loop, larger ones on libuv's thread pool. A trip to the pool
 * costs more CPU than it saves the loop for a page of runs (~70 KB: ~0.35 ms of brotli 4 inline, ~0.1–0.5 ms more
 * through the pool, measured); a 750 KB trace takes ~2 ms (brotli 4) to ~3 ms (gzip 6), which must not stall every
 * other request.
 */
export const INLINE_MAX_BYTES = 256 * 1024;

/** One body in one coding, at the qualities above. */
export async function compress(coding: ContentCoding, body: Buffer): Promise<Buffer> {
  const inline = body.length <= INLINE_MAX_BYTES;
  if (coding === 'gzip') {
    const options = { level: GZIP_LEVEL };
    return inline ? zlib.gzipSync(body, options) : gzipAsync(body, options);
  }
  const options = {
    params: {
      [BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [BROTLI_PARAM_MODE]: BROTLI_MODE_TEXT,
      // The whole input is known: brotli sizes its buffers for it.
      [BROTLI_PARAM_SIZE_HINT]: body.length,
    },
  };
  return inline ? zlib.brotliCompressSync(body, options) : brotliAsync(body, options);
}
