import { and, type SQL, sql } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { InvalidArgument } from './errors.ts';
import { toIso } from './time.ts';

export type Order = 'asc' | 'desc';

/** A page of a list (CONTRACTS §4): `nextCursor` is null on the last page. Ready for TanStack's useInfiniteQuery. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const MAX_PAGE_SIZE = 1000;
export const DEFAULT_PAGE_SIZE = 100;

export const limitSchema = z.number().int().min(1).max(MAX_PAGE_SIZE).default(DEFAULT_PAGE_SIZE);
export const orderSchema = z.enum(['asc', 'desc']);
export const cursorSchema = z.string().min(1).max(512).nullish();

interface CursorPayload {
  /** which list the cursor belongs to, e.g. `runs` or `steps:run-…` */
  s: string;
  o: Order;
  /** the full-precision sort key of the last item: a timestamp string or a sequence number */
  k: string | number;
  id: string;
}

/** An opaque cursor that carries the exact sort key and id of the last item of a page. */
export function encodeCursor(scope: string, order: Order, key: string | number, id: string): string {
  const payload: CursorPayload = { s: scope, o: order, k: key, id };
  return Buffer.from(JSON.stringify(payload)).toString('base64url');
}

/** What a cursor's id may look like: our ids (`<prefix>-<uuid4>`) and nothing the database could choke on. */
const CURSOR_ID = /^[A-Za-z0-9_-]{1,200}$/;
/** A timestamp as {@link toIso} writes it: UTC, up to microseconds. */
const CURSOR_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?Z$/;

/** Whether `key` is a timestamp {@link toIso} could have written (a real date, year 0001 or later). */
function isCursorTimestamp(key: string): boolean {
  const m = CURSOR_TIMESTAMP.exec(key);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s);
  return (
    y >= 1 &&
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === mo - 1 &&
    date.getUTCDate() === d &&
    date.getUTCHours() === h &&
    date.getUTCMinutes() === mi &&
    date.getUTCSeconds() === s
  );
}

export function decodeCursor(cursor: string, scope: string, order: Order): { key: string | number; id: string } {
  let payload: CursorPayload;
  try {
    payload = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidArgument('Malformed cursor: pass the nextCursor of a previous page unchanged', {
      field: 'cursor',
    });
  }
  const valid =
    payload &&
    typeof payload === 'object' &&
    typeof payload.s === 'string' &&
    (payload.o === 'asc' || payload.o === 'desc') &&
    (typeof payload.k === 'string' || Number.isSafeInteger(payload.k)) &&
    typeof payload.id === 'string' &&
    CURSOR_ID.test(payload.id);
  if (!valid) {
    throw new InvalidArgument('Malformed cursor: pass the nextCursor of a previous page unchanged', {
      field: 'cursor',
    });
  }
  if (payload.s !== scope) throw new InvalidArgument('This cursor belongs to another list', { field: 'cursor' });
  if (payload.o !== order) {
    throw new InvalidArgument(`This cursor was made for order '${payload.o}', not '${order}'`, { field: 'cursor' });
  }
  return { key: payload.k, id: payload.id };
}

/** `(createdAt, id)` strictly after the cursor in the requested order. */
export function afterTimestampCursor(
  createdAt: AnyPgColumn,
  id: AnyPgColumn,
  key: string,
  cursorId: string,
  order: Order,
): SQL {
  const k = sql`${key}::timestamptz`;
  return order === 'desc'
    ? sql`(${createdAt}, ${id}) < (${k}, ${cursorId})`
    : sql`(${createdAt}, ${id}) > (${k}, ${cursorId})`;
}

/** `(createdAt, id)` strictly before the cursor in the requested order: the exclusive end of a window. */
export function beforeTimestampCursor(
  createdAt: AnyPgColumn,
  id: AnyPgColumn,
  key: string,
  cursorId: string,
  order: Order,
): SQL {
  return afterTimestampCursor(createdAt, id, key, cursorId, order === 'desc' ? 'asc' : 'desc');
}

/** The cursor positioned at a row (what a page ending on that row would hand out), for id-based cursors. */
export function timestampCursor(scope: string, order: Order, createdAt: string | Date, id: string): string {
  return encodeCursor(scope, order, toIso(createdAt), id);
}

/**
 * Where a page may end, besides its limit: an exclusive bound (a cursor of the same list and order), e.g. for the
 * Letta REST layer's `before` and `after` given together. Not on tRPC, whose lists are walked by `nextCursor`.
 */
export interface PageWindow {
  until?: string | null | undefined;
}

/** Cuts the extra row fetched to learn whether another page follows, and makes the cursor from the last item kept. */
export function toPage<R, T>(rows: R[], limit: number, map: (row: R) => T, cursorOf: (row: R) => string): Page<T> {
  const hasMore = rows.length > limit;
  const kept = hasMore ? rows.slice(0, limit) : rows;
  const last = kept[kept.length - 1];
  return { items: kept.map(map), nextCursor: hasMore && last !== undefined ? cursorOf(last) : null };
}

