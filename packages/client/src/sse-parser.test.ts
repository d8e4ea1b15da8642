import { describe, expect, it } from 'vitest';
import { SseParser } from './sse-parser.ts';

type Frame = { event: string | undefined; data: string; id: string | undefined };

function parse(chunks: string[]): { frames: Frame[]; retries: number[] } {
  const frames: Frame[] = [];
  const retries: number[] = [];
  const parser = new SseParser(
    (event, data, id) => frames.push({ event, data, id }),
    (ms) => retries.push(ms),
  );
  for (const chunk of chunks) parser.feed(chunk);
  return { frames, retries };
}

/** The text split at every boundary into two chunks, and into chunks of one character. */
function splits(text: string): string[][] {
  const out: string[][] = [[text], [...text]];
  for (let i = 1; i < text.length; i++) out.push([text.slice(0, i), text.slice(i)]);
  return out;
}

const RUN_EVENT = JSON.stringify({
  messageType: 'assistant_message',
  id: 'm-1',
  content: 'token é 🙂',
  runId: 'run-1',
  seqId: 1,
});

/** tRPC's SSE format as apps/api/src/sse.ts writes it. */
const TRPC_STREAM =
  'event: connected\ndata: {"reconnectAfterInactivityMs":25000}\n\n' +
  `data: ${RUN_EVENT}\nid: e0:1\n\n` +
  'event: ping\ndata: \n\n' +
  `data: {"messageType":"ping"}\nid: \n\nevent: restore-id\ndata: \nid: e0:1\n\n` +
  'event: serialized-error\ndata: {"code":-32603,"message":"x","data":{"code":"INTERNAL_SERVER_ERROR"}}\n\n' +
  'event: return\ndata: \n\n';

describe('SseParser', () => {
  // The expected frames are what eventsource-parser (the ponyfill's parser) made of the same text.
  it('parses tRPC’s SSE frames split at every byte boundary', () => {
    const expected: Frame[] = [
      { event: 'connected', data: '{"reconnectAfterInactivityMs":25000}', id: undefined },
      { event: undefined, data: RUN_EVENT, id: 'e0:1' },
      { event: 'ping', data: '', id: undefined },
      { event: undefined, data: '{"messageType":"ping"}', id: '' },
      { event: 'restore-id', data: '', id: 'e0:1' },
      {
        event: 'serialized-error',
        data: '{"code":-32603,"message":"x","data":{"code":"INTERNAL_SERVER_ERROR"}}',
        id: undefined,
      },
      { event: 'return', data: '', id: undefined },
    ];
    for (const chunks of splits(TRPC_STREAM)) expect(parse(chunks).frames).toEqual(expected);
  });

  it('takes CRLF, CR and LF line ends, a CRLF split across chunks counting once', () => {
    const lf = 'event: a\ndata: 1\nid: x\n\ndata: 2\n\n';
    const expected: Frame[] = [
      { event: 'a', data: '1', id: 'x' },
      { event: undefined, data: '2', id: undefined },
    ];
    for (const text of [lf, lf.replaceAll('\n', '\r\n'), lf.replaceAll('\n', '\r')]) {
      for (const chunks of splits(text)) expect(parse(chunks).frames).toEqual(expected);
    }
    // A lone CR at a chunk's end, then a blank LF line of the next: two line ends, so the message is dispatched.
    expect(parse(['data: 1\r', '\n\n']).frames).toEqual([{ event: undefined, data: '1', id: undefined }]);
    expect(parse(['data: 1\r', '\r']).frames).toEqual([{ event: undefined, data: '1', id: undefined }]);
  });

  it('ignores comments and unknown fields, joins data lines, reads fields without a space or a value', () => {
    const text =
      ': a comment\n:\ndata: one\ndata:two\ndata\nfoo: bar\n\n' +
      'event:custom\ndata:  two spaces\n\n' +
      'id: only-an-id\n\n' +
      'event: no-data\n\n' +
      'data: after\nid: a\0b\n\n' +
      'retry: 250\nretry: soon\ndata: x\r\n\r\n';
    const expected: Frame[] = [
      { event: undefined, data: 'one\ntwo\n', id: undefined },
      { event: 'custom', data: ' two spaces', id: undefined },
      { event: undefined, data: 'after', id: undefined },
      { event: undefined, data: 'x', id: undefined },
    ];
    for (const chunks of splits(text)) {
      const { frames, retries } = parse(chunks);
      expect(frames).toEqual(expected);
      expect(retries).toEqual([250]);
    }
  });

  it('drops a leading BOM, keeps an incomplete message until its blank line, and forgets it on reset', () => {
    expect(parse(['\uFEFFdata: 1\n\n']).frames).toEqual([{ event: undefined, data: '1', id: undefined }]);
    const frames: Frame[] = [];
    const parser = new SseParser((event, data, id) => frames.push({ event, data, id }));
    parser.feed('event: x\ndata: partial\n');
    parser.feed('data: more');
    expect(frames).toEqual([]);
    parser.reset();
    parser.feed('data: fresh\n\n');
    expect(frames).toEqual([{ event: undefined, data: 'fresh', id: undefined }]);
  });
});
