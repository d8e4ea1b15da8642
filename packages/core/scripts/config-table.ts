/** `pnpm docs:config`: rewrites the README's configuration table and the `.env.example` files from the variables' schemas. */
import { readFileSync, writeFileSync } from 'node:fs';
import { ENV_EXAMPLES, README_PATH, renderEnvExample, replaceConfigTable } from '../src/config-table.ts';

const before = readFileSync(README_PATH, 'utf8');
const after = replaceConfigTable(before);
if (after === before) {
  console.log('README.md: the configuration table is up to date');
} else {
  writeFileSync(README_PATH, after);
  console.log('README.md: configuration table rewritten');
}

for (const { path, slice } of ENV_EXAMPLES) {
  const text = renderEnvExample(slice);
  const current = (() => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  })();
  if (current === text) continue;
  writeFileSync(path, text);
  console.log(`${path}: rewritten`);
}
