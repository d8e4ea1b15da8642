const LF = 10;
const SPACE = 32;
const COLON = 58;

/**
 * An incremental parser of an SSE body (https://html.spec.whatwg.org/multipage/server-sent-events.html), fed the
 * decoded text as it arrives, in chunks split anywhere (a CRLF included). It parses as `eventsource-parser` does (the
 * parser of the EventSource ponyfill this client used before), so a message is seen exactly as then: dispatched only
 * if it had a `data:` line, its `id` the id field of that message alone, comments and unknown fields ignored.
 *
 * Why not eventsource-parser behind an EventSource: that path made a MessageEvent per message and an EventTarget
 * dispatch; here `onFrame` is called directly, with the fields as plain strings.
 */
export class SseParser {
  readonly #onFrame: (event: string | undefined, data: string, id: string | undefined) => void;
  readonly #onRetry: ((ms: number) => void) | undefined;
  /** The incomplete last line of what was fed so far. */
  #pending = '';
  /** The previous chunk ended with a CR: a LF starting the next one belongs to that line end. */
  #afterCr = false;
  #first = true;
  #event: string | undefined = undefined;
  #data: string | undefined = undefined;
  #id: string | undefined = undefined;

  constructor(
    onFrame: (event: string | undefined, data: string, id: string | undefined) => void,
    onRetry?: (ms: number) => void,
  ) {
    this.#onFrame = onFrame;
    this.#onRetry = onRetry;
  }

  /** Parses `chunk`, dispatching every message it completes. */
  feed(chunk: string): void {
    if (this.#first) {
      if (chunk === '') return;
      this.#first = false;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    if (this.#afterCr) {
      this.#afterCr = false;
      if (chunk.charCodeAt(0) === LF) chunk = chunk.slice(1);
    }
    let text = chunk;
    if (this.#pending !== '') {
      text = this.#pending + chunk;
      this.#pending = '';
    }
    const length = text.length;
    let start = 0;
    // The next CR, searched once per chunk while there is none (the server ends lines with LF only).
    let cr = text.indexOf('\r');
    if (cr === -1) cr = length;
    while (start < length) {
      let lf = text.indexOf('\n', start);
      if (lf === -1) lf = length;
      if (cr < start) {
        cr = text.indexOf('\r', start);
        if (cr === -1) cr = length;
      }
      const end = Math.min(lf, cr);
      if (end === length) break;
      this.#line(text, start, end);
      start = end + 1;
      if (end === cr) {
        if (start === length) this.#afterCr = true;
        else if (text.charCodeAt(start) === LF) start++;
      }
    }
    if (start < length) this.#pending = start === 0 ? text : text.slice(start);
  }

  /** Forgets a partial message (a new connection starts afresh). */
  reset(): void {
    this.#pending = '';
    this.#afterCr = false;
    this.#first = true;
    this.#event = undefined;
    this.#data = undefined;
    this.#id = undefined;
  }

  #line(text: string, start: number, end: number): void {
    if (start === end) {
      const data = this.#data;
      const event = this.#event;
      const id = this.#id;
      this.#data = undefined;
      this.#event = undefined;
      this.#id = undefined;
      if (data !== undefined) this.#onFrame(event, data, id);
      return;
    }
    const first = text.charCodeAt(start);
    if (first === COLON) return;
    // The fields the server sends, without slicing out the field name.
    if (first === 100 && text.startsWith('data:', start)) {
      this.#setData(text.slice(text.charCodeAt(start + 5) === SPACE ? start + 6 : start + 5, end));
      return;
    }
    if (first === 105 && text.startsWith('id:', start)) {
      this.#setId(text.slice(text.charCodeAt(start + 3) === SPACE ? start + 4 : start + 3, end));
      return;
    }
    if (first === 101 && text.startsWith('event:', start)) {
      this.#event = text.slice(text.charCodeAt(start + 6) === SPACE ? start + 7 : start + 6, end) || undefined;
      return;
    }
    const line = text.slice(start, end);
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(line.charCodeAt(colon + 1) === SPACE ? colon + 2 : colon + 1);
    switch (field) {
      case 'data':
        this.#setData(value);
        break;
      case 'id':
        this.#setId(value);
        break;
      case 'event':
        this.#event = value || undefined;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.#onRetry?.(Number.parseInt(value, 10));
        break;
    }
  }

  #setData(value: string): void {
    this.#data = this.#data === undefined ? value : `${this.#data}\n${value}`;
  }

  #setId(value: string): void {
    if (!value.includes('\0')) this.#id = value;
  }
}
