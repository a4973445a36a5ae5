// Builds dist/extension.cjs (node/cjs, vscode external), dist/cli.js (node), dist/webview/main.js
// (browser); with --tests, only the extension-host test suites into out/test.
import { build } from 'esbuild';
import { chmodSync, readFileSync, rmSync, readdirSync } from 'node:fs';
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

if (!tests) {
  rmSync('dist', { recursive: true, force: true });
  await Promise.all([
    build({
      ...common,
      entryPoints: ['src/extension/extension.ts'],
      outfile: 'dist/extension.cjs',
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['vscode', 'pg-native'],
      plugins: [nodeOnlyPg],
    }),
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
