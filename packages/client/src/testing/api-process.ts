import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { inheritedEnvironment } from '@runtrace/core/config';

/** `apps/api`, where `tsx` resolves and `src/main.ts` lives. */
const API_DIR = fileURLToPath(new URL('../../../../apps/api/', import.meta.url));

export interface ApiProcess {
  /** e.g. `http://127.0.0.1:41234` */
  url: string;
  /** The api's own process (node with tsx's loader: one process, so its pid is the api's). */
  pid: number;
  child: ChildProcess;
  /** What the process wrote to stdout and stderr so far (its logs). */
  output(): string;
  /** The resident set size of the api process in bytes (Linux /proc), or NaN where unavailable. */
  rss(): number;
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit code (null if killed) once it exited. */
  stop(timeoutMs?: number): Promise<number | null>;
}

/** A TCP port that was free a moment ago (the api binds it right after). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `apps/api/src/main.ts` as a child process (`node --import tsx` on the workspace's TypeScript sources) on 127.0.0.1 and a
 * free port, with `env` added to this process's environment (e.g. DATABASE_URL, REDIS_URL: those of this process
 * are not passed on; CLICKHOUSE_URL is `off` unless given), and waits until `GET /healthz` answers.
 */
export async function spawnApi(
  env: Record<string, string>,
  options: {
    startTimeoutMs?: number;
    port?: number /** Extra node flags, e.g. `--cpu-prof`. */;
    nodeArgs?: string[];
    /**
     * Run the build instead of the sources: `node dist/main.js` in this directory (apps/api after `pnpm build`, or
     * a deploy folder), with no loader and without this process's NODE_OPTIONS (which may select the sources).
     */
    builtDir?: string;
  } = {},
): Promise<ApiProcess> {
  const port = options.port ?? (await freePort());
  let output = '';
  const { NODE_OPTIONS: _sourceCondition, ...builtEnvironment } = inheritedEnvironment();
  const entry = options.builtDir
    ? ['dist/main.js']
    : ['--conditions=@runtrace/source', '--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...entry], {
    cwd: options.builtDir ?? API_DIR,
    // The servers are only those given (not this process's DATABASE_URL/REDIS_URL); ClickHouse off unless asked
    // for (an embedded chdb directory serves one process only).
    env: {
      ...(options.builtDir ? builtEnvironment : inheritedEnvironment()),
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: '',
      REDIS_URL: '',
      CLICKHOUSE_URL: 'off',
      // a free port for the OTLP/gRPC receiver: 4317 may be another api's (tests run side by side)
      RUNTRACE_OTLP_GRPC_PORT: '0',
      ...env,
      HOST: '127.0.0.1',
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-100_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  // Not left behind when this process ends without stopping it (a failed or interrupted test run).
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      process.removeListener('exit', killOnExit);
      resolve(code);
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async (timeoutMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the api process exited (${child.exitCode ?? child.signalCode}) before answering:\n${output}`);
    }
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the api process did not answer on ${url} in time:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    pid: child.pid as number,
    child,
    output: () => output,
    rss() {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
        return kb ? Number(kb) * 1024 : Number.NaN;
      } catch {
        return Number.NaN;
      }
    },
    stop,
  };
}
