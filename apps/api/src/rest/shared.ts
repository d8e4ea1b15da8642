/**
 * What every Letta REST route shares: the caller, query parameters as Letta names and validates them, error replies
 * (`{"detail": …}` with Letta's statuses, CONTRACTS §2), JSON replies in Letta's wire format, and id cursors.
 */
import {
  type Actor,
  domainErrorOf,
  type IdKind,
  InvalidArgument,
  invalidIdMessage,
  isId,
  logUnavailable,
  type Order,
  type Page,
  type Runtime,
  unstorableInputIssue,
} from '@runtrace/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { actorFor } from '../auth.ts';
import { ERROR_TABLE, lettaDetailOf } from '../error-table.ts';
import { writeJson } from './wire.ts';

/** One FastAPI-style validation error item. */
export interface ValidationIssue {
  type: string;
  loc: (string | number)[];
  msg: string;
  input?: unknown;
}

/** A request that does not fit the endpoint's schema: 422 with FastAPI's list of issues as `detail`. */
export class RequestValidationError extends Error {
  constructor(readonly issues: ValidationIssue[]) {
    super(issues.map((i) => `${i.loc.join('.')}: ${i.msg}`).join('; '));
  }
}

/** Where a REST input came from, as FastAPI's `loc` starts. */
export type WireLocation = 'query' | 'path' | 'body';

