const NEWLINE = 0x0a;

export interface LineHandler {
  /** One complete line, without its newline. The buffer may share memory with the chunk it came in. */
  line(line: Buffer): void;
  /** A line longer than the cap was skipped up to its newline (or the end of the connection). */
  tooLarge(bytes: number): void;
}

/**
 * Splits a byte stream into newline-terminated lines: many lines per chunk, lines across chunks, with a cap on the
 * length of a line. Scans with `Buffer#indexOf` (memchr), never byte by byte; a line within one chunk is passed on
 * as a view of that chunk, without copying. A line over the cap is not buffered: its bytes are skipped until its
 * newline and it is reported once, and the lines after it go on as usual.
 */
export class LineSplitter {
  readonly #maxLineBytes: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  /** Skipping the rest of an over-long line; how many of its bytes were seen. */
  #skipping = false;
  #skipped = 0;

  /** @param maxLineBytes the longest line accepted, newline excluded */
  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** Bytes of a line started but not yet ended (bounded by the cap). */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  push(chunk: Buffer, out: LineHandler): void {
    let start = 0;
    const length = chunk.length;
    if (this.#skipping) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl < 0) {
        this.#skipped += length;
        return;
      }
      out.tooLarge(this.#skipped + nl);
      this.#skipping = false;
      this.#skipped = 0;
      start = nl + 1;
    } else if (this.#pendingBytes > 0) {
      const nl = chunk.indexOf(NEWLINE);
      if (nl < 0) {
        this.#hold(chunk, 0);
        return;
      }
      const total = this.#pendingBytes + nl;
      if (total > this.#maxLineBytes) {
        out.tooLarge(total);
      } else {
        this.#pending.push(chunk.subarray(0, nl));
        out.line(Buffer.concat(this.#pending, total));
      }
      this.#pending = [];
      this.#pendingBytes = 0;
      start = nl + 1;
    }
    while (start < length) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl < 0) {
        this.#hold(chunk, start);
        return;
      }
      if (nl - start > this.#maxLineBytes) out.tooLarge(nl - start);
      else if (nl > start) out.line(chunk.subarray(start, nl));
      start = nl + 1;
    }
  }

  /** The connection ended: a last line without a newline is passed on (the decoder judges it). */
  end(out: LineHandler): void {
    if (this.#skipping) out.tooLarge(this.#skipped);
    else if (this.#pendingBytes > 0) out.line(Buffer.concat(this.#pending, this.#pendingBytes));
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#skipping = false;
    this.#skipped = 0;
  }

  #hold(chunk: Buffer, start: number): void {
    const rest = chunk.length - start;
    if (this.#pendingBytes + rest > this.#maxLineBytes) {
      this.#skipping = true;
      this.#skipped = this.#pendingBytes + rest;
      this.#pending = [];
      this.#pendingBytes = 0;
      return;
    }
    // a view would pin the whole chunk (often 64 KiB) for a short tail: copy small tails
    this.#pending.push(
      rest < 4096 && chunk.length > 4 * rest ? Buffer.from(chunk.subarray(start)) : chunk.subarray(start),
    );
    this.#pendingBytes += rest;
  }
}
