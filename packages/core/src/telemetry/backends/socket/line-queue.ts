import { Tally } from '../../tally.ts';

/** Queued lines taken for one write on `conn`, with their organizations. */
export interface Chunk<C> {
  /** The lines: a view of the block they were encoded into (never a copy). */
  data: Buffer;
  records: number;
  bytes: number;
  orgs: Tally;
  conn: C;
}

/** UTF-8 takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2 units). */
const MAX_UTF8_PER_UNIT = 3;

/**
 * The socket backend's bounded queue of encoded lines and their organizations, oldest first. Beyond `maxRecords` or
 * `maxBytes` the oldest line is dropped and counted in `dropped`. `#head` is the oldest, a moving index: dropping and
 * sending are O(1).
 *
 * Lines are encoded straight into blocks of `blockBytes` (a line given as string pieces is copied once, as UTF-8, and
 * never again): a block's lines are contiguous, so a chunk to write is a view of its block. A region handed to the
 * socket is never written again (appends go after it), and a block is freed by the GC once no line nor write holds it.
 */
export class LineQueue {
  /** Per line, oldest first from `#head`: its block, where it starts and ends in it, its organization. */
  #blocks: (Buffer | undefined)[] = [];
  #starts: number[] = [];
  #ends: number[] = [];
  #orgs: (string | undefined)[] = [];
  #head = 0;
  #bytes = 0;
  /** The block lines are appended to, and how much of it is used (by lines queued or already taken). */
  #block: Buffer | null = null;
  #used = 0;

  constructor(
    readonly maxRecords: number,
    readonly maxBytes: number,
    readonly dropped: Tally,
    /** The size of the blocks lines are encoded into; a chunk never spans two. @default 256 KiB */
    readonly blockBytes = 256 * 1024,
  ) {}

  /** Lines waiting. */
  get length(): number {
    return this.#blocks.length - this.#head;
  }

  /** Bytes of the lines waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Queues the line that `pieces` make, end to end (UTF-8), for `org`. */
  push(pieces: readonly string[], org: string): void {
    let units = 0;
    for (const piece of pieces) units += piece.length;
    let block = this.#block;
    let start = this.#used;
    if (block === null || units * MAX_UTF8_PER_UNIT > block.length - start) {
      // the cheap bound does not fit: measure exactly (once per block, or for a large line)
      let size = 0;
      for (const piece of pieces) size += Buffer.byteLength(piece, 'utf8');
      if (size > this.maxBytes) {
        this.dropped.add(org);
        return;
      }
      if (block === null || size > block.length - start) {
        if (size > this.blockBytes / 2) {
          // a large line gets a block of its own; the current block stays open for the lines after it
          this.#append(Buffer.allocUnsafeSlow(size), 0, pieces, org);
          return;
        }
        block = Buffer.allocUnsafeSlow(this.blockBytes);
        this.#block = block;
        start = 0;
        this.#used = 0;
      }
    }
    const end = this.#append(block, start, pieces, org);
    if (end >= 0) this.#used = end;
  }

  /** Writes the line at `start` of `block` and queues it; returns where it ends, or -1 when it was dropped. */
  #append(block: Buffer, start: number, pieces: readonly string[], org: string): number {
    let end = start;
    for (const piece of pieces) end += block.write(piece, end);
    const size = end - start;
    if (size > this.maxBytes) {
      this.dropped.add(org);
      return -1;
    }
    while (this.#blocks.length - this.#head >= this.maxRecords || this.#bytes + size > this.maxBytes) {
      const h = this.#head;
      this.dropped.add(this.#orgs[h] as string);
      this.#bytes -= (this.#ends[h] as number) - (this.#starts[h] as number);
      this.#blocks[h] = undefined;
      this.#orgs[h] = undefined;
      this.#head += 1;
    }
    if (this.#head > 4096 && this.#head * 2 >= this.#blocks.length) this.#compact();
    this.#blocks.push(block);
    this.#starts.push(start);
    this.#ends.push(end);
    this.#orgs.push(org);
    this.#bytes += size;
    return end;
  }

  /**
   * Takes the oldest lines, up to `chunkBytes` of them (a single larger line goes alone) and all from one block; the
   * queue is not empty.
   */
  take<C>(chunkBytes: number, conn: C): Chunk<C> {
    const head = this.#head;
    const block = this.#blocks[head] as Buffer;
    const start = this.#starts[head] as number;
    let end = head;
    const orgs = new Tally();
    while (end < this.#blocks.length && this.#blocks[end] === block) {
      if (end > head && (this.#ends[end] as number) - start > chunkBytes) break;
      orgs.add(this.#orgs[end] as string);
      this.#blocks[end] = undefined;
      this.#orgs[end] = undefined;
      end += 1;
    }
    const stop = this.#ends[end - 1] as number;
    this.#head = end;
    this.#bytes -= stop - start;
    if (this.#head === this.#blocks.length) this.#reset();
    return { data: block.subarray(start, stop), records: end - head, bytes: stop - start, orgs, conn };
  }

  /** Drops every line waiting, counted. */
  dropAll(): void {
    for (let i = this.#head; i < this.#blocks.length; i++) this.dropped.add(this.#orgs[i] as string);
    this.#reset();
    this.#bytes = 0;
  }

  #compact(): void {
    this.#blocks = this.#blocks.slice(this.#head);
    this.#starts = this.#starts.slice(this.#head);
    this.#ends = this.#ends.slice(this.#head);
    this.#orgs = this.#orgs.slice(this.#head);
    this.#head = 0;
  }

  /** The queue is empty (the current block stays: its free space still takes lines). */
  #reset(): void {
    this.#blocks = [];
    this.#starts = [];
    this.#ends = [];
    this.#orgs = [];
    this.#head = 0;
  }
}
