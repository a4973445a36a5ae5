/**
 * `npm run bench` (foundation): prints measurements with the baseline measured in the same run,
 * and the goals of the foundation issue. Not a test: nothing here passes or fails.
 *   1. bundle size of dist/extension-main.cjs      goal < 1.5 MB
 *   2. activation time in a real extension host      goal < 50 ms (baseline: a built-in extension);
 *      the extension's own part (bundle evaluation + activate())  goal <= 15 ms (issue 11); .vsix <= 2 MB
 *   3. listing a schema of 5,000 tables (explorer)    goal < 300 ms (baseline: bare pg_class scan)
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listTables } from '../src/core/catalog.js';
import { PoolCache } from '../src/core/pg.js';
import { runExtensionHostTests, startCodeServer, workbenchUnavailable } from '../test/helpers/codeServer.js';
import { startServer } from '../test/helpers/servers.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number): string => `${ms.toFixed(1)} ms`;

function bundleSize(): void {
  const size = statSync(join(repo, 'dist', 'extension-main.cjs')).size;
  const vendorDir = join(repo, 'dist', 'vendor');
  const vendor = readdirSync(vendorDir).reduce((sum, f) => sum + statSync(join(vendorDir, f)).size, 0);
  const cli = statSync(join(repo, 'dist', 'cli.cjs')).size;
  const vsixPath = join(repo, 'dist', 'hydra-migrate.vsix');
  const vsix = existsSync(vsixPath)
    ? ` ; dist/hydra-migrate.vsix ${(statSync(vsixPath).size / 1024).toFixed(0)} KiB (${(statSync(vsixPath).size / (2 * 1024 * 1024)).toFixed(2)} of the 2 MB goal)`
    : '';
  console.log(
    `bundle: dist/extension-main.cjs ${(size / 1024).toFixed(0)} KiB (${(size / (1.5 * 1024 * 1024)).toFixed(2)} of the 1.5 MB goal), read at activation; dist/vendor ${(vendor / 1024).toFixed(0)} KiB, read on first use; dist/cli.cjs ${(cli / 1024).toFixed(0)} KiB${vsix}`,
  );
}

async function activation(): Promise<void> {
  const missing = workbenchUnavailable();
  if (missing) {
    console.log(`activation: not measured (${missing})`);
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'hm-bench-'));
  const samples: Array<{
    activationMs: number;
    baselineMs?: number;
    baselineId?: string;
    inside?: { bundleLoadMs: number; activateMs: number };
  }> = [];
  try {
    for (let i = 0; i < 3; i++) {
      const out = join(work, `activation-${i}.json`);
      const code = await startCodeServer({ smokeTestDriver: true, env: { HM_ACTIVATION_OUT: out, HM_TEST_GREP: '^$no-test-matches' } });
      try {
        await runExtensionHostTests(code, {
          extensionPath: repo,
          testsPath: join(repo, 'out', 'test', 'index.cjs'),
          workspace: work,
          timeoutMs: 120_000,
        });
      } finally {
        await code.stop();
      }
      if (existsSync(out)) samples.push(JSON.parse(readFileSync(out, 'utf8')));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const act = samples.map((s) => s.activationMs).filter((x) => typeof x === 'number');
  const base = samples.map((s) => s.baselineMs).filter((x): x is number => typeof x === 'number');
  if (act.length === 0) {
    console.log('activation: not measured (the extension host did not report)');
    return;
  }
  const a = median(act);
  const line = `activation in the extension host: median ${fmt(a)} of ${act.length} runs (goal < 50 ms: ${(a / 50).toFixed(2)} of it)`;
  const inside = samples.map((s) => s.inside).filter((x): x is { bundleLoadMs: number; activateMs: number } => !!x);
  if (inside.length) {
    const ev = median(inside.map((i) => i.bundleLoadMs));
    const ac = median(inside.map((i) => i.activateMs));
    console.log(
      `  of which: reading, compiling and evaluating the bundle ${fmt(ev)}, activate() ${fmt(ac)}: the extension's own part ${fmt(ev + ac)} (goal <= 15 ms: ${((ev + ac) / 15).toFixed(2)} of it); the rest is VS Code's`,
    );
  }
  console.log(
    base.length ? `${line}; baseline ${samples[0]?.baselineId} ${fmt(median(base))}, ratio ${(a / median(base)).toFixed(2)}` : line,
  );
}

async function listing(): Promise<void> {
  const server = await startServer('pg17', { settings: { max_locks_per_transaction: '2048' } });
  const pools = new PoolCache();
  try {
    await server.sql(`CREATE DATABASE bench`);
    await server.sql(
      `CREATE SCHEMA wide; DO $$ BEGIN FOR i IN 1..5000 LOOP EXECUTE format('CREATE TABLE wide.%I (id int PRIMARY KEY, v text)', 't' || lpad(i::text, 5, '0')); END LOOP; END $$; ANALYZE;`,
      'bench',
    );
    const target = { host: '127.0.0.1', port: server.port, database: 'bench', user: server.adminUser, sslmode: 'disable' as const };
    const opts = { password: server.adminPassword };
    const q = <R extends Record<string, unknown>>(text: string, values?: unknown[]) => pools.query<R>('bench', target, opts, text, values);
    await listTables(q, 'wide'); // warm the pool and the catalog cache
    const times: number[] = [];
    const baseline: number[] = [];
    for (let i = 0; i < 7; i++) {
      let t0 = performance.now();
      const tables = await listTables(q, 'wide');
      times.push(performance.now() - t0);
      if (tables.length !== 5000) throw new Error(`listed ${tables.length} tables, expected 5000`);
      t0 = performance.now();
      await q(`SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'`, [
        'wide',
      ]);
      baseline.push(performance.now() - t0);
    }
    const m = median(times);
    console.log(
      `list 5,000 tables (names, kind, estimated rows, total size, access method): median ${fmt(m)} (goal < 300 ms: ${(m / 300).toFixed(2)} of it); baseline bare name scan ${fmt(median(baseline))}, ratio ${(m / median(baseline)).toFixed(1)}`,
    );
  } finally {
    await pools.closeAll();
    await server.stop();
  }
}

bundleSize();
await listing();
await activation();
