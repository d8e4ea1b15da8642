/**
 * One fuzz case against the api, and what must hold of its answer: no 5xx; a rejection names its field; another
 * organization's id answers exactly as an unknown id; an accepted write stays readable.
 */
import { newId } from '@runtrace/core';
import { IdRef, mapLeaves, resolve } from './arbitraries.ts';
import type { Answer } from './fuzz-client.ts';
import type { Generated } from './generated.ts';
import type { FuzzState } from './reads.ts';
import type { Target } from './target.ts';

export type Outcome = 'accepted' | 'rejected' | '5xx';

export interface CaseResult {
  outcome: Outcome;
  /** What went wrong, or null. */
  problem: string | null;
  /** The request as sent (ids resolved), for the report. */
  sent: unknown;
  answer: Answer;
}

function at(value: unknown, path: string): unknown {
  let v = value;
  for (const key of path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
  return v;
}

const withId = (value: unknown, from: string, to: string) => mapLeaves(value, (v) => (v === from ? to : v));

const ID = /\b(run|step|message|agent|provider_trace|price)-[0-9a-f-]{36}\b/g;
/** An answer with its ids masked: what must not differ between another organization's id and an unknown one. */
const masked = (a: Answer) =>
  JSON.stringify({ status: a.status, code: a.code, message: a.message, body: a.code ? undefined : a.text }).replace(
    ID,
    '<$1 id>',
  );

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
/** Letta's fixed wordings of a 400 that name the value instead of the parameter. */
const LETTA_400 = /ID format|is not a valid|Invalid isoformat string/;

/** Why a rejection does not name its field, or null when it does. */
export function unnamedRejection(target: Target, generated: Generated, sent: unknown, answer: Answer): string | null {
  if (!target.rest) {
    if (answer.code !== 'BAD_REQUEST') return null;
    const input = sent;
    const isObject = input !== null && typeof input === 'object' && !Array.isArray(input);
    // An input that is not an object has no field to name; in an object, '' names only a key that is itself empty.
    if (
      isObject &&
      (typeof answer.field !== 'string' || (answer.field === '' && !Object.hasOwn(input as object, '')))
    ) {
      return `BAD_REQUEST names no field (field: ${JSON.stringify(answer.field)}): ${answer.message}`;
    }
    return null;
  }
  const detail = (answer.json as { detail?: unknown } | undefined)?.detail;
  if (answer.status === 422) {
    if (!Array.isArray(detail) || !detail.length) return `422 without a list of issues: ${answer.text.slice(0, 200)}`;
    for (const issue of detail as { loc?: unknown }[]) {
      const loc = issue.loc;
      if (!Array.isArray(loc) || !loc.length) return `422 issue without loc: ${JSON.stringify(issue)}`;
      if (loc.length === 1 && loc[0] !== 'body') return `422 issue names no field: ${JSON.stringify(issue)}`;
    }
    return null;
  }
  if (answer.status === 400) {
    // OTLP answers a google.rpc.Status about the export as a whole.
    if (typeof detail !== 'string')
      return (answer.json as { message?: string } | undefined)?.message
        ? null
        : `400 without a detail: ${answer.text.slice(0, 200)}`;
    const names = Object.values((sent ?? {}) as Record<string, unknown>).flatMap((part) =>
      part && typeof part === 'object' ? Object.keys(part) : [],
    );
    if (LETTA_400.test(detail) || names.some((n) => n && (detail.includes(n) || detail.includes(camel(n)))))
      return null;
    if (generated.how === 'valid') return null; // a request valid in form refused for what it asks (not background, …)
    return `400 whose detail names no field: ${detail}`;
  }
  return null;
}

/** Sends one case and checks its answer; throws nothing (problems are returned). */
export async function checkCase(s: FuzzState, target: Target, generated: Generated): Promise<CaseResult> {
  const sent = resolve(generated.input, s.pools);
  let answer: Answer;
  try {
    answer = await target.send(s, sent);
  } catch (err) {
    // The api hung up or answered something unreadable.
    answer = { status: 599, json: undefined, text: `request failed: ${(err as Error).message}` };
  }
  const outcome: Outcome = answer.status >= 500 ? '5xx' : answer.status >= 400 ? 'rejected' : 'accepted';
  const result = (problem: string | null): CaseResult => ({ outcome, problem, sent, answer });
  if (answer.status >= 500) return result(`answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  const unnamed = unnamedRejection(target, generated, sent, answer);
  if (unnamed) return result(unnamed);

  if (generated.how === 'valid') {
    for (const path of target.lookups) {
      const ref = at(generated.input, path);
      if (!(ref instanceof IdRef) || (ref.how !== 'other' && ref.how !== 'unknown')) continue;
      // 431: a query's input travels in the URL, and Node refuses a request line past its header limit (16 KiB)
      // before the api sees it — a huge cursor beside an unknown id is refused for its size, never looked up.
      const refusedForSize = answer.status === 431 && JSON.stringify(sent).length > 8192;
      if (answer.status !== 404 && answer.status !== 400 && answer.status !== 422 && !refusedForSize) {
        return result(
          `${ref.how === 'other' ? "another organization's" : 'an unknown'} ${path} answered ${answer.status}, not 404`,
        );
      }
      if (ref.how === 'other') {
        const id = at(sent, path) as string;
        const unknown = await target.send(s, withId(sent, id, newId(ref.kind)));
        if (masked(unknown) !== masked(answer)) {
          return result(`another organization's ${path} answered ${masked(answer)}, an unknown one ${masked(unknown)}`);
        }
      }
    }
  }

  if (outcome === 'accepted' && target.after) {
    try {
      await target.after(s, sent, answer);
    } catch (err) {
      return result(`accepted, then a read failed: ${(err as Error).message}`);
    }
  }
  return result(null);
}
