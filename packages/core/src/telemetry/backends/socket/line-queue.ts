import { Tally } from '../../tally.ts';

/** Queued lines taken for one write on `conn`, with their organizations. */
export interface Chunk<C> {
  /** The lines, one buffer (a single line is not copied). */
  data: Buffer;
  records: number;
  bytes: number;
  orgs: Tally;
  conn: C;
}

/**
 * The socket backend's bounded queue of encoded lines and their organizations, oldest first. Beyond `maxRecords` or
 * `maxBytes` the oldest line is dropped and counted in `dropped`. `#head` is the oldest, a moving index: dropping and
 * sending are O(1).
 */
export class LineQueue {
  #lines: (Buffer | undefined)[] = [];
  #orgs: (string | undefined)[] = [];
  #head = 0;
  #bytes = 0;

  constructor(
    readonly maxRecords: number,
    readonly maxBytes: number,
    readonly dropped: Tally,
  ) {}

  /** Lines waiting. */
  get length(): number {
    return this.#lines.length - this.#head;
  }

  /** Bytes of the lines waiting. */
  get bytes(): number {
    return this.#bytes;
  }

  push(line: Buffer, org: string): void {
    if (line.length > this.maxBytes) {
      this.dropped.add(org);
      return;
    }
    while (this.#lines.length - this.#head >= this.maxRecords || this.#bytes + line.length > this.maxBytes) {
      const oldest = this.#lines[this.#head];
      this.dropped.add(this.#orgs[this.#head] as string);
      this.#lines[this.#head] = undefined;
      this.#orgs[this.#head] = undefined;
      this.#head += 1;
      this.#bytes -= oldest?.length ?? 0;
    }
    if (this.#head > 4096 && this.#head * 2 >= this.#lines.length) {
      this.#lines = this.#lines.slice(this.#head);
      this.#orgs = this.#orgs.slice(this.#head);
      this.#head = 0;
    }
    this.#lines.push(line);
    this.#orgs.push(org);
    this.#bytes += line.length;
  }

  /** Takes the oldest lines, up to `chunkBytes` of them (a single larger line goes alone); the queue is not empty. */
  take<C>(chunkBytes: number, conn: C): Chunk<C> {
    let end = this.#head;
    let bytes = 0;
    while (end < this.#lines.length) {
      const size = (this.#lines[end] as Buffer).length;
      if (end > this.#head && bytes + size > chunkBytes) break;
      bytes += size;
      end += 1;
    }
    const parts = this.#lines.slice(this.#head, end) as Buffer[];
    const orgs = new Tally();
    for (let i = this.#head; i < end; i++) orgs.add(this.#orgs[i] as string);
    this.#lines.fill(undefined, this.#head, end);
    this.#orgs.fill(undefined, this.#head, end);
    this.#head = end;
    this.#bytes -= bytes;
    if (this.#head === this.#lines.length) this.#reset();
    const data = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, bytes);
    return { data, records: parts.length, bytes, orgs, conn };
  }

  /** Drops every line waiting, counted. */
  dropAll(): void {
    for (let i = this.#head; i < this.#lines.length; i++) this.dropped.add(this.#orgs[i] as string);
    this.#reset();
    this.#bytes = 0;
  }

  #reset(): void {
    this.#lines = [];
    this.#orgs = [];
    this.#head = 0;
  }
}
