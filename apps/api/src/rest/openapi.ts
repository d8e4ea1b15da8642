/** `GET /v1/openapi.json`: the Letta REST endpoints described from the same route table and zod schemas they use. */
import { z } from 'zod';
import type { LettaRoute } from './shared.ts';

type JsonSchema = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as JsonSchema;
  return rest;
}

const errorSchema: JsonSchema = {
  type: 'object',
  properties: { detail: { description: 'a message, or for 422 the list of validation issues' } },
  required: ['detail'],
};

const ERRORS: Record<string, string> = {
  '400': 'Malformed id or invalid value (`INVALID_ARGUMENT: …`)',
  '401': 'Missing or invalid API key (`Authorization: Bearer <key>`) when one is required',
  '404': 'Unknown id (or another organization’s), or unknown cursor id',
  '422': 'Request validation failed',
};

const EXTRA_ERRORS: Record<string, Record<string, string>> = {
  retrieve_trace_for_run: { '501': 'ClickHouse is switched off (CLICKHOUSE_URL=off)', '503': 'ClickHouse unavailable' },
  retrieve_stream_for_run: {
    '410': 'EXPIRED: the run was created more than 3 hours ago (or its stream is past retention)',
    '503': 'The stream store (Redis) is unavailable',
  },
};

/** `/v1/runs/:run_id` → `/v1/runs/{run_id}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z_]+)/g, '{$1}');
}

export function openApiDocument(routes: readonly LettaRoute[], version: string): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openApiPath(route.url);
    const pathParams = [...route.url.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }));
    const queryParams = Object.entries(route.query ?? {}).map(([name, p]) => ({
      name,
      in: 'query',
      required: false,
      ...(p.deprecated ? { deprecated: true } : {}),
      ...(p.list ? { style: 'form', explode: true } : {}),
      schema: jsonSchema(p.schema, 'input'),
    }));
    const ok =
      route.response === 'text/event-stream'
        ? {
            description:
              'Server-Sent Events: `data: <LettaStreamingResponse JSON>` per event (seq_id, run_id filled in), `event: error` for an error message, LettaPing keepalives, `data: [DONE]` at the end',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          }
        : { description: 'OK', content: { 'application/json': { schema: jsonSchema(route.response, 'output') } } };
    const errors = { ...ERRORS, ...EXTRA_ERRORS[route.operationId] };
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      ...(route.deprecated ? { deprecated: true } : {}),
      parameters: [...pathParams, ...queryParams],
      ...(route.body
        ? {
            requestBody: {
              required: false,
              content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
            },
          }
        : {}),
      responses: {
        '200': ok,
        ...Object.fromEntries(
          Object.entries(errors).map(([status, description]) => [
            status,
            { description, content: { 'application/json': { schema: errorSchema } } },
          ]),
        ),
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Runtrace — Letta-compatible runs and steps API',
      version,
      description:
        "Letta's `/v1/runs` and `/v1/steps` endpoints with Letta's JSON. Nanosecond fields are JSON integers (int64).",
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'a Runtrace API key' } },
    },
    security: [{ bearerAuth: [] }, {}],
    paths,
  };
}
