/**
 * Letta's wire format, derived from core's zod schemas so that tRPC and the Letta REST layer cannot drift:
 * keys in snake_case, nanosecond fields (core's `nanosecondsOutputSchema`, decimal strings on tRPC) as JSON integers,
 * and every field present (null when absent), as Letta's pydantic models serialise. User data (metadata, token
 * details, request/response JSON) is a record in the schema and keeps its keys as they were stored.
 */
import { nanosecondsOutputSchema } from '@runtrace/core/runs';
import { z } from 'zod';

type AnySchema = z.core.$ZodType;

/** `toolCallId` → `tool_call_id`. */
export function snakeCase(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** A schema in Letta's wire format, and the conversion of a value of the core schema into it. */
export interface LettaShape {
  /** The snake_case schema (for OpenAPI: `z.toJSONSchema`). */
  schema: z.ZodType;
  /** A core value (camelCase) → its Letta JSON value; nanoseconds become bigints (see {@link writeJson}). */
  convert(value: unknown): unknown;
}

const identity = (value: unknown) => value;

function def(schema: AnySchema): { type: string } & Record<string, unknown> {
  return (schema as unknown as { _zod: { def: { type: string } & Record<string, unknown> } })._zod.def;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const shapes = new WeakMap<AnySchema, LettaShape>();

/** Letta's shape of a core (camelCase) schema; memoised per schema. */
export function lettaShape(schema: AnySchema): LettaShape {
  let shape = shapes.get(schema);
  if (!shape) {
    shape = build(schema);
    shapes.set(schema, shape);
  }
  return shape;
}

function build(schema: AnySchema): LettaShape {
  if (schema === nanosecondsOutputSchema) {
    return {
      schema: z.int().min(0).meta({ format: 'int64', description: 'nanoseconds' }),
      convert: (value) => (typeof value === 'string' ? BigInt(value) : value),
    };
  }
  const d = def(schema);
  switch (d.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch': {
      const inner = lettaShape(d.innerType as AnySchema);
      const wrapped =
        d.type === 'optional'
          ? inner.schema.optional()
          : d.type === 'nullable'
            ? inner.schema.nullable()
            : inner.schema;
      return { schema: wrapped, convert: (value) => (value == null ? null : inner.convert(value)) };
    }
    case 'pipe':
      return lettaShape(d.out as AnySchema);
    case 'object': {
      const fields = Object.entries(d.shape as Record<string, AnySchema>).map(
        ([key, field]) => [key, snakeCase(key), lettaShape(field)] as const,
      );
      const loose = (d.catchall as AnySchema | undefined) && def(d.catchall as AnySchema).type === 'unknown';
      const snakeShape = Object.fromEntries(fields.map(([, snake, s]) => [snake, s.schema]));
      return {
        schema: loose ? z.looseObject(snakeShape) : z.object(snakeShape),
        convert(value) {
          if (!isPlainObject(value)) return value;
          const out: Record<string, unknown> = {};
          for (const [key, snake, s] of fields) out[snake] = value[key] == null ? null : s.convert(value[key]);
          if (loose) {
            for (const [key, v] of Object.entries(value)) if (!(key in (d.shape as object))) out[key] = v;
          }
          return out;
        },
      };
    }
    case 'array': {
      const element = lettaShape(d.element as AnySchema);
      return {
        schema: z.array(element.schema),
        convert: (value) => (Array.isArray(value) ? value.map((v) => element.convert(v)) : value),
      };
    }
    case 'union': {
      const options = (d.options as AnySchema[]).map((o) => ({ source: o, shape: lettaShape(o) }));
      const discriminator = d.discriminator as string | undefined;
      if (discriminator) {
        const snakeKey = snakeCase(discriminator);
        const byValue = new Map<unknown, LettaShape>();
        for (const o of options) {
          const literal = def((def(o.source).shape as Record<string, AnySchema>)[discriminator] as AnySchema);
          for (const v of literal.values as unknown[]) byValue.set(v, o.shape);
        }
        return {
          schema: z.discriminatedUnion(snakeKey, options.map((o) => o.shape.schema) as never),
          convert: (value) =>
            isPlainObject(value) ? (byValue.get(value[discriminator])?.convert(value) ?? value) : value,
        };
      }
      // Without a discriminator (e.g. content: a string or a list of parts): by the value's kind.
      const kindOf = (s: AnySchema) => def(s).type;
      return {
        schema: z.union(options.map((o) => o.shape.schema) as never),
        convert(value) {
          const wanted = Array.isArray(value) ? 'array' : isPlainObject(value) ? 'object' : null;
          const option = wanted && options.find((o) => unwrapType(o.source) === wanted);
          return option ? option.shape.convert(value) : value;
        },
      };
      function unwrapType(s: AnySchema): string {
        const t = kindOf(s);
        return ['optional', 'nullable', 'default', 'readonly'].includes(t)
          ? unwrapType(def(s).innerType as AnySchema)
          : t;
      }
    }
    default:
      // Leaves (strings, numbers, enums, literals) and user data (records, unknown) pass unchanged.
      return { schema: schema as z.ZodType, convert: identity };
  }
}

/**
 * JSON text of a value whose integers may exceed 2^53: bigints are written as integer literals (JSON.stringify
 * refuses them). Undefined object fields are left out, as JSON.stringify does.
 */
export function writeJson(value: unknown): string {
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : writeJson(v))).join(',')}]`;
      const json = (value as { toJSON?: () => unknown }).toJSON;
      if (typeof json === 'function') return writeJson(json.call(value));
      const parts: string[] = [];
      for (const [key, v] of Object.entries(value)) {
        if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
        parts.push(`${JSON.stringify(key)}:${writeJson(v)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      return JSON.stringify(value) ?? 'null';
  }
}
