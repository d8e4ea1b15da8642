import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { Conflict, InvalidArgument } from './errors.ts';

/** Letta's id prefixes: `<prefix>-<uuid4>`. */
export const ID_PREFIXES = {
  run: 'run',
  step: 'step',
  message: 'message',
  agent: 'agent',
  organization: 'org',
  user: 'user',
  providerTrace: 'provider_trace',
  apiKey: 'apikey',
  price: 'price',
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

const UUID4 = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
const patterns = Object.fromEntries(
  Object.entries(ID_PREFIXES).map(([kind, prefix]) => [kind, new RegExp(`^${prefix}-${UUID4}$`)]),
) as Record<IdKind, RegExp>;

const labels: Record<IdKind, string> = {
  run: 'run',
  step: 'step',
  message: 'message',
  agent: 'agent',
  organization: 'organization',
  user: 'user',
  providerTrace: 'provider trace',
  apiKey: 'API key',
  price: 'price',
};

export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}-${randomUUID()}`;
}

export function isId(kind: IdKind, value: string): boolean {
  return patterns[kind].test(value);
}

/** The message Letta gives for a malformed id: `Invalid run ID format: x. Expected format: 'run-<uuid4>'`. */
export function invalidIdMessage(kind: IdKind, value: string): string {
  const label = labels[kind];
  return `Invalid ${label} ID format: ${value}. Expected format: '${ID_PREFIXES[kind]}-<uuid4>'`;
}

/** Throws InvalidArgument unless `value` is a well-formed id of `kind`. */
export function assertId(kind: IdKind, value: string, field = `${kind}Id`): string {
  if (!isId(kind, value)) throw new InvalidArgument(invalidIdMessage(kind, value), { field });
  return value;
}

/** A zod string that must be a well-formed id of `kind`; the issue message is Letta's. */
export function idSchema(kind: IdKind) {
  return z.string().refine((v) => isId(kind, v), { error: (issue) => invalidIdMessage(kind, String(issue.input)) });
}

/**
 * The answer for a client-chosen id that is taken, by an object of the caller's organization with other content or by
 * any object of another organization: one error, byte for byte, that says neither whose the id is nor what it holds
 * (CONTRACTS §3). Callers reach it by the same queries in both cases, so its timing tells nothing either.
 */
export function idTaken(id: string, field = 'id'): Conflict {
  return new Conflict(`id ${id} is already taken; choose another id`, { field });
}
