// Builds dist/extension.cjs (a loader) + dist/extension-main.cjs (node/cjs, vscode external), dist/vendor/*.cjs,
// dist/cli.cjs (node), dist/webview/main.js (browser); with --tests, only the extension-host test suites into out/test.
import { build } from 'esbuild';
import { chmodSync, readFileSync, rmSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const production = process.argv.includes('--production');
const tests = process.argv.includes('--tests');
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', legalComments: 'none' };

// pg asks whether it runs on Cloudflare Workers; where Node has no `navigator` (Node 20) it builds a
// `Response`, which loads Node's whole fetch implementation (undici): ~30 ms of every CLI start.
// These bundles run on Node only, so the question is answered at build time. A pg release that
// changes the function fails the build here rather than silently keeping the cost.
const nodeOnlyPg = {
  name: 'pg-node-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]pg[\\/]lib[\\/]stream\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const probe = 'function isCloudflareRuntime() {';
      if (!src.includes(probe)) throw new Error(`${args.path}: isCloudflareRuntime() not found; review the pg-node-only plugin`);
      return { contents: src.replace(probe, `${probe}\n  return false`), loader: 'js' };
    });
  },
};

// The extension loads these libraries on first use only (import() where a step connects or runs a
// tool). Bundled into dist/extension-main.cjs, VS Code would still read and compile their 200 KB at every
// activation (≈ 12 ms measured); as files of their own beside it they are read when first needed.
const VENDORED = ['pg', 'execa', 'pg-copy-streams'];
const vendorSplit = {
  name: 'vendor-split',
  setup(b) {
    // The packages themselves, their files (pg/lib/...) and pg's own parts (pg-pool, pg-protocol, ...).
    b.onResolve({ filter: new RegExp(`^(${VENDORED.join('|')}|pg-[^/]+)(/.*)?$`) }, (args) => {
      if (!VENDORED.includes(args.path)) {
        throw new Error(
          `${args.importer} imports ${args.path}: the extension loads only ${VENDORED.join(', ')} themselves, with import() (see scripts/build.mjs)`,
        );
      }
      if (args.kind !== 'dynamic-import') {
        throw new Error(`${args.importer} imports ${args.path} statically: import() it where it is used (see scripts/build.mjs)`);
      }
      return { path: args.path, namespace: 'vendor' };
    });
    // A require() of the file beside the bundle (not an import(): the extension host runs CommonJS).
    b.onLoad({ filter: /.*/, namespace: 'vendor' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(`./vendor/${args.path}.cjs`)});`,
      loader: 'js',
    }));
    b.onResolve({ filter: /^\.\/vendor\// }, (args) => ({ path: args.path, external: true }));
  },
};

if (!tests) {
  rmSync('dist', { recursive: true, force: true });
  await Promise.all([
    build({
      ...common,
      entryPoints: ['src/extension/extension.ts'],
      outfile: 'dist/extension-main.cjs',
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['vscode', 'pg-native'],
      plugins: [vendorSplit],
    }),
    ...VENDORED.map((name) =>
      build({
        ...common,
        stdin: { contents: `module.exports = require(${JSON.stringify(name)});`, resolveDir: '.', loader: 'js' },
        outfile: `dist/vendor/${name}.cjs`,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        external: ['pg-native'],
        plugins: [nodeOnlyPg],
      }),
    ),
    build({
      ...common,
      entryPoints: ['src/cli/index.ts'],
      outfile: 'dist/cli.cjs',
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['pg-native'],
      plugins: [nodeOnlyPg],
      banner: { js: '#!/usr/bin/env node' },
      define: { HYDRA_MIGRATE_VERSION: JSON.stringify(pkg.version) },
    }),
    build({
      ...common,
      entryPoints: ['webview-ui/src/main.ts'],
      outfile: 'dist/webview/main.js',
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
    }),
  ]);
  chmodSync('dist/cli.cjs', 0o755);
  // package.json's main: starts the activation clock before the bundle is read and compiled, so the
  // extension's own part (api.timings, bench/foundation.ts) counts that too, not only its evaluation.
  writeFileSync(
    'dist/extension.cjs',
    `'use strict';\nglobalThis[Symbol.for('hydra-migrate.loadStarted')] = performance.now();\nmodule.exports = require('./extension-main.cjs');\n`,
  );
}

if (tests) {
  rmSync('out', { recursive: true, force: true });
  const suites = readdirSync('test/vscode/suite')
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join('test/vscode/suite', f));
  await build({
    ...common,
    sourcemap: true,
    entryPoints: ['test/vscode/index.ts', ...suites],
    outdir: 'out/test',
    outExtension: { '.js': '.cjs' },
    outbase: 'test/vscode',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', 'mocha', 'pg-native'],
    plugins: [nodeOnlyPg],
  });
}
