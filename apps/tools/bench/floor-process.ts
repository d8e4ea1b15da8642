import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** `apps/tools`, where tsx resolves for the floor servers. */
const TOOLS_DIR = fileURLToPath(new URL('../', import.meta.url));

/** What a floor server sends its parent once it listens. */
export interface FloorReady {
  type: 'listening';
  port: number;
}

/** A floor server in a process of its own: the least work any server on this stack does for the same answer. */
export interface FloorProcess {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Forks `script` (a bench floor server: runs-list-floor.ts, stream-floor.ts) with `args` (and node's `nodeArgs`, e.g.
 * `--profile-api`'s `--cpu-prof`); resolves once it reports its port over IPC. Killed when this process exits without stopping it.
 */
export async function startFloor(script: string, args: string[], nodeArgs: string[] = []): Promise<FloorProcess> {
  const child: ChildProcess = fork(script, args, {
    cwd: TOOLS_DIR,
    execArgv: ['--conditions=@runtrace/source', '--import', 'tsx', ...nodeArgs],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      process.removeListener('exit', killOnExit);
      resolve();
    }),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${script} did not listen within 60 s`)), 60_000);
    child.once('message', (message: FloorReady) => {
      clearTimeout(timer);
      resolve(message.port);
    });
    void exited.then(() => reject(new Error(`${script} exited before listening`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Tells the parent (startFloor) the port the floor server listens on. */
export function reportListening(port: number): void {
  const ready: FloorReady = { type: 'listening', port };
  process.send?.(ready);
}
