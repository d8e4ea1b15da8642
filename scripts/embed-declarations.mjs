#!/usr/bin/env node
/**
 * Makes a package's declarations stand alone outside the monorepo (run after build-package.mjs, in its directory):
 * the .d.ts of the workspace packages it names are copied into dist/types/<name>/, and every import of those
 * packages (in its own .d.ts and the copied ones) is rewritten to a relative path there. `@runtrace/client` is
 * published this way: its AppRouter type comes from @runtrace/api, whose types come from @runtrace/core, and neither is
 * published. Imports of other packages stay as they are (the published package depends on those it needs).
 *
 * Usage: embed-declarations.mjs <@scope/name>=<its package dir>…
 */
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const dist = path.resolve('dist');
/** name → { dir: where its declarations go, types: export subpath → .d.ts file relative to its dist } */
const embedded = new Map();
for (const arg of process.argv.slice(2)) {
  const [name, packageDir] = arg.split('=');
  if (!name || !packageDir) throw new Error(`embed-declarations: expected <name>=<dir>, got ${arg}`);
  const manifest = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
  const types = new Map();
  for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
    if (typeof target === 'object' && target.types) types.set(subpath, target.types.replace(/^\.\/dist\//, ''));
  }
  const dir = path.join(dist, 'types', name.split('/').pop());
  const from = path.join(packageDir, 'dist');
  if (!existsSync(from)) throw new Error(`embed-declarations: ${from} is missing (build ${name} first)`);
  // Declarations only: no JavaScript, and none of the assets beside it (migrations, the api's dashboard).
  cpSync(from, dir, { recursive: true, filter: (src) => statSync(src).isDirectory() || src.endsWith('.d.ts') });
  embedded.set(name, { dir, types });
}

/** Every .d.ts under `dir`. */
function declarations(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return declarations(file);
    return entry.name.endsWith('.d.ts') ? [file] : [];
  });
}

const specifier = /(from\s+|import\()(['"])([^'"]+)\2/g;
for (const file of declarations(dist)) {
  const text = readFileSync(file, 'utf8');
  const rewritten = text.replace(specifier, (whole, lead, quote, spec) => {
    // The sources import `./x.ts`; as a declaration that names `./x.d.ts`, which `./x.js` resolves to everywhere.
    if (spec.startsWith('.')) return `${lead}${quote}${spec.replace(/\.ts$/, '.js')}${quote}`;
    const name = [...embedded.keys()].find((n) => spec === n || spec.startsWith(`${n}/`));
    if (!name) return whole;
    const { dir, types } = embedded.get(name);
    const subpath = `.${spec.slice(name.length)}`;
    const target = types.get(subpath);
    if (!target) throw new Error(`embed-declarations: ${path.relative(dist, file)} imports ${spec}, not exported`);
    let relative = path.relative(path.dirname(file), path.join(dir, target)).replace(/\.d\.ts$/, '.js');
    if (!relative.startsWith('.')) relative = `./${relative}`;
    return `${lead}${quote}${relative}${quote}`;
  });
  if (rewritten !== text) writeFileSync(file, rewritten);
}
