/**
 * Runs test/vscode/suite/* inside a real extension host (code-server, headless Chromium) against
 * real PG15 and PG17 servers, and reports each in-host test as a node:test subtest. Afterwards
 * it checks that no password reached code-server's files (settings, logs, state).
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { runExtensionHostTests, startCodeServer, requireWorkbench, type CodeServer } from '../helpers/codeServer.js';
import { AWKWARD, createSampleDatabase, MIGRATOR, MIGRATOR_PASSWORD } from '../helpers/fixtures.js';
import { filesUnder } from '../helpers/files.js';
import { PG15_TOOLS, startServers, type TestServer } from '../helpers/servers.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DB = 'hydra app';
const suiteDir = join(repo, 'test', 'vscode', 'suite');

describe('extension-host suites (real VS Code via code-server)', { skip: requireWorkbench() }, () => {
  let servers: Record<'pg15' | 'pg17', TestServer>;
  let code: CodeServer | undefined;
  let work: string;
  let results: Array<{ title: string; state: string; error?: string; planned?: number }> = [];
  let exitCode = -1;
  let log: string[] = [];
  const leaked: string[] = [];

  before(async () => {
    assert.ok(existsSync(join(repo, 'out', 'test', 'index.cjs')), 'run `npm run build:tests` first');
    servers = await startServers('pg15', 'pg17');
    await Promise.all([createSampleDatabase(servers.pg15, DB), createSampleDatabase(servers.pg17, DB)]);
    await servers.pg15.sql(`CREATE DATABASE bigdb OWNER ${MIGRATOR} TEMPLATE template0`);
    // Big enough that its dump outlasts a quick step run beside it on a loaded machine (the test cancels it).
    await servers.pg15.sql(
      `SET ROLE ${MIGRATOR}; CREATE TABLE public.big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 4000000) g`,
      'bigdb',
    );
    work = mkdtempSync(join(tmpdir(), 'hm-host-'));
    // A service file and a password file (0600) given to the extension host as libpq reads them;
    // their role is used by no other test, so no other connection finds a password there.
    await servers.pg15.sql(`CREATE ROLE svc_reader LOGIN PASSWORD 'svc-pw:1'; GRANT CONNECT ON DATABASE "${DB}" TO svc_reader`);
    writeFileSync(
      join(work, 'pg_service.conf'),
      `[hm_svc]\nhost=127.0.0.1\nport=${servers.pg15.port}\ndbname=${DB}\nuser=svc_reader\nsslmode=disable\n`,
    );
    writeFileSync(join(work, 'pgpass'), `127.0.0.1:${servers.pg15.port}:*:svc_reader:svc-pw\\:1\n`, { mode: 0o600 });
    const fixture = join(work, 'fixture.json');
    const resultsFile = join(work, 'results.jsonl');
    writeFileSync(
      fixture,
      JSON.stringify({
        database: DB,
        migrator: MIGRATOR,
        migratorPassword: MIGRATOR_PASSWORD,
        pg15: { port: servers.pg15.port },
        pg17: { port: servers.pg17.port, adminUser: servers.pg17.adminUser, adminPassword: servers.pg17.adminPassword },
        awkward: AWKWARD,
        dumpDir: join(work, 'dumps'),
        service: 'hm_svc',
        servicePassword: 'svc-pw:1',
        passfile: join(work, 'pgpass'),
      }),
    );
    const workspace = join(work, 'workspace');
    rmSync(workspace, { recursive: true, force: true });
    code = await startCodeServer({
      smokeTestDriver: true,
      env: {
        HM_FIXTURE: fixture,
        HM_TEST_RESULTS: resultsFile,
        PGSERVICEFILE: join(work, 'pg_service.conf'),
        PGPASSFILE: join(work, 'pgpass'),
      },
      settings: {
        'hydraMigrate.pgBinDir': PG15_TOOLS,
        'hydraMigrate.dumpFolder': join(work, 'dumps'),
        // Saved connections of other database extensions, as their users' settings hold them (fixtures to import from).
        'pgsql.connections': [
          {
            profileName: 'Fixture PG17 (pgsql)',
            server: '127.0.0.1',
            port: String(servers.pg17.port),
            database: 'postgres',
            user: servers.pg17.adminUser,
            password: 'never-imported-1',
            sslmode: 'disable',
          },
        ],
        'sqltools.connections': [
          {
            name: 'Fixture PG15 (SQLTools)',
            driver: 'PostgreSQL',
            server: '127.0.0.1',
            port: servers.pg15.port,
            database: 'postgres',
            username: MIGRATOR,
            password: 'never-imported-2',
          },
          { name: 'A MySQL one', driver: 'MySQL', server: '127.0.0.1', port: 3306, database: 'x', username: 'root' },
        ],
      },
    });
    const run = await runExtensionHostTests(code, {
      extensionPath: repo,
      testsPath: join(repo, 'out', 'test', 'index.cjs'),
      workspace: tmpdir(),
      onLog: (line) => process.env.HM_VERBOSE && process.stderr.write(line + '\n'),
    });
    exitCode = run.exitCode;
    log = run.log;
    if (existsSync(resultsFile))
      results = readFileSync(resultsFile, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
    // Nothing code-server wrote (settings, logs, extension storage) may contain a password.
    for (const f of filesUnder(code.userDataDir)) {
      const text = readFileSync(f).toString('latin1');
      for (const secret of [
        MIGRATOR_PASSWORD,
        encodeURIComponent(MIGRATOR_PASSWORD),
        Buffer.from(MIGRATOR_PASSWORD, 'utf8').toString('latin1'),
        servers.pg17.adminPassword,
      ]) {
        if (text.includes(secret)) leaked.push(f);
      }
    }
  });

  after(async () => {
    await code?.stop();
    await Promise.all([servers?.pg15.stop(), servers?.pg17.stop()]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the in-host suites ran and all passed', () => {
    const planned = results.find((r) => r.planned !== undefined)?.planned;
    const reported = results.filter((r) => r.planned === undefined);
    const context = `host log:\n${log.join('\n')}\n${code?.output() ?? ''}`;
    // Every test written in the suites was planned by mocha, and every planned test reported.
    const written = readdirSync(suiteDir)
      .filter((f) => f.endsWith('.test.ts'))
      .reduce((n, f) => n + (readFileSync(join(suiteDir, f), 'utf8').match(/^\s*(?:it|test)\(/gm)?.length ?? 0), 0);
    assert.equal(planned, written, `mocha planned ${planned} in-host tests, the suites define ${written}; ${context}`);
    assert.equal(reported.length, written, `expected ${written} in-host tests to report (got ${reported.length}); ${context}`);
    const failed = results.filter((r) => r.state === 'failed');
    assert.deepEqual(
      failed.map((f) => `${f.title}: ${f.error}`),
      [],
    );
    assert.equal(exitCode, 0, `codeAutomationExit(${exitCode})\n${log.join('\n')}`);
  });

  it('no password in any file code-server wrote (logs, settings, storage)', () => {
    assert.ok(code, 'code-server ran');
    assert.deepEqual(leaked, []);
  });

  describe('each in-host test', () => {
    it('reports every test by name', async (t) => {
      for (const r of results.filter((x) => x.planned === undefined)) {
        await t.test(r.title, { skip: r.state === 'skipped' }, () => {
          if (r.state === 'failed') throw new Error(r.error);
        });
      }
    });
  });
});
