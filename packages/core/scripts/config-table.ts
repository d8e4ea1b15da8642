/** `pnpm docs:config`: rewrites the README's configuration table from the variables' schemas. */
import { readFileSync, writeFileSync } from 'node:fs';
import { README_PATH, replaceConfigTable } from '../src/config-table.ts';

const before = readFileSync(README_PATH, 'utf8');
const after = replaceConfigTable(before);
if (after === before) {
  console.log('README.md: the configuration table is up to date');
} else {
  writeFileSync(README_PATH, after);
  console.log('README.md: configuration table rewritten');
}
