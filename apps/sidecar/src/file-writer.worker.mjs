// Worker entry of the file sink: the writer is TypeScript, so load tsx in this thread first (it works the same
// under `tsx`, under vitest and in a bench), then run it. See file-writer.ts.
import { register } from 'tsx/esm/api';

register();
await import('./file-writer.ts');
