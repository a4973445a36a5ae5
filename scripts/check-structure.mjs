// Keeps the layers layers (run by `npm run lint`; no dependencies):
//   - no import cycles between source files (value imports; `import type` is erased),
//   - one direction of imports: extension -> core, cli -> core, core -> shared, webview-ui -> shared,
//   - `vscode` imported only under src/extension,
//   - no source file over 400 lines.
// Prints every violation and exits 1 when there is one.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const MAX_LINES = 400;
const ALLOWED = {
  'src/core': ['src/core', 'src/shared'],
  'src/cli': ['src/cli', 'src/core', 'src/shared'],
  'src/extension': ['src/extension', 'src/core', 'src/shared'],
  'src/shared': ['src/shared'],
  'webview-ui/src': ['webview-ui/src', 'src/shared'],
};

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const layerOf = (file) => Object.keys(ALLOWED).find((l) => file === l || file.startsWith(`${l}/`));
const all = Object.keys(ALLOWED)
  .flatMap((l) => files(join(root, l)))
  .map((f) => relative(root, f));
const problems = [];
const graph = new Map();

for (const file of all) {
  const text = readFileSync(join(root, file), 'utf8');
  const lines = text.split('\n').length;
  if (lines > MAX_LINES) problems.push(`${file}: ${lines} lines (at most ${MAX_LINES}): split it`);
  const edges = [];
  const imports = text.matchAll(/^\s*(import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]/gm);
  for (const [, , typeOnly, spec] of imports) {
    if (spec === 'vscode' && layerOf(file) !== 'src/extension') problems.push(`${file}: imports vscode (only src/extension may)`);
    if (!spec.startsWith('.')) continue;
    const target = relative(root, resolve(dirname(join(root, file)), spec.replace(/\.js$/, '.ts')));
    const from = layerOf(file);
    const to = layerOf(target);
    if (!ALLOWED[from]?.includes(to)) problems.push(`${file}: imports ${target} (${from} may import only ${ALLOWED[from]?.join(', ')})`);
    if (!typeOnly) edges.push(target);
  }
  graph.set(file, edges);
}

// Cycles: depth-first search, reporting each cycle once.
const state = new Map();
const seen = new Set();
const visit = (file, path) => {
  state.set(file, 'open');
  for (const next of graph.get(file) ?? []) {
    if (state.get(next) === 'open') {
      const cycle = [...path.slice(path.indexOf(next)), next];
      const key = [...cycle].sort().join(' ');
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(`import cycle: ${cycle.join(' -> ')}`);
      }
    } else if (!state.has(next) && graph.has(next)) {
      visit(next, [...path, next]);
    }
  }
  state.set(file, 'done');
};
for (const file of graph.keys()) if (!state.has(file)) visit(file, [file]);

if (problems.length) {
  console.error(`Structure check failed (${problems.length}):\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`Structure check: ${all.length} files, no cycles, layers respected, none over ${MAX_LINES} lines.`);
