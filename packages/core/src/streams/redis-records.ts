import type { StopReason } from '../runs/status.ts';
import { streamedRunEvent } from './run-event.ts';
import { formatEventId, type StreamInfo, type StreamItem } from './run-stream.ts';

/** One stream entry, parsed. */
export interface Entry {
  id: string;
  /** `<seq>-0` for events, `<seq>-1` for the end marker. */
  sub: number;
  epoch: string;
  seq: number;
  t: number;
  sr: string;
  end: boolean;
  data: string | undefined;
  /** What readers yield for it, made once and shared by every reader of the entry (see {@link itemOf}). */
  item?: StreamItem;
}

export type RawEntry = [id: string, fields: string[]];

export function parseEntry([id, fields]: RawEntry): Entry {
  const entry: Entry = { id, sub: 0, epoch: '', seq: 0, t: 0, sr: '', end: false, data: undefined };
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const v = fields[i + 1] as string;
    switch (fields[i]) {
      case 'epoch':
        entry.epoch = v;
        break;
      case 'seq':
        entry.seq = Number(v);
        break;
      case 't':
        entry.t = Number(v);
        break;
      case 'sr':
        entry.sr = v;
        break;
      case 'end':
        entry.end = v === '1';
        break;
      case 'data':
        entry.data = v;
        break;
    }
  }
  entry.sub = Number(id.slice(id.indexOf('-') + 1));
  return entry;
}

/** A message of a run's channel: an entry just written, or the range of entries to read (a large append). */
export type ChannelMessage = { entry: Entry } | { from: string; to: string };

/**
 * Parses what {@link STREAM_WRITE_LUA} publishes: `<seq>-<sub> <epoch> <t> <end 0|1> <sr>` + `\n` + the data (none
 * for the end marker), or `~ <first id> <last id>`. Null for anything else (ignored).
 */
export function parseMessage(message: string): ChannelMessage | null {
  const nl = message.indexOf('\n');
  if (nl < 0) {
    const [tilde, from, to] = message.split(' ');
    return tilde === '~' && from && to ? { from, to } : null;
  }
  const [id, epoch, t, end, sr] = message.slice(0, nl).split(' ');
  const dash = id?.indexOf('-') ?? -1;
  if (!id || dash < 0 || !epoch || sr === undefined) return null;
  const isEnd = end === '1';
  return {
    entry: {
      id,
      sub: Number(id.slice(dash + 1)),
      epoch,
      seq: Number(id.slice(0, dash)),
      t: Number(t),
      sr,
      end: isEnd,
      data: isEnd ? undefined : message.slice(nl + 1),
    },
  };
}

const END_ITEM: StreamItem = { kind: 'end' };

/**
 * The item readers yield for an entry: its event parsed once, with the run and position filled in (and its JSON kept,
 * see streamedRunEvent), and shared by every reader of the entry. Readers must not modify it.
 */
export function itemOf(entry: Entry, runId: string): StreamItem {
  if (entry.item) return entry.item;
  let item: StreamItem;
  if (entry.end) item = END_ITEM;
  else {
    item = { kind: 'event', id: formatEventId(entry), event: streamedRunEvent(entry.data ?? '{}', runId, entry.seq) };
  }
  entry.item = item;
  return item;
}

/** A stream's state from its last entry (`XREVRANGE key + - COUNT 1`); null when the stream does not exist. */
export function infoOf(raw: RawEntry[]): StreamInfo | null {
  const last = raw[0] ? parseEntry(raw[0]) : null;
  if (!last) return null;
  return {
    head: { epoch: last.epoch, seq: last.seq },
    ended: last.end,
    stopReason: (last.sr || null) as StopReason | null,
    lastWriteAt: last.t,
  };
}

/** Orders entry ids `<seq>-<sub>`. */
export function afterId(entry: Entry, seq: number, sub: number): boolean {
  return entry.seq > seq || (entry.seq === seq && entry.sub > sub);
}
