/**
 * The `hydra-migrate` CLI (dist/cli.cjs, as installed by the package's bin entry) against real
 * PG15 and PG17 servers.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { AWKWARD, createSampleDatabase, MIGRATOR, MIGRATOR_PASSWORD } from '../helpers/fixtures.js';
import { freePort, startServers, type TestServer } from '../helpers/servers.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(repo, 'dist', 'cli.cjs');
const DB = 'cli db';
let pg15: TestServer;
let pg17: TestServer;

function run(args: string[], options: { password?: string; input?: string } = {}): { code: number; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.PGPASSWORD;
  if (options.password !== undefined) env.PGPASSWORD = options.password;
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', input: options.input ?? '', timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const uri = (server: TestServer, db = DB) => `postgresql://${MIGRATOR}@127.0.0.1:${server.port}/${encodeURIComponent(db)}`;

before(async () => {
  assert.ok(existsSync(cli), 'build first: npm run build');
  ({ pg15, pg17 } = await startServers('pg15', 'pg17'));
  await Promise.all([createSampleDatabase(pg15, DB), createSampleDatabase(pg17, DB)]);
});
after(async () => {
  await Promise.all([pg15?.stop(), pg17?.stop()]);
});

describe('hydra-migrate test-connection', () => {
  it('prints the server facts (password from PGPASSWORD)', () => {
    const r = run(['test-connection', '--uri', uri(pg15)], { password: MIGRATOR_PASSWORD });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /server: +PostgreSQL 15\.\d+/);
    assert.match(r.stdout, /user: +migrator\n/);
    assert.match(r.stdout, /table AMs: .*columnar/);
  });

  it('--json with the password on standard input', () => {
    const r = run(['test-connection', '--uri', uri(pg17), '--json', '--password-stdin'], { input: MIGRATOR_PASSWORD + '\n' });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.ok, true);
    assert.equal(doc.serverVersionNum >= 170000, true);
    assert.equal(doc.superuser, false);
    assert.equal(doc.currentUser, MIGRATOR);
  });

  it('a wrong password exits 1 with the explanation and never prints the password', () => {
    const wrong = 'Wr0ng-Secret-Value';
    const r = run(['test-connection', '--uri', uri(pg15)], { password: wrong });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /rejected the password for user "migrator"/);
    assert.ok(!(r.stdout + r.stderr).includes(wrong));
    const json = run(['test-connection', '--uri', uri(pg15), '--json'], { password: wrong });
    assert.equal(json.code, 1);
    assert.equal(JSON.parse(json.stdout).error.problem, 'auth_failed');
  });

  it('a password inside the URI is used and never echoed', () => {
    const withPw = `postgresql://${MIGRATOR}:${encodeURIComponent(MIGRATOR_PASSWORD)}@127.0.0.1:${pg15.port}/nosuchdb`;
    const r = run(['test-connection', '--uri', withPw]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /"nosuchdb" does not exist/);
    assert.ok(!r.stderr.includes(MIGRATOR_PASSWORD) && !r.stderr.includes(encodeURIComponent(MIGRATOR_PASSWORD)));
  });

  it('refused connection exits 1', async () => {
    const r = run(['test-connection', '--uri', `postgresql://${MIGRATOR}@127.0.0.1:${await freePort()}/x`], { password: 'x' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refused/);
  });
});

describe('hydra-migrate listing', () => {
  it('databases', () => {
    const r = run(['databases', '--uri', uri(pg15), '--json'], { password: MIGRATOR_PASSWORD });
    assert.equal(r.code, 0, r.stderr);
    const db = JSON.parse(r.stdout).find((d: { name: string }) => d.name === DB);
    assert.equal(db.encoding, 'UTF8');
    const text = run(['databases', '--uri', uri(pg15)], { password: MIGRATOR_PASSWORD });
    assert.match(text.stdout, /^database +size +encoding/m);
    assert.match(text.stdout, new RegExp(`^${DB} +\\d`, 'm'));
  });

  it('schemas and tables with awkward names, columnar marked', () => {
    const schemas = JSON.parse(run(['schemas', '--uri', uri(pg17), '--json'], { password: MIGRATOR_PASSWORD }).stdout).map(
      (s: { name: string }) => s.name,
    );
    assert.ok(schemas.includes(AWKWARD.schemaQuote) && schemas.includes(AWKWARD.schemaUnicode));
    const r = run(['tables', '--uri', uri(pg17), '--schema', AWKWARD.schemaUnicode, '--json'], { password: MIGRATOR_PASSWORD });
    assert.deepEqual(
      JSON.parse(r.stdout).map((t: { name: string; accessMethod: string }) => [t.name, t.accessMethod]),
      [[AWKWARD.tableUnicode, 'columnar']],
    );
    const text = run(['tables', '--uri', uri(pg15), '--schema', 'public'], { password: MIGRATOR_PASSWORD }).stdout;
    assert.match(text, /^events +table +columnar +500/m);
  });
});

describe('hydra-migrate output read only in part', () => {
  const env: NodeJS.ProcessEnv = { ...process.env, HYDRA_SOURCE_PASSWORD: MIGRATOR_PASSWORD, HYDRA_TARGET_PASSWORD: MIGRATOR_PASSWORD };
  /** Runs the CLI with the reading ends of the given pipes closed before it writes: each write meets EPIPE. */
  const withReadersGone = async (args: string[], gone: Array<'stdout' | 'stderr'>): Promise<{ code: number | null; stderr: string }> => {
    const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    for (const s of gone) child[s].destroy();
    if (!gone.includes('stderr')) child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
    return { code, stderr };
  };

  it('a reader gone before the output (`| head`) costs no error: the command ends as it would, exit 0', async () => {
    const r = await withReadersGone(['validate', '--source', uri(pg15), '--target', uri(pg17), '--json'], ['stdout']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /EPIPE|Unhandled|\n +at /, r.stderr);
  });

  it('with the messages gone too (`2>&1 | head`) a dump still goes on to its end: the archive is written, exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hm-epipe-'));
    try {
      const out = join(dir, 'cli.dump');
      // pg_dump's progress lines go to stderr all along the dump.
      const r = await withReadersGone(['dump', '--source', uri(pg15), '--out', out], ['stdout', 'stderr']);
      assert.equal(r.code, 0);
      assert.ok(existsSync(out) && !existsSync(`${out}.partial`), 'the archive is complete');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hydra-migrate usage errors exit 2 with a message', () => {
  for (const [args, pattern] of [
    [[], /Usage:/],
    [['frobnicate', '--uri', 'postgresql://u@h/d'], /unknown command "frobnicate"/],
    [['test-connection'], /needs --uri/],
    [['test-connection', '--uri', 'postgresql://u@h:70000/d'], /--uri: Port 70000 is out of range/],
    [['tables', '--uri', 'postgresql://u@127.0.0.1:1/d', '--schema'], /--schema/],
    [['test-connection', '--uri', 'postgresql://u@h/d', '--connect-timeout', 'soon'], /positive number/],
  ] as Array<[string[], RegExp]>) {
    it(JSON.stringify(args), () => {
      const r = run(args);
      assert.equal(r.code, 2);
      assert.match(r.stdout + r.stderr, pattern);
    });
  }

  it('--version and --help exit 0', () => {
    assert.match(run(['--version']).stdout, /^\d+\.\d+\.\d+/);
    assert.equal(run(['--help']).code, 0);
  });
});
