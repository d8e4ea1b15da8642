/**
 * SIGTERM must not depend on the log sink: an api whose stdout reader stopped reading (a full pipe, its descriptor
 * non-blocking or blocking) still shuts down within RUNTRACE_SHUTDOWN_TIMEOUT_MS.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inheritedEnvironment } from '@runtrace/core/config';
import { describe, expect, it } from 'vitest';

const apiDir = fileURLToPath(new URL('..', import.meta.url));
const SHUTDOWN_TIMEOUT_MS = 3000;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Reads whatever the FIFO holds right now (non-blocking). */
function drain(fd: number): string {
  const buffer = Buffer.alloc(65536);
  let text = '';
  for (;;) {
    try {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n <= 0) return text;
      text += buffer.subarray(0, n).toString('utf8');
    } catch {
      return text; // EAGAIN: empty
    }
  }
}

/** Writes into the FIFO until the kernel refuses more: its reader (us) has stopped reading. */
function fill(fifo: string): void {
  const fd = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  const chunk = Buffer.alloc(65536, 'x');
  try {
    for (;;) writeSync(fd, chunk);
  } catch {
    // EAGAIN: full
  } finally {
    closeSync(fd);
  }
}

describe.each([
  { mode: 'non-blocking', flags: constants.O_WRONLY | constants.O_NONBLOCK },
  { mode: 'blocking', flags: constants.O_WRONLY },
])('SIGTERM with stdout a full pipe ($mode descriptor)', ({ flags }) => {
  it('exits within the shutdown timeout', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'runtrace-shutdown-'));
    const fifo = path.join(dir, 'stdout');
    execFileSync('mkfifo', [fifo]);
    const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const stdout = openSync(fifo, flags);
    const port = await freePort();
    let child: ChildProcess | undefined;
    try {
      child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: apiDir,
        env: {
          ...inheritedEnvironment(),
          NODE_ENV: 'production',
          LOG_LEVEL: 'info',
          DATABASE_URL: '',
          REDIS_URL: '',
          CLICKHOUSE_URL: 'off',
          RUNTRACE_DATA_DIR: dir,
          RUNTRACE_SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
          HOST: '127.0.0.1',
          PORT: String(port),
          RUNTRACE_OTLP_GRPC_PORT: '0',
        },
        stdio: ['ignore', stdout, 'pipe'],
      });
      closeSync(stdout);
      const exited = new Promise<number>((resolve) => child?.once('exit', () => resolve(Date.now())));
      let logs = '';
      const deadline = Date.now() + 150_000;
      for (;;) {
        logs += drain(reader);
        if (logs.includes('listening on')) break;
        expect(child.exitCode, 'the api exited before listening').toBeNull();
        expect(Date.now() < deadline, 'the api did not start').toBe(true);
        await new Promise((r) => setTimeout(r, 200));
      }
      // The reader dies: nobody reads stdout any more, and the pipe is full.
      fill(fifo);
      const signalledAt = Date.now();
      child.kill('SIGTERM');
      const exitedAt = await Promise.race([
        exited,
        new Promise<null>((r) => setTimeout(() => r(null), SHUTDOWN_TIMEOUT_MS + 10_000)),
      ]);
      expect(exitedAt, 'the api still runs after SIGTERM').not.toBeNull();
      expect((exitedAt as number) - signalledAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 5000);
    } finally {
      child?.kill('SIGKILL');
      closeSync(reader);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
