/**
 * A child process holding many `runs.stream` subscriptions, driven over IPC by {@link spawnSubscribers}: the
 * resource-hygiene suite measures the api's heap in its own process, without the subscribers' client state in it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRuntraceClient } from '../create-runtrace-client.ts';
import { isRunStreamEvent } from '../types.ts';

type Command =
  | { type: 'connect'; url: string; runId: string; count: number; backlog: number }
  | { type: 'leave'; count: number }
  | { type: 'exit' };

type Reply = { type: 'ok'; open: number } | { type: 'error'; message: string };

const API_DIR = fileURLToPath(new URL('../../../../apps/api/', import.meta.url));
const SELF = fileURLToPath(import.meta.url);

export interface SubscriberProcess {
  /** Opens `count` subscriptions to the run; resolves when each has received `backlog` events. */
  connect(url: string, runId: string, count: number, backlog: number): Promise<void>;
  /** Ends `count` of the open subscriptions (the oldest first). */
  leave(count: number): Promise<void>;
  stop(): Promise<void>;
}

export function spawnSubscribers(): SubscriberProcess {
  // `node --import tsx` from apps/api, where tsx resolves (as spawnApi does).
  const child: ChildProcess = fork(SELF, [], {
    cwd: API_DIR,
    execArgv: ['--conditions=@runtrace/source', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let pending: { resolve: () => void; reject: (err: Error) => void } | null = null;
  child.on('message', (reply: Reply) => {
    const p = pending;
    pending = null;
    if (reply.type === 'ok') p?.resolve();
    else p?.reject(new Error(`subscriber process: ${reply.message}`));
  });
  child.on('exit', (code) => pending?.reject(new Error(`subscriber process exited (${code})`)));
  const send = (command: Command) =>
    new Promise<void>((resolve, reject) => {
      pending = { resolve, reject };
      child.send(command);
    });
  return {
    connect: (url, runId, count, backlog) => send({ type: 'connect', url, runId, count, backlog }),
    leave: (count) => send({ type: 'leave', count }),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'exit' });
      await exited;
    },
  };
}

/** The child's side. */
async function serve() {
  const open: { unsubscribe(): void }[] = [];
  const reply = (r: Reply) => process.send?.(r);
  process.on('message', async (command: Command) => {
    try {
      if (command.type === 'exit') {
        for (const s of open) s.unsubscribe();
        process.exit(0);
      }
      if (command.type === 'leave') {
        for (const s of open.splice(0, command.count)) s.unsubscribe();
        reply({ type: 'ok', open: open.length });
        return;
      }
      const client = createRuntraceClient({ url: command.url });
      let ready = 0;
      let failure: string | null = null;
      await new Promise<void>((resolve, reject) => {
        for (let i = 0; i < command.count; i++) {
          let received = 0;
          open.push(
            client.runs.stream.subscribe(
              { runId: command.runId },
              {
                onData(message) {
                  if (isRunStreamEvent(message) && ++received === command.backlog && ++ready === command.count)
                    resolve();
                },
                onError(err) {
                  failure ??= err.message;
                  reject(new Error(failure));
                },
              },
            ),
          );
        }
        setTimeout(
          () => reject(new Error(`only ${ready} of ${command.count} subscribers got the backlog in 60 s`)),
          60_000,
        ).unref();
      });
      reply({ type: 'ok', open: open.length });
    } catch (err) {
      reply({ type: 'error', message: (err as Error).message });
    }
  });
}

if (process.argv[1] === SELF && process.send) void serve();
