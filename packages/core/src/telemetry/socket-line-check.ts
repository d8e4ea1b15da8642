import { type DecodeResult, decodeLine, ISO_TIMESTAMP } from './socket-protocol.ts';

/** {@link checkLine}'s verdict: {@link DecodeResult} without the parsed record. */
export type CheckResult = { kind: 'ok' } | Exclude<DecodeResult, { kind: 'ok' }>;

const OK: CheckResult = { kind: 'ok' };
/** Nesting deeper than this is left to JSON.parse (the fast path recurses). */
const MAX_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/** The v1 fields {@link decodeLine} checks, each a bit of the mask of fields seen. */
const FIELDS = [
  'protocol_version',
  'provider_trace_id',
  'agent_id',
  'run_id',
  'step_id',
  'tags',
  'type',
  'request',
  'response',
  'error',
  'timestamp',
] as const;
const FIELD_BYTES = FIELDS.map((name) => Buffer.from(name, 'latin1'));
const ALL_FIELDS = (1 << FIELDS.length) - 1;
const [PROTOCOL_VERSION, TRACE_ID, AGENT_ID, RUN_ID, STEP_ID, TAGS, TYPE, REQUEST, RESPONSE, ERROR, TIMESTAMP] =
  FIELDS.map((_, i) => i);

/**
 * {@link decodeLine}'s verdict on one line, without building the record: what the sidecar needs to store a line
 * as it came. A one-pass scan of the bytes accepts a well-formed v1 line (the JSON grammar checked in full, the v1
 * fields typed as decodeLine types them) without allocating; anything it is not sure of (a syntax error, another
 * version, a duplicate or escaped key, a deep nesting) goes to decodeLine, which has the last word. So it accepts
 * exactly what decodeLine accepts, and rejects with decodeLine's reason.
 */
