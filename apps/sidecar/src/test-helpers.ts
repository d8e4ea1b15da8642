/** Helpers for the sidecar's tests and bench: a sidecar as a child process, its files, its metrics. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import type { SocketRecordV1 } from '@runtrace/core/telemetry';
import { inheritedEnvironment } from '@runtrace/core/config';

const appDir = fileURLToPath(new URL('..', import.meta.url));

export interface ChildSidecar {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly metricsPort: number;
  /** Everything it logged so far (pino JSON lines). */
  readonly output: () => string;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Sends the signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * `node --import tsx src/main.ts` on the workspace's sources (`pnpm sidecar` runs the build of the same), with the environment
 * given on top of a clean one. Resolves when it logs "sidecar listening"; rejects with its output if it exits first.
 */
export function spawnSidecar(
  env: Record<string, string>,
  options: {
    /** Run the build instead: `node dist/main.js` in this directory (apps/sidecar after `pnpm build`, a deploy folder). */
    builtDir?: string;
  } = {},
): Promise<ChildSidecar> {
  const entry = options.builtDir
    ? ['dist/main.js']
    : ['--conditions=@runtrace/source', '--import', 'tsx', 'src/main.ts'];
  const child = spawn(process.execPath, entry, {
    cwd: options.builtDir ?? appDir,
    env: { PATH: inheritedEnvironment().PATH ?? '', LOG_LEVEL: 'info', RUNTRACE_SIDECAR_METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');
  child.stdout?.on('data', (text: string) => {
    output += text;
  });
  child.stderr?.on('data', (text: string) => {
    output += text;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sidecar did not start in 20 s:\n${output}`)), 20_000);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sidecar exited with ${code} before listening:\n${output}`));
    });
    const poll = setInterval(() => {
      const line = output.split('\n').find((l) => l.includes('"sidecar listening"'));
      if (!line) return;
      clearInterval(poll);
      clearTimeout(timer);
      const port = (JSON.parse(line) as { metricsPort: number }).metricsPort;
      resolve({
        process: child,
        pid: child.pid as number,
        metricsPort: port,
        output: () => output,
        exited,
        stop(signal = 'SIGTERM') {
          child.kill(signal);
          return exited;
        },
      });
    }, 10);
    exited.then(() => clearInterval(poll));
  });
}

/** Runs the sidecar expecting it to fail at start: its exit code and output. */
export async function failingSidecar(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--conditions=@runtrace/source', '--import', 'tsx', 'src/main.ts'], {
    cwd: appDir,
    env: { PATH: inheritedEnvironment().PATH ?? '', RUNTRACE_SIDECAR_METRICS_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (b: Buffer) => {
    output += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    output += b.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output };
}

/** The lines of every completed file in `dir` (optionally `.part` files too), in file-name order. */
export function readSinkLines(dir: string, includeParts = false): string[] {
  const names = readdirSync(dir)
    .filter((n) => /\.ndjson(\.gz)?$/.test(n) || (includeParts && /\.ndjson(\.gz)?\.part$/.test(n)))
    .sort();
  const lines: string[] = [];
  for (const name of names) {
    const raw = readFileSync(path.join(dir, name));
    const text = (name.includes('.gz') ? gunzipSync(raw) : raw).toString('utf8');
    for (const line of text.split('\n')) if (line) lines.push(line);
  }
  return lines;
}

/** How many times each provider_trace_id occurs in the sink's files. */
export function countById(dir: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of readSinkLines(dir)) {
    const id = (JSON.parse(line) as SocketRecordV1).provider_trace_id;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/** `GET /metrics` parsed: `name{labels}` → value. */
export async function scrape(port: number): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

export async function until(ok: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
