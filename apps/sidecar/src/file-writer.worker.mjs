// Worker entry of the file sink. Built (dist/), the writer is JavaScript beside this file; in the workspace it is
// TypeScript, so tsx is loaded in this thread first (it works the same under `tsx`, under vitest and in a bench).
// tsx is a dev dependency: a deploy folder has the built writer and no tsx. See file-writer.ts.
import { existsSync } from 'node:fs';

const built = new URL('./file-writer.js', import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./file-writer.ts');
}