export function checkLine(line: Uint8Array): CheckResult {
  if (fastAccepts(line)) return OK;
  const decoded = decodeLine(line);
  return decoded.kind === 'ok' ? OK : decoded;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function skipSpace(b: Uint8Array, i: number): number {
  while (i < b.length && isSpace(b[i] as number)) i++;
  return i;
}

/** Whether the line is a JSON object with every v1 field well typed, and no key escaped or repeated. */
function fastAccepts(b: Uint8Array): boolean {
  let i = skipSpace(b, 0);
  if (b[i] !== OPEN_BRACE) return false;
  let seen = 0;
  i = skipSpace(b, i + 1);
  for (;;) {
    if (b[i] !== QUOTE) return false;
    const keyStart = i + 1;
    const keyEnd = skipString(b, i) - 1;
    if (keyEnd < 0) return false;
    const field = fieldOf(b, keyStart, keyEnd);
    if (field === -2) return false; // an escaped key: decodeLine compares it unescaped
    if (field >= 0) {
      if (seen & (1 << field)) return false; // JSON.parse keeps the last one: let it judge
      seen |= 1 << field;
    }
    i = skipSpace(b, keyEnd + 1);
    if (b[i] !== COLON) return false;
    i = skipSpace(b, i + 1);
    const end = field < 0 ? skipValue(b, i, 1) : fieldEnd(b, i, field);
    if (end < 0) return false;
    i = skipSpace(b, end);
    if (b[i] === COMMA) {
      i = skipSpace(b, i + 1);
      continue;
    }
    if (b[i] !== CLOSE_BRACE) return false;
    return seen === ALL_FIELDS && skipSpace(b, i + 1) === b.length;
  }
}

/** The index in FIELDS of the key `b[start, end)`, -1 for another key, -2 for a key with an escape. */
function fieldOf(b: Uint8Array, start: number, end: number): number {
  const length = end - start;
  for (let f = 0; f < FIELD_BYTES.length; f++) {
    const name = FIELD_BYTES[f] as Buffer;
    if (name.length !== length) continue;
    let k = 0;
    while (k < length && b[start + k] === name[k]) k++;
    if (k === length) return f;
  }
  for (let k = start; k < end; k++) if (b[k] === BACKSLASH) return -2;
  return -1;
}

/** Where the value of v1 field `field` at `i` ends, or -1 when it is not the type decodeLine requires. */
function fieldEnd(b: Uint8Array, i: number, field: number): number {
  switch (field) {
    case PROTOCOL_VERSION: {
      // only the literal 1 (1.0 or 1e0 are 1 too: left to decodeLine)
      const end = skipNumber(b, i);
      return end === i + 1 && b[i] === ZERO + 1 ? end : -1;
    }
    case TRACE_ID: {
      if (b[i] !== QUOTE) return -1;
      const end = skipString(b, i);
      return end > i + 2 ? end : -1;
    }
    case AGENT_ID:
    case RUN_ID:
    case STEP_ID:
      return b[i] === QUOTE ? skipString(b, i) : skipLiteral(b, i, NULL);
    case TYPE:
      return b[i] === QUOTE ? skipString(b, i) : -1;
    case TAGS:
      return skipStringArray(b, i);
    case REQUEST:
      return b[i] === OPEN_BRACE ? skipValue(b, i, 1) : -1;
    case RESPONSE:
      return b[i] === OPEN_BRACE ? skipValue(b, i, 1) : skipLiteral(b, i, NULL);
    case ERROR:
      return skipValue(b, i, 1);
    case TIMESTAMP: {
      if (b[i] !== QUOTE) return -1;
      const end = skipString(b, i);
      if (end < 0) return -1;
      for (let k = i + 1; k < end - 1; k++) if (b[k] === BACKSLASH) return -1;
      return ISO_TIMESTAMP.test(Buffer.from(b.buffer, b.byteOffset + i + 1, end - i - 2).toString('latin1')) ? end : -1;
    }
    default:
      return -1;
  }
}

/** `["a", "b", …]`: where it ends, or -1. */
function skipStringArray(b: Uint8Array, i: number): number {
  if (b[i] !== OPEN_BRACKET) return -1;
  i = skipSpace(b, i + 1);
  if (b[i] === CLOSE_BRACKET) return i + 1;
  for (;;) {
    if (b[i] !== QUOTE) return -1;
    i = skipString(b, i);
    if (i < 0) return -1;
    i = skipSpace(b, i);
    if (b[i] === CLOSE_BRACKET) return i + 1;
    if (b[i] !== COMMA) return -1;
    i = skipSpace(b, i + 1);
  }
}

/** Where the JSON value at `i` ends, or -1 when it is not one (or is nested deeper than MAX_DEPTH). */
function skipValue(b: Uint8Array, i: number, depth: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c === OPEN_BRACE) {
    if (depth > MAX_DEPTH) return -1;
    i = skipSpace(b, i + 1);
    if (b[i] === CLOSE_BRACE) return i + 1;
    for (;;) {
      if (b[i] !== QUOTE) return -1;
      i = skipString(b, i);
      if (i < 0) return -1;
      i = skipSpace(b, i);
      if (b[i] !== COLON) return -1;
      i = skipValue(b, skipSpace(b, i + 1), depth + 1);
      if (i < 0) return -1;
      i = skipSpace(b, i);
      if (b[i] === CLOSE_BRACE) return i + 1;
      if (b[i] !== COMMA) return -1;
      i = skipSpace(b, i + 1);
    }
  }
  if (c === OPEN_BRACKET) {
    if (depth > MAX_DEPTH) return -1;
    i = skipSpace(b, i + 1);
    if (b[i] === CLOSE_BRACKET) return i + 1;
    for (;;) {
      i = skipValue(b, i, depth + 1);
      if (i < 0) return -1;
      i = skipSpace(b, i);
      if (b[i] === CLOSE_BRACKET) return i + 1;
      if (b[i] !== COMMA) return -1;
      i = skipSpace(b, i + 1);
    }
  }
  if (c === 0x74) return skipLiteral(b, i, TRUE);
  if (c === 0x66) return skipLiteral(b, i, FALSE);
  if (c === 0x6e) return skipLiteral(b, i, NULL);
  return skipNumber(b, i);
}

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

function skipLiteral(b: Uint8Array, i: number, literal: Buffer): number {
  for (let k = 0; k < literal.length; k++) if (b[i + k] !== literal[k]) return -1;
  return i + literal.length;
}

/** The JSON string at `i` (a quote): where it ends, or -1. Bytes from 0x80 up are content (decoding never fails). */
function skipString(b: Uint8Array, i: number): number {
  const n = b.length;
  i += 1;
  while (i < n) {
    const c = b[i] as number;
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      const e = b[i + 1];
      if (e === 0x75) {
        // \uXXXX
        for (let k = 2; k < 6; k++) if (!isHex(b[i + k])) return -1;
        i += 6;
        continue;
      }
      if (
        e === QUOTE ||
        e === BACKSLASH ||
        e === 0x2f ||
        e === 0x62 ||
        e === 0x66 ||
        e === 0x6e ||
        e === 0x72 ||
        e === 0x74
      ) {
        i += 2;
        continue;
      }
      return -1;
    }
    if (c < 0x20) return -1;
    i += 1;
  }
  return -1;
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= ZERO && c <= NINE) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46));
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= ZERO && c <= NINE;
}

/** `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?` at `i`: where it ends, or -1. */
function skipNumber(b: Uint8Array, i: number): number {
  if (b[i] === MINUS) i++;
  if (b[i] === ZERO) i++;
  else if (isDigit(b[i])) while (isDigit(b[i])) i++;
  else return -1;
  if (b[i] === 0x2e) {
    i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === MINUS) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  return i;
}
