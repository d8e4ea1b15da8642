import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  SUBSCRIBERS_SCRIPT,
  type SubscriberClient,
  type SubscriberCommand,
  type SubscriberReply,
} from './stream-subscribers.ts';

/** `apps/tools`, where tsx resolves for the subscriber process. */
const TOOLS_DIR = fileURLToPath(new URL('../', import.meta.url));

/** One subscriber process, driven over IPC (bench/stream-subscribers.ts). */
function forkSubscriber() {
  const child: ChildProcess = fork(SUBSCRIBERS_SCRIPT, [], {
    cwd: TOOLS_DIR,
    execArgv: ['--conditions=@runtrace/source', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies: SubscriberReply[] = [];
  let wake: (() => void) | null = null;
  let received = 0;
  child.on('message', (reply: SubscriberReply) => {
    if (reply.type === 'progress') {
      received = reply.received;
      return;
    }
    replies.push(reply);
    wake?.();
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
    wake?.();
  });
  const next = async <T extends SubscriberReply['type']>(type: T): Promise<Extract<SubscriberReply, { type: T }>> => {
    for (;;) {
      const reply = replies.shift();
      if (reply?.type === 'error') throw new Error(`subscriber process: ${reply.message}`);
      if (reply?.type === type) return reply as Extract<SubscriberReply, { type: T }>;
      if (exited) throw new Error('the subscriber process exited');
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = null;
    }
  };
  return {
    pid: child.pid as number,
    send: (command: SubscriberCommand) => child.send(command),
    received: () => received,
    next,
    stop: () => {
      if (!exited) child.kill('SIGTERM');
    },
  };
}

/**
 * The subscribers, dealt round-robin over `processes` processes (as real subscribers are spread over many clients;
 * one event loop holding them all would itself queue each event behind a hundred deliveries).
 */
export function forkSubscribers(processes: number) {
  const children = Array.from({ length: processes }, () => forkSubscriber());
  const merged = async <T extends SubscriberReply['type']>(type: T) => Promise.all(children.map((c) => c.next(type)));
  return {
    pids: children.map((c) => c.pid),
    /** Subscribes, one subscription per entry of `runIds`; resolves when each has read its run's warm-up event. */
    async subscribe(url: string, runIds: string[], client: SubscriberClient): Promise<number> {
      const t0 = performance.now();
      children.forEach((c, i) => {
        c.send({ type: 'subscribe', url, runIds: runIds.filter((_, k) => k % children.length === i), client });
      });
      await merged('subscribed');
      return performance.now() - t0;
    },
    timing(on: boolean) {
      for (const c of children) c.send({ type: 'timing', on });
    },
    /** Starts or stops the processes' reports of their received events (see {@link received}). */
    progress(on: boolean) {
      for (const c of children) c.send({ type: 'progress', on });
    },
    /** Events received by every subscription, as last reported (every PROGRESS_INTERVAL_MS while progress is on). */
    received: () => children.reduce((sum, c) => sum + c.received(), 0),
    async finish(expected: Record<string, number>, timeoutMs: number) {
      for (const c of children) c.send({ type: 'finish', expected, timeoutMs });
      const replies = await merged('finished');
      return {
        latencies: replies.flatMap((r) => r.latencies),
        deliveries: replies.reduce((sum, r) => sum + r.deliveries, 0),
        problems: replies.flatMap((r) => r.problems),
      };
    },
    stop() {
      for (const c of children) c.stop();
    },
  };
}

export type Subscribers = ReturnType<typeof forkSubscribers>;
