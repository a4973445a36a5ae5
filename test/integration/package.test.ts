/**
 * The command line as an npm package: `npm pack` gives a tarball of the CLI alone (every
 * dependency bundled into dist/cli.cjs), `npm install -g` of it (offline: it needs nothing from
 * the registry) puts a working `hydra-migrate` on PATH, run by this machine's Node 20 through its
 * shebang against a real PG15 server.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createSampleDatabase, MIGRATOR, MIGRATOR_PASSWORD } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/servers.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
let pg15: TestServer;
let dir: string;

/** npm with a cache and prefix of its own, never the caller's (a global install must not touch this machine's). */
function npm(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('npm', args, {
    cwd: repo,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, npm_config_cache: join(dir, 'npm-cache'), npm_config_update_notifier: 'false', npm_config_fund: 'false' },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  assert.ok(existsSync(join(repo, 'dist', 'cli.cjs')), 'build first: npm run build');
  dir = mkdtempSync(join(tmpdir(), 'hm-pack-'));
  pg15 = await startServer('pg15');
  await createSampleDatabase(pg15, 'shop');
});
after(async () => {
  await pg15?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the CLI as an npm package', () => {
  let tarball: string;

  it('npm pack: the CLI alone, nothing else of the repository', () => {
    const r = npm(['pack', '--json', '--pack-destination', dir]);
    assert.equal(r.code, 0, r.stderr);
    const [info] = JSON.parse(r.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    assert.deepEqual(info!.files.map((f) => f.path).sort(), ['CHANGELOG.md', 'LICENSE', 'README.md', 'dist/cli.cjs', 'package.json']);
    tarball = join(dir, info!.filename);
    assert.ok(existsSync(tarball));
  });

  it('npm install -g of the tarball, offline: hydra-migrate on PATH works with Node 20 against a real server', () => {
    const prefix = join(dir, 'prefix');
    const r = npm(['install', '-g', '--offline', '--no-audit', '--prefix', prefix, tarball]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(readdirSync(join(prefix, 'lib', 'node_modules', 'hydra-migrate')).sort(), [
      'CHANGELOG.md',
      'LICENSE',
      'README.md',
      'dist',
      'package.json',
    ]);
    // The command as a user runs it: by name, on PATH, its shebang picking this machine's node.
    const env = {
      ...process.env,
      PATH: `${join(prefix, 'bin')}:${dirname(process.execPath)}:/usr/bin:/bin`,
      PGPASSWORD: MIGRATOR_PASSWORD,
    };
    const nodeMajor = Number(process.versions.node.split('.')[0]);
    assert.ok(nodeMajor >= 20, `Node ${process.versions.node}`);
    const version = spawnSync('hydra-migrate', ['--version'], { env, encoding: 'utf8' });
    assert.equal(version.status, 0, version.stderr);
    assert.match(version.stdout, /^0\.1\.0\b/);
    const conn = spawnSync(
      'hydra-migrate',
      ['test-connection', '--uri', `postgresql://${MIGRATOR}@127.0.0.1:${pg15.port}/shop?sslmode=disable`, '--json'],
      { env, encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(conn.status, 0, conn.stdout + conn.stderr);
    const doc = JSON.parse(conn.stdout) as { ok: boolean; serverVersionNum: number; currentUser: string };
    assert.equal(doc.ok, true);
    assert.ok(doc.serverVersionNum >= 150000 && doc.serverVersionNum < 160000, conn.stdout);
    assert.equal(doc.currentUser, MIGRATOR);
  });
});
