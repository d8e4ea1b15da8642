/**
 * The typed client's CPU per SSE event received, by subscription path, in ONE process and alternating rounds (the
 * machine is shared: only a comparison within one run means anything):
 * - `trpc`: tRPC's httpSubscriptionLink over the eventsource ponyfill (the client before issue 17's work),
 * - `fetch`: runtrace-subscription-link.ts over fetch (what browsers, and a client given a `fetch`, use),
 * - `node`: runtrace-subscription-link.ts over node:http (what Node uses),
 * - `floor`: no client at all, node:http reading the same responses and counting their frames (what waking up and
 *   reading a socket costs this process per event: no path can go below it).
 *
 * The server is a node:http SSE server in a process of its own speaking tRPC's SSE format (`connected`, then N tracked
 * frames of a realistic run event, then `return`), writing as fast as the client reads (backpressure: it waits for
 * `drain`). The client process's CPU (`process.cpuUsage`) per event received is measured for 1 subscription and for
 * 100 concurrent ones, each path once per round, in a rotating order; medians of the rounds are printed.
 *
 * Run: `pnpm --filter @runtrace/tools exec tsx --conditions=@runtrace/source bench/client-sse-paths.ts [rounds]`
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type SubscriptionPath, subscriptionClient } from '@runtrace/client/testing/subscriptionClient';

type Path = SubscriptionPath | 'floor';
const PATHS: Path[] = ['trpc', 'fetch', 'node', 'floor'];
/** `paced`: one event per write, a timer tick apart, so that (mostly) each arrives in a chunk of its own, as live events do. */
const SCENARIOS = [
  { name: '1 subscription, burst', subscriptions: 1, events: 20_000, paced: false },
  { name: '100 subscriptions, burst', subscriptions: 100, events: 300, paced: false },
  { name: '1 subscription, paced', subscriptions: 1, events: 1000, paced: true },
  { name: '100 subscriptions, paced', subscriptions: 100, events: 100, paced: true },
];

/** A run event as runs.stream delivers it (an assistant token, as most of a run's events are). */
const frame = (runId: string, seq: number) =>
  `data: ${JSON.stringify({ messageType: 'assistant_message', id: 'm-1', content: 'token ', runId, seqId: seq })}\nid: e0:${seq}\n\n`;

function serve(): void {
  const server = http.createServer((req, res) => {
    const input = JSON.parse(new URL(req.url ?? '/', 'http://x').searchParams.get('input') ?? '{}') as {
      runId: string;
    };
    const [, , count, mode] = input.runId.split('-');
    const events = Number(count);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write('event: connected\ndata: {"reconnectAfterInactivityMs":25000}\n\n');
    let seq = 0;
    const pump = () => {
      while (seq < events) {
        seq++;
        if (mode === 'paced') {
          res.write(frame(input.runId, seq));
          setTimeout(pump, 0);
          return;
        }
        if (!res.write(frame(input.runId, seq))) {
          res.once('drain', pump);
          return;
        }
      }
      res.end('event: return\ndata: \n\n');
    };
    pump();
  });
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
}

/** The floor: one GET per subscription, the body read as text and its frames counted, nothing parsed. */
function readFrames(url: string, runId: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const input = encodeURIComponent(JSON.stringify({ runId }));
    http
      .get(`${url}/trpc/runs.stream?input=${input}`, { headers: { accept: 'text/event-stream' } }, (res) => {
        let frames = 0;
        // The last 4 characters of the previous chunk: an "\nid: " split across two chunks is counted once.
        let tail = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const text = tail + chunk;
          for (let i = text.indexOf('\nid: '); i !== -1; i = text.indexOf('\nid: ', i + 1)) frames++;
          tail = text.slice(-4);
        });
        res.on('end', () => resolve(frames));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

async function measure(
  url: string,
  path: Path,
  { subscriptions, events, paced }: { subscriptions: number; events: number; paced: boolean },
): Promise<number> {
  const start = process.cpuUsage();
  let received = 0;
  if (path === 'floor') {
    const mode = paced ? 'paced' : 'burst';
    const counts = await Promise.all(
      Array.from({ length: subscriptions }, (_, i) => readFrames(url, `run-${i}-${events}-${mode}`)),
    );
    received = counts.reduce((a, b) => a + b, 0);
  }
  const client = subscriptionClient(path === 'floor' ? 'node' : path, { url });
  await Promise.all(
    Array.from(
      { length: path === 'floor' ? 0 : subscriptions },
      (_, i) =>
        new Promise<void>((resolve, reject) => {
          let last = 0;
          client.runs.stream.subscribe(
            { runId: `run-${i}-${events}-${paced ? 'paced' : 'burst'}` },
            {
              onData(message) {
                const seq = (message as { data: { seqId: number } }).data.seqId;
                if (seq !== last + 1) reject(new Error(`${path}: seq ${seq} after ${last}`));
                last = seq;
                received++;
              },
              onError: reject,
              onComplete: () => (last === events ? resolve() : reject(new Error(`${path}: ended after ${last}`))),
            },
          );
        }),
    ),
  );
  const cpu = process.cpuUsage(start);
  if (received !== subscriptions * events) throw new Error(`${path}: ${received} events received`);
  return (cpu.user + cpu.system) / received;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 7);
  const child = fork(fileURLToPath(import.meta.url), ['serve'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m: { port: number }) => resolve(m.port)));
  const url = `http://127.0.0.1:${port}`;
  try {
    for (const scenario of SCENARIOS) {
      // Warm-up: JIT and connection pools of every path.
      for (const path of PATHS) await measure(url, path, { ...scenario, events: Math.min(scenario.events, 500) });
      const samples = new Map<Path, number[]>(PATHS.map((p) => [p, []]));
      for (let round = 0; round < rounds; round++) {
        for (let k = 0; k < PATHS.length; k++) {
          const path = PATHS[(round + k) % PATHS.length] as Path;
          samples.get(path)?.push(await measure(url, path, scenario));
        }
      }
      const base = median(samples.get('trpc') ?? []);
      console.log(
        `${scenario.name} × ${scenario.events} events, ${rounds} rounds, client CPU µs/event (median; rounds):`,
      );
      for (const path of PATHS) {
        const values = samples.get(path) ?? [];
        const m = median(values);
        console.log(
          `  ${path.padEnd(6)} ${m.toFixed(2).padStart(7)}  (${((m / base) * 100).toFixed(0)}% of trpc; ${values.map((v) => v.toFixed(1)).join(', ')})`,
        );
      }
    }
  } finally {
    child.kill();
  }
}

if (process.argv[2] === 'serve') serve();
else await main();
