import {
  type AnyTRPCRouter,
  callTRPCProcedure,
  getTRPCErrorFromUnknown,
  getTRPCErrorShape,
  TRPCError,
  type TRPCProcedureType,
  transformTRPCResponse,
} from '@trpc/server';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { serializedRunEvent } from '@runtrace/core/streams';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface ProcedureInvokerOptions<TRouter extends AnyTRPCRouter> {
  router: TRouter;
  /** The context of a request, as given to tRPC's adapter. */
  createContext: (request: FastifyRequest) => unknown;
  /** Called exactly once with every error a call answers (as tRPC's onError): the server logs internal ones. */
  onError?: (opts: { error: TRPCError; path: string }) => void;
}

/** One call's answer: its data, or its error already reported to `onError` and shaped by the router's formatter. */
export type ProcedureOutcome =
  | { ok: true; data: unknown; ctx: unknown; input: unknown }
  | { ok: false; error: TRPCError; status: number; shape: unknown; ctx: unknown; input: unknown };

export interface ProcedureCall {
  request: FastifyRequest;
  path: string;
  type: TRPCProcedureType;
  /** The input as it came over the wire (parsed JSON, not yet deserialized); undefined: none. */
  raw?: unknown;
  /** Instead of `raw`: the input's JSON text, parsed here (not JSON: PARSE_ERROR, shaped like every error). */
  rawJson?: string | undefined;
  /** Aborted when the client leaves: {@link clientAbort}, or a subscription's own. */
  signal: AbortSignal;
  /** Merged into the deserialized input, as tRPC does with an EventSource's `Last-Event-ID`. */
  lastEventId?: string | null;
}

type Procedures = Record<string, { _def?: { type?: string } } | undefined>;

/**
 * The one place the api invokes a tRPC procedure outside tRPC's adapter (fast-calls.ts for hot queries and mutations,
 * sse.ts for subscriptions): context creation, input deserialisation, `callTRPCProcedure` with the request's abort
 * signal (every middleware of trpc.ts runs: authentication, error mapping, subscription registry), and errors
 * reported once to `onError` and shaped by the router's own errorFormatter — exactly what the adapter does per call.
 * The router's internals (`_def`) are read here only.
 */
export class ProcedureInvoker<TRouter extends AnyTRPCRouter> {
  readonly #options: ProcedureInvokerOptions<TRouter>;
  readonly #config: TRouter['_def']['_config'];
  readonly #procedures: Procedures;

  /** Whether the router's transformer leaves values as they are (none was set): JSON on the wire as JSON.stringify writes it. */
  readonly #plainJson: boolean;

  constructor(options: ProcedureInvokerOptions<TRouter>) {
    this.#options = options;
    this.#config = options.router._def._config;
    this.#procedures = options.router._def.procedures as Procedures;
    const probe = {};
    this.#plainJson = this.#config.transformer.output.serialize(probe) === probe;
  }

  /** The router's procedures of one type, e.g. every subscription. */
  paths(type: TRPCProcedureType): string[] {
    return Object.keys(this.#procedures).filter((path) => this.typeOf(path) === type);
  }

  typeOf(path: string): TRPCProcedureType | undefined {
    return this.#procedures[path]?._def?.type as TRPCProcedureType | undefined;
  }

  /**
   * A value as the router's transformer puts it on the wire, as JSON text. A run event read from a store that kept
   * its JSON (core's serializedRunEvent) is not serialized again, unless a transformer would change it.
   */
  serialize(value: unknown): string {
    return this.keptJson(value) ?? JSON.stringify(this.#config.transformer.output.serialize(value));
  }

  /** The JSON a store kept for `value` (a run event), when it is what {@link serialize} would write; else undefined. */
  keptJson(value: unknown): string | undefined {
    return this.#plainJson ? serializedRunEvent(value) : undefined;
  }

  /** A whole response object (`{ result }` or `{ error }`) through the transformer, as tRPC's adapter sends it. */
  serializeResponse(outcome: ProcedureOutcome): unknown {
    const response = outcome.ok ? { result: { data: outcome.data } } : { error: outcome.shape };
    return transformTRPCResponse(this.#config, response as never);
  }

  async call({ request, path, type, raw, rawJson, signal, lastEventId }: ProcedureCall): Promise<ProcedureOutcome> {
    let ctx: unknown;
    let input: unknown = raw;
    try {
      ctx = await this.#options.createContext(request);
      if (rawJson !== undefined) {
        try {
          raw = JSON.parse(rawJson);
        } catch (cause) {
          throw new TRPCError({ code: 'PARSE_ERROR', message: 'The input is not JSON', cause });
        }
      }
      input = raw === undefined ? undefined : this.#config.transformer.input.deserialize(raw);
      if (lastEventId) {
        if (typeof input === 'object' && input !== null && !Array.isArray(input)) input = { ...input, lastEventId };
        else input ??= { lastEventId };
      }
      const data = await callTRPCProcedure({
        router: this.#options.router,
        path,
        getRawInput: async () => input,
        ctx,
        type,
        signal,
        batchIndex: 0,
      });
      return { ok: true, data, ctx, input };
    } catch (cause) {
      return this.failure(cause, { path, type, ctx, input });
    }
  }

  /** An error of a call (or of a subscription while it streams): reported once, shaped by the formatter. */
  failure(
    cause: unknown,
    { path, type, ctx, input }: { path: string; type: TRPCProcedureType; ctx: unknown; input: unknown },
  ): Extract<ProcedureOutcome, { ok: false }> {
    const error = getTRPCErrorFromUnknown(cause);
    this.#options.onError?.({ error, path });
    const shape = getTRPCErrorShape({ config: this.#config, error, type, path, input, ctx });
    return { ok: false, error, status: getHTTPStatusCodeFromError(error), shape, ctx, input };
  }
}

/**
 * Aborted when the client disconnects before its response is complete (not when the response ends normally), so that
 * a procedure still working for a client that left stops (`ctx.signal`), as through tRPC's adapter. The caller may
 * abort it too (a subscription's reader released at once when its stream ends).
 */
export function clientAbort(reply: FastifyReply): AbortController {
  const controller = new AbortController();
  const res = reply.raw;
  res.once('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller;
}
