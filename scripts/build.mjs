// Builds dist/extension.cjs (node/cjs, vscode external), dist/cli.js (node), dist/webview/main.js
// (browser); with --tests, only the extension-host test suites into out/test.
import { build } from 'esbuild';
import { chmodSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const production = process.argv.includes('--production');
const tests = process.argv.includes('--tests');
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', legalComments: 'none' };

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
    }),
    build({
      ...common,
      entryPoints: ['src/cli/index.ts'],
      outfile: 'dist/cli.cjs',
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: ['pg-native'],
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
  });
}
