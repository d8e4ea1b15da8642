/**
 * The production build for tests that run it: `pnpm build` of the api and the sidecar (turbo: a cache hit unless a
 * source changed), and `pnpm deploy --prod` folders of them outside the repository.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root (where turbo and pnpm-workspace.yaml are). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const API_APP_DIR = path.join(REPO_ROOT, 'apps', 'api');
export const SIDECAR_APP_DIR = path.join(REPO_ROOT, 'apps', 'sidecar');

/** Brings apps/api/dist and apps/sidecar/dist (and what they depend on) up to date with the sources. */
export function buildApiAndSidecar(): void {
  run(path.join(REPO_ROOT, 'node_modules', '.bin', 'turbo'), [
    'run',
    'build',
    '--filter=@runtrace/api',
    '--filter=@runtrace/sidecar',
    '--output-logs=errors-only',
  ]);
}

/** `pnpm --filter <pkg> deploy --prod <dir>`: the package's files and its production dependencies, self-contained. */
export function deployFolder(pkg: '@runtrace/api' | '@runtrace/sidecar', dir: string): void {
  run('pnpm', ['--filter', pkg, 'deploy', '--prod', dir]);
}

function run(command: string, args: string[]): void {
  try {
    execFileSync(command, args, { cwd: REPO_ROOT, stdio: 'pipe', encoding: 'utf8' });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`${path.basename(command)} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}