export interface TimestampPageOptions<R, T> {
  /** Which list: cursors of one list are refused by another. */
  scope: string;
  order: Order;
  limit: number;
  cursor: string | null | undefined;
  createdAt: AnyPgColumn;
  id: AnyPgColumn;
  /** The list's filters; the cursor condition is added to them. */
  where: SQL[];
  /** Runs the query with the combined filter, the sort and the row limit. */
  fetch: (where: SQL | undefined, orderBy: SQL[], limit: number) => Promise<R[]>;
  keyOf: (row: R) => { createdAt: string | Date; id: string };
  map: (row: R) => T;
  /** An exclusive end bound: a cursor of this list and order. */
  until?: string | null | undefined;
}

function decodeTimestampCursor(cursor: string, scope: string, order: Order): { key: string; id: string } {
  const c = decodeCursor(cursor, scope, order);
  if (typeof c.key !== 'string' || !isCursorTimestamp(c.key)) {
    throw new InvalidArgument('Malformed cursor', { field: 'cursor' });
  }
  return { key: c.key, id: c.id };
}

/** Keyset pagination over `(createdAt, id)`: exact at equal timestamps, and as fast on page 10,000 as on page 1. */
export async function timestampPage<R, T>(o: TimestampPageOptions<R, T>): Promise<Page<T>> {
  const where = [...o.where];
  if (o.cursor) {
    const c = decodeTimestampCursor(o.cursor, o.scope, o.order);
    where.push(afterTimestampCursor(o.createdAt, o.id, c.key, c.id, o.order));
  }
  if (o.until) {
    const c = decodeTimestampCursor(o.until, o.scope, o.order);
    where.push(beforeTimestampCursor(o.createdAt, o.id, c.key, c.id, o.order));
  }
  const dir = o.order === 'desc' ? sql`desc` : sql`asc`;
  const rows = await o.fetch(and(...where), [sql`${o.createdAt} ${dir}`, sql`${o.id} ${dir}`], o.limit + 1);
  return toPage(rows, o.limit, o.map, (row) => {
    const key = o.keyOf(row);
    return timestampCursor(o.scope, o.order, key.createdAt, key.id);
  });
}

/** How a null sort key travels in a cursor of {@link integerKeyPage}: no integer is written as an empty string. */
const NULL_KEY = '';
const CURSOR_INTEGER = /^-?\d{1,19}$/;
const INT8_RANGE = 2n ** 63n;

/** Whether `key` is a decimal integer a bigint column can hold (a larger one would be a database error). */
function isCursorInteger(key: string): boolean {
  return CURSOR_INTEGER.test(key) && BigInt(key) < INT8_RANGE && BigInt(key) >= -INT8_RANGE;
}

export interface IntegerKeyPageOptions<R, T> {
  /** Which list, including the sort: cursors of one list or sort are refused by another. */
  scope: string;
  order: Order;
  limit: number;
  cursor: string | null | undefined;
  /** The sort key, an integer (bigint) expression; rows where it is null come last in both orders. */
  key: SQL;
  id: AnyPgColumn;
  /** The list's filters; the cursor condition is added to them. */
  where: SQL[];
  /** Runs the query with the combined filter, the sort and the row limit. */
  fetch: (where: SQL | undefined, orderBy: SQL[], limit: number) => Promise<R[]>;
  keyOf: (row: R) => { key: bigint | number | string | null; id: string };
  map: (row: R) => T;
}

/**
 * Keyset pagination over `(key, id)` where the key is a nullable integer that may change (run totals): nulls last in
 * both orders, exact at equal keys. Keys travel as decimal strings, since bigints lose digits as JSON numbers.
 */
export async function integerKeyPage<R, T>(o: IntegerKeyPageOptions<R, T>): Promise<Page<T>> {
  const where = [...o.where];
  if (o.cursor) {
    const c = decodeCursor(o.cursor, o.scope, o.order);
    if (typeof c.key !== 'string' || (c.key !== NULL_KEY && !isCursorInteger(c.key))) {
      throw new InvalidArgument('Malformed cursor', { field: 'cursor' });
    }
    const cmp = o.order === 'desc' ? sql`<` : sql`>`;
    // Past a null key only null keys remain; past an integer key, the rest of the integers and then every null.
    where.push(
      c.key === NULL_KEY
        ? sql`(${o.key} is null and ${o.id} ${cmp} ${c.id})`
        : sql`((${o.key}, ${o.id}) ${cmp} (${c.key}::bigint, ${c.id}) or ${o.key} is null)`,
    );
  }
  const dir = o.order === 'desc' ? sql`desc` : sql`asc`;
  const rows = await o.fetch(and(...where), [sql`${o.key} ${dir} nulls last`, sql`${o.id} ${dir}`], o.limit + 1);
  return toPage(rows, o.limit, o.map, (row) => {
    const { key, id } = o.keyOf(row);
    return encodeCursor(o.scope, o.order, key == null ? NULL_KEY : String(key), id);
  });
}
