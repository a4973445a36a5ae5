/**
 * pg_service.conf and .pgpass, as libpq reads them, against real PG15 and PG17 servers with the
 * real tools: `service=NAME` connections for the CLI's verbs and a whole migration, passwords from
 * the password file (the tools get PGPASSFILE, never the password), the 0600 rule enforced with a
 * clear message, and an unknown service named with the files that were searched.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createMigrator, createSampleDatabase, MIGRATOR, MIGRATOR_PASSWORD } from '../helpers/fixtures.js';
import { PG15_TOOLS, startServers, type TestServer } from '../helpers/servers.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(repo, 'dist', 'cli.cjs');
let pg15: TestServer;
let pg17: TestServer;
let dir: string;
let env: NodeJS.ProcessEnv;

const pgpassLine = (port: number, user: string, password: string): string =>
  `127.0.0.1:${port}:*:${user}:${password.replace(/[:\\]/g, '\\$&')}`;

function run(args: string[], extra: NodeJS.ProcessEnv = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { env: { ...env, ...extra }, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  assert.ok(existsSync(cli), 'build first: npm run build');
  ({ pg15, pg17 } = await startServers('pg15', 'pg17'));
  await createSampleDatabase(pg15, 'shop');
  await createMigrator(pg17);
  dir = mkdtempSync(join(tmpdir(), 'hm-libpq-'));
  writeFileSync(
    join(dir, 'pg_service.conf'),
    `# services of this test
[shop_src]
host=127.0.0.1
port=${pg15.port}
dbname=shop
user=${MIGRATOR}
sslmode=disable

[cloud]
host=127.0.0.1
port=${pg17.port}
dbname=postgres
user=${pg17.adminUser}
sslmode=disable
`,
  );
  writeFileSync(
    join(dir, 'pgpass'),
    `# comment\n${pgpassLine(pg15.port, MIGRATOR, MIGRATOR_PASSWORD)}\n${pgpassLine(pg17.port, pg17.adminUser, pg17.adminPassword)}\n`,
    { mode: 0o600 },
  );
  env = {
    ...process.env,
    HYDRA_PG_BIN_DIR: PG15_TOOLS,
    PGSERVICEFILE: join(dir, 'pg_service.conf'),
    PGPASSFILE: join(dir, 'pgpass'),
    HYDRA_MIGRATE_STATE_DIR: join(dir, 'state'),
  };
  delete env.PGPASSWORD;
});
after(async () => {
  await Promise.all([pg15?.stop(), pg17?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('pg_service.conf and .pgpass', () => {
  it('test-connection by service name, the password from the password file', () => {
    const r = run(['test-connection', '--uri', 'service=shop_src', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { ok: boolean; currentUser: string; target: string };
    assert.equal(doc.ok, true);
    assert.equal(doc.currentUser, MIGRATOR);
    assert.equal(doc.target, `${MIGRATOR}@127.0.0.1:${pg15.port}/shop`);
  });

  it('a whole migration between two services; the tools get PGPASSFILE, no password anywhere', () => {
    const r = run([
      'migrate',
      '--source',
      'service=shop_src',
      // Parameters given with the service override its own (libpq's order): another database.
      '--target',
      'postgresql://?service=cloud&dbname=shop_copy',
      '--dump',
      join(dir, 'shop.dump'),
      '--no-owner',
      '--no-acl',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { ok: boolean; steps: Array<{ step: string; command?: string }>; validation: { ok: boolean } };
    assert.equal(doc.ok, true);
    assert.equal(doc.validation.ok, true, 'every row arrived');
    // The stream's command is pg_dump | tee | pg_restore: each tool gets the password file of its own side.
    const command = doc.steps.find((s) => s.step === 'dump')!.command ?? '';
    const [dumpPart, , loadPart] = command.split(' | ');
    const passfile = join(dir, 'pgpass').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    assert.match(dumpPart ?? '', new RegExp(`PGPORT=${pg15.port} .*PGPASSFILE=${passfile} .*pg_dump `));
    assert.match(loadPart ?? '', new RegExp(`PGPORT=${pg17.port} .*PGDATABASE=shop_copy .*PGPASSFILE=${passfile} .*pg_restore `));
    assert.doesNotMatch(command, /PGPASSWORD/);
    for (const secret of [MIGRATOR_PASSWORD, pg17.adminPassword]) assert.ok(!(r.stdout + r.stderr).includes(secret));
  });

  it('a password file that others may read, holding the line for the connection: refused with the fix; nothing runs', () => {
    chmodSync(join(dir, 'pgpass'), 0o644);
    try {
      const r = run(['test-connection', '--uri', 'service=shop_src']);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /pgpass holds the password for migrator@127\.0\.0\.1:\d+, but others may read the file \(mode 0644\); libpq ignores such a password file, and so does hydra-migrate\. Run: chmod 0600 /,
      );
      const m = run(['dump', '--source', 'service=shop_src', '--out', join(dir, 'never.dump')]);
      assert.equal(m.code, 2);
      assert.ok(!existsSync(join(dir, 'never.dump')));
    } finally {
      chmodSync(join(dir, 'pgpass'), 0o600);
    }
  });

  it('an unknown service: the files searched and what to do', () => {
    const r = run(['test-connection', '--uri', 'service=nope']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /The connection service "nope" is not defined in .*pg_service\.conf or \/etc\/postgresql-common\/pg_service\.conf\. Add a \[nope\] section/,
    );
  });
});
