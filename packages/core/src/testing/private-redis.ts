import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freeTcpPort } from './free-tcp-port.ts';

/** Whether `redis-server` is on PATH (the suites that start their own server need it). */
export function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface PrivateRedisOptions {
  /** `appendonly yes` with `appendfsync always`: every acknowledged write survives a kill -9. @default false */
  persistence?: boolean;
}

/**
 * A redis-server of the test's own (never the shared one): an ephemeral port and its own data directory. `stop()`
 * is kill -9 (a crash), `start()` again restarts it on the same port and directory: without persistence every
 * stream is lost, with it the append-only file is replayed.
 */
export class PrivateRedis {
  #child: ChildProcess | null = null;
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'runtrace-redis-'));
  constructor(
    readonly port: number,
    readonly options: PrivateRedisOptions = {},
  ) {}

  static async create(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
    const server = new PrivateRedis(await freeTcpPort(), options);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const persistence = this.options.persistence
      ? ['--appendonly', 'yes', '--appendfsync', 'always']
      : ['--appendonly', 'no'];
    const child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--dir', this.dir, ...persistence],
      { stdio: 'ignore' },
    );
    this.#child = child;
    // Not left behind when the test process ends without stopping it.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {});
      try {
        await probe.connect();
        // A server replaying its append-only file answers LOADING until it is done.
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** kill -9: no shutdown save, clients see the connection drop. */
  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  /** Stops the server and removes its directory. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