/** `conversationId` → `conversation_id`: core's names of inputs as Letta's wire spells them. */
const snakeCase = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * Refuses a request holding text the database cannot store (NUL, unpaired surrogates, too deep) in its query,
 * path or body, before any handler sees it: the same test tRPC applies (core's `unstorableInputIssue`), answered as
 * FastAPI's 422 at the wire location.
 */
export function assertStorableRequest(request: FastifyRequest, spec: QuerySpec = {}): void {
  // A repeated parameter given once is still a list: its item is named by index, as FastAPI does.
  const query = Object.fromEntries(
    Object.entries((request.query ?? {}) as Record<string, unknown>).map(([name, value]) => [
      name,
      spec[name]?.list && !Array.isArray(value) ? [value] : value,
    ]),
  );
  const inputs: [WireLocation, unknown][] = [
    ['query', query],
    ['path', request.params],
    ['body', request.body],
  ];
  for (const [where, input] of inputs) {
    const issue = unstorableInputIssue(input);
    if (issue) {
      throw new RequestValidationError([
        { type: 'value_error', loc: [where, ...issue.path], msg: `Value error, ${issue.message}` },
      ]);
    }
  }
}

/**
 * A schema error of a route's input (core's managers name inputs in camelCase) at its wire location and with its
 * wire name: a query parameter or path parameter the route has by that name, else the body.
 */
export function wireValidationError(
  error: z.ZodError,
  route: { query?: QuerySpec },
  params: Record<string, string>,
): RequestValidationError {
  return new RequestValidationError(
    error.issues.map((issue) => {
      const path = issue.path.map((p) =>
        typeof p === 'string' ? snakeCase(p) : typeof p === 'number' ? p : String(p),
      );
      const name = String(path[0] ?? '');
      const where: WireLocation = route.query && name in route.query ? 'query' : name in params ? 'path' : 'body';
      return { type: issue.code, loc: [where, ...path], msg: issue.message };
    }),
  );
}

/** Letta's plain `ValueError` answers: 400 with the message alone (e.g. `'x' is not a valid RunStatus`). */
export class ValueError extends Error {}

/** The error reply of anything a route throws; never a stack trace. */
export function errorReply(
  error: unknown,
  runtime: Runtime,
  request: FastifyRequest,
): { status: number; body: unknown } {
  const domain = domainErrorOf(error);
  if (domain) {
    if (domain.code === 'UNAVAILABLE')
      logUnavailable(runtime.logger, domain, { method: request.method, url: request.url });
    return { status: ERROR_TABLE[domain.code].http, body: { detail: lettaDetailOf(domain) } };
  }
  if (error instanceof RequestValidationError) return { status: 422, body: { detail: error.issues } };
  if (error instanceof ValueError) return { status: 400, body: { detail: error.message } };
  if (error instanceof z.ZodError) {
    return errorReply(wireValidationError(error, {}, {}), runtime, request);
  }
  const fastify = error as { statusCode?: number; code?: string; message?: string };
  if (fastify.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) {
    return { status: 422, body: { detail: [{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error' }] } };
  }
  if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    return { status: fastify.statusCode, body: { detail: fastify.message ?? 'Bad request' } };
  }
  runtime.logger.error({ err: error, method: request.method, url: request.url }, 'Letta REST request failed');
  return { status: 500, body: { detail: 'An unknown error occurred' } };
}

/** Sends `value` (already in Letta's wire format) as JSON, bigints as integer literals. */
export function sendJson(reply: FastifyReply, value: unknown, status = 200): FastifyReply {
  return reply.code(status).type('application/json').send(writeJson(value));
}

export function actorOf(runtime: Runtime, request: FastifyRequest): Promise<Actor> {
  return actorFor(runtime, request.headers.authorization);
}

/** A path id: Letta's `INVALID_ARGUMENT: Invalid run ID format: …` (400) when malformed. */
export function pathId(kind: IdKind, value: string): string {
  if (!isId(kind, value)) throw new InvalidArgument(invalidIdMessage(kind, value), { field: `${kind}_id` });
  return value;
}

// ---- query parameters ----------------------------------------------------------------------------------------

/** One query parameter: its zod schema (of the parsed value) and whether it repeats (`?x=a&x=b`). */
export interface QueryParam {
  schema: z.ZodType;
  list?: boolean;
  deprecated?: boolean;
}

export type QuerySpec = Record<string, QueryParam>;

export const param = {
  /** A scalar parameter. */
  one: (schema: z.ZodType, options: { deprecated?: boolean } = {}): QueryParam => ({ schema, ...options }),
  /** A repeated parameter (Letta's clients send `?agent_ids=a&agent_ids=b`). */
  list: (schema: z.ZodType, options: { deprecated?: boolean } = {}): QueryParam => ({ schema, list: true, ...options }),
};

function baseType(schema: z.core.$ZodType): string {
  const d = (
    schema as unknown as { _zod: { def: { type: string; innerType?: z.core.$ZodType; element?: z.core.$ZodType } } }
  )._zod.def;
  if (d.innerType) return baseType(d.innerType);
  if (d.type === 'array' && d.element) return baseType(d.element);
  return d.type;
}

const TRUE = new Set(['true', '1', 'yes', 'on', 't', 'y']);
const FALSE = new Set(['false', '0', 'no', 'off', 'f', 'n']);

/** A query string value as the schema's type wants it (FastAPI's coercions); unparseable values stay strings. */
function coerce(raw: string, type: string): unknown {
  if (type === 'boolean') {
    const v = raw.toLowerCase();
    return TRUE.has(v) ? true : FALSE.has(v) ? false : raw;
  }
  if (type === 'number' || type === 'int') return /^[+-]?\d+$/.test(raw.trim()) ? Number(raw) : raw;
  return raw;
}

/** Parses a request's query by `spec`; the first invalid parameters give 422 with FastAPI's issue list. */
export function parseQuery<S extends QuerySpec>(spec: S, query: unknown): { [K in keyof S]: unknown } {
  const raw = (query ?? {}) as Record<string, string | string[] | undefined>;
  const out: Record<string, unknown> = {};
  const issues: ValidationIssue[] = [];
  for (const [name, p] of Object.entries(spec)) {
    const given = raw[name];
    const type = baseType(p.schema);
    let value: unknown;
    if (given === undefined) value = undefined;
    else if (p.list) value = (Array.isArray(given) ? given : [given]).map((v) => coerce(v, type));
    // FastAPI reads the last of a repeated scalar.
    else value = coerce(Array.isArray(given) ? (given[given.length - 1] ?? '') : given, type);
    const result = p.schema.safeParse(value);
    if (result.success) out[name] = result.data;
    else {
      for (const issue of result.error.issues) {
        issues.push({
          type: issue.code,
          loc: ['query', name, ...issue.path.map(String)],
          msg: issue.message,
          input: given,
        });
      }
    }
  }
  if (issues.length) throw new RequestValidationError(issues);
  return out as { [K in keyof S]: unknown };
}

export const orderParam = (defaultOrder: Order) => param.one(z.enum(['asc', 'desc']).default(defaultOrder));
/** Letta accepts only `created_at` (and ignores it). */
export const orderByParam = param.one(z.literal('created_at').default('created_at'));
export const cursorParam = param.one(z.string().optional());
export const limitParam = (defaultLimit: number, max = 1000) =>
  param.one(z.int().min(1).max(max).default(defaultLimit));
/** Letta's paging parameters of a list: id cursors, limit, order. */
export const pageQuery = (defaultOrder: Order, defaultLimit = 100): QuerySpec => ({
  before: cursorParam,
  after: cursorParam,
  limit: limitParam(defaultLimit),
  order: orderParam(defaultOrder),
  order_by: orderByParam,
});

// ---- id cursors ----------------------------------------------------------------------------------------------

export interface IdWindowOptions<T> {
  order: Order;
  limit: number;
  /** Items after this id in `order`. */
  after: string | undefined;
  /** Items before this id in `order`. */
  before: string | undefined;
  /** The list's cursor positioned at an item (NotFound for an unknown id): core's `cursorFor`. */
  cursorFor: (id: string, order: Order) => Promise<string>;
  /** One page of the list: core's `list` with a cursor and an exclusive end bound. */
  list: (order: Order, limit: number, cursor: string | null, until: string | null) => Promise<Page<T>>;
}

/**
 * Letta's id cursors on every list (CONTRACTS §4): `after`/`before` mean after/before this id in the requested
 * order; both together, the items between them. `before` alone reads backwards from the id, so a client paging back
 * with `before=<first id of its page>` gets the page just before it (still in the requested order).
 */
export async function idWindow<T>(o: IdWindowOptions<T>): Promise<T[]> {
  if (o.before !== undefined && o.after === undefined) {
    const reverse: Order = o.order === 'asc' ? 'desc' : 'asc';
    const page = await o.list(reverse, o.limit, await o.cursorFor(o.before, reverse), null);
    return page.items.reverse();
  }
  const [cursor, until] = await Promise.all([
    o.after === undefined ? null : o.cursorFor(o.after, o.order),
    o.before === undefined ? null : o.cursorFor(o.before, o.order),
  ]);
  return (await o.list(o.order, o.limit, cursor, until)).items;
}

// ---- routes ----------------------------------------------------------------------------------------------------

/** What a route handler gets: the caller, the parsed query, the path parameters and the request. */
export interface RouteContext {
  runtime: Runtime;
  actor: Actor;
  query: Record<string, unknown>;
  params: Record<string, string>;
  request: FastifyRequest;
  reply: FastifyReply;
}

/**
 * One Letta endpoint, described once for the router and for `GET /v1/openapi.json`. A handler returns the value
 * in Letta's wire format (sent as JSON), or `undefined` when it has answered itself (the stream).
 */
export interface LettaRoute {
  method: 'GET' | 'POST' | 'DELETE' | 'PATCH';
  /** Fastify's path syntax: `/v1/runs/:run_id`. */
  url: string;
  operationId: string;
  summary: string;
  tag: 'runs' | 'steps';
  query?: QuerySpec;
  /** The JSON body's schema (Letta's names); parsed by the handler. */
  body?: z.ZodType;
  /** The answer's schema (Letta's names), or `text/event-stream` for the stream. */
  response: z.ZodType | 'text/event-stream';
  deprecated?: boolean;
  handler(ctx: RouteContext): Promise<unknown>;
}
