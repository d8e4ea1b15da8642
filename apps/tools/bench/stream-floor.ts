/**
 * The live-stream floor (issue 17): the least work any server on this stack must do to deliver a run's stream. A raw
 * node:http SSE server, in a process of its own, answering the GET the typed client sends
 * (`/trpc/runs.stream?input={"runId":…}`): it subscribes (one Pub/Sub connection for every run, as the api's hub does)
 * to the channel the write script publishes each entry on, sends the run's backlog (XRANGE) once subscribed, then
 * relays each published entry as one SSE frame (`data: <event with runId and seqId>`, `id: <epoch>:<seq>`) built once
 * and written to every subscriber of the run; the end marker as `event: return`. No tRPC, no auth, no Postgres, no
 * JSON.parse of the event: the data is spliced.
 *
 *   node --import tsx bench/stream-floor.ts <redis url>
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connectRedis, redisOptions, streamKey } from '@runtrace/core/internal';
import { reportListening } from './floor-process.ts';

export const STREAM_FLOOR_SCRIPT = fileURLToPath(import.meta.url);

interface Subscriber {
  response: http.ServerResponse;
  /** The last seq its backlog held: live frames up to it are already sent. */
  after: number;
  /** Live frames wait until the backlog is written. */
  live: boolean;
}

interface Run {
  runId: string;
  subscribers: Set<Subscriber>;
  subscribed: Promise<unknown>;
}

const END_FRAME = 'event: return\ndata: \n\n';

/** `data:` and `id:` of an entry: the event's JSON with runId and seqId spliced in (no parse, no stringify). */
function eventFrame(runId: string, epoch: string, seq: number, data: string): string {
  const body = data.length > 2 ? `${data.slice(0, -1)},` : '{';
  return `data: ${body}"runId":${JSON.stringify(runId)},"seqId":${seq}}\nid: ${epoch}:${seq}\n\n`;
}

async function main(redisUrl: string) {
  const sub = await connectRedis(redisUrl, redisOptions('runtrace-bench-floor-sub'));
  const cmd = await connectRedis(redisUrl, redisOptions('runtrace-bench-floor'));
  const runs = new Map<string, Run>();

  sub.on('message', (channel: string, message: string) => {
    const run = runs.get(channel);
    if (!run) return;
    // `<seq>-<sub> <epoch> <t> <end 0|1> <sr>\n<data>` (redis-scripts.ts); the bench's appends are small, so never
    // a range notice (`~ first last`).
    const nl = message.indexOf('\n');
    const header = message.slice(0, nl).split(' ');
    const seq = Number.parseInt(header[0] as string, 10);
    const frame =
      header[3] === '1' ? END_FRAME : eventFrame(run.runId, header[1] as string, seq, message.slice(nl + 1));
    for (const s of run.subscribers) {
      if (s.live && (seq > s.after || frame === END_FRAME)) s.response.write(frame);
    }
  });

  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://floor');
    const runId = (JSON.parse(url.searchParams.get('input') ?? '{}') as { runId?: string }).runId;
    if (!runId) {
      response.writeHead(400).end('runId');
      return;
    }
    const key = streamKey(runId);
    let run = runs.get(key);
    if (!run) {
      run = { runId, subscribers: new Set(), subscribed: sub.subscribe(key) };
      runs.set(key, run);
    }
    const subscriber: Subscriber = { response, after: 0, live: false };
    run.subscribers.add(subscriber);
    const current = run;
    response.on('close', () => {
      current.subscribers.delete(subscriber);
      if (current.subscribers.size === 0 && runs.get(key) === current) {
        runs.delete(key);
        void sub.unsubscribe(key).catch(() => {});
      }
    });
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    await current.subscribed;
    // Subscribed first, then the backlog: nothing written meanwhile is missed (live frames it holds are skipped).
    const backlog = (await cmd.xrange(key, '-', '+')) as [string, string[]][];
    let frames = '';
    for (const [id, fields] of backlog) {
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] as string, fields[i + 1] as string);
      const seq = Number(f.get('seq'));
      frames += f.get('end') === '1' ? END_FRAME : eventFrame(runId, f.get('epoch') ?? '', seq, f.get('data') ?? '{}');
      if (id.endsWith('-0')) subscriber.after = seq;
    }
    if (frames) response.write(frames);
    subscriber.live = true;
  });
  server.listen(0, '127.0.0.1', () => reportListening((server.address() as AddressInfo).port));
  process.once('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    sub.disconnect();
    cmd.disconnect();
    process.exit(0);
  });
}

if (process.argv[1] === STREAM_FLOOR_SCRIPT) {
  const [redisUrl] = process.argv.slice(2);
  if (!redisUrl) throw new Error('usage: stream-floor.ts <redis url>');
  void main(redisUrl);
}
