/** The pure builders of the steps: argv, SQL, displayed commands, progress parsers (no servers). */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { buildAnalyzeArgs } from '../../src/core/analyze.js';
import type { ConnectionTarget } from '../../src/core/connection.js';
import { createDatabaseSql, literal } from '../../src/core/createDatabase.js';
import { buildDumpArgs, dumpedTable, type DumpSelection } from '../../src/core/dump.js';
import { buildRestoreArgs, refuseTarget, restoredEntry, type RestoreFlags } from '../../src/core/restore.js';
import { displayCommand, shellQuote, type ToolRun } from '../../src/core/run.js';
import type { Side } from '../../src/core/side.js';
import { conninfoDbname, explainToolFailure } from '../../src/core/step.js';

const profile: ConnectionTarget = { host: 'db.example.com', port: 5433, database: 'app', user: 'mig rator', sslmode: 'require' };
const side: Side = { role: 'source', profile, password: "s3cr3t'pw", database: 'shop' };

describe('buildDumpArgs', () => {
  const cases: Array<[string, DumpSelection, string[]]> = [
    [
      'custom, defaults',
      { format: 'custom' },
      ['--verbose', '--no-password', '--format=custom', '--file=F', '--compress=1', '--lock-wait-timeout=30000'],
    ],
    [
      'directory with jobs',
      { format: 'directory', jobs: 4 },
      ['--verbose', '--no-password', '--format=directory', '--file=F', '--jobs=4', '--compress=1', '--lock-wait-timeout=30000'],
    ],
    [
      'jobs are for the directory format only',
      { format: 'custom', jobs: 4 },
      ['--verbose', '--no-password', '--format=custom', '--file=F', '--compress=1', '--lock-wait-timeout=30000'],
    ],
    [
      'one job adds nothing',
      { format: 'directory', jobs: 1 },
      ['--verbose', '--no-password', '--format=directory', '--file=F', '--compress=1', '--lock-wait-timeout=30000'],
    ],
    [
      'owners, grants, selection, compression, lock wait',
      {
        format: 'custom',
        noOwner: true,
        noAcl: true,
        schemas: ['a', 'b'],
        excludeSchemas: ['c'],
        tables: ['a.t'],
        excludeTables: ['a.u'],
        compress: 0,
        lockWaitTimeoutSeconds: 2.5,
      },
      [
        '--verbose',
        '--no-password',
        '--format=custom',
        '--file=F',
        '--no-owner',
        '--no-acl',
        '--schema="a"',
        '--schema="b"',
        '--exclude-schema="c"',
        '--table="a"."t"',
        '--exclude-table="a"."u"',
        '--strict-names',
        '--compress=0',
        '--lock-wait-timeout=2500',
      ],
    ],
    [
      'exact names are literal (case, spaces, quotes, wildcards); patterns are passed as pg_dump reads them',
      {
        format: 'custom',
        schemas: ['Sales', 'sales "EU"', 'a*b'],
        tables: ['my schema.Order?'],
        schemaPatterns: ['app_*'],
        excludeTablePatterns: ['*.tmp_*'],
      },
      [
        '--verbose',
        '--no-password',
        '--format=custom',
        '--file=F',
        '--schema="Sales"',
        '--schema="sales ""EU"""',
        '--schema="a*b"',
        '--schema=app_*',
        '--table="my schema"."Order?"',
        '--exclude-table=*.tmp_*',
        '--strict-names',
        '--compress=1',
        '--lock-wait-timeout=30000',
      ],
    ],
  ];
  for (const [name, options, expected] of cases) it(name, () => assert.deepEqual(buildDumpArgs(options, 'F'), expected));
});

describe('buildRestoreArgs', () => {
  const base = ['--verbose', '--no-password', "--dbname=dbname='t'"];
  const cases: Array<[string, RestoreFlags, string[]]> = [
    ['defaults', {}, [...base, 'A']],
    ['parallel', { jobs: 2 }, [...base, '--jobs=2', 'A']],
    ['a single transaction cannot be parallel', { jobs: 2, singleTransaction: true }, [...base, '--single-transaction', 'A']],
    [
      'every flag',
      { noOwner: true, noAcl: true, noTableAccessMethod: true, exitOnError: true, useList: '/tmp/l' },
      [...base, '--no-owner', '--no-acl', '--no-table-access-method', '--exit-on-error', '--use-list=/tmp/l', 'A'],
    ],
  ];
  for (const [name, flags, expected] of cases)
    it(name, () => assert.deepEqual(buildRestoreArgs({ ...flags, archive: 'A' }, 't'), expected));

  it('the database name is quoted for libpq, whatever it holds', () => {
    assert.equal(conninfoDbname(`it's a "db" \\ ü`), `dbname='it\\'s a "db" \\\\ ü'`);
    assert.equal(buildRestoreArgs({ archive: 'A' }, 'x=y z')[2], "--dbname=dbname='x=y z'");
  });
});

describe('buildAnalyzeArgs', () => {
  it('analyze only, in parallel when asked', () => {
    assert.deepEqual(buildAnalyzeArgs('db', 3), ['--analyze-only', '--no-password', "--dbname=dbname='db'", '--jobs=3']);
    assert.deepEqual(buildAnalyzeArgs('db', 1), ['--analyze-only', '--no-password', "--dbname=dbname='db'"]);
  });
});

describe('createDatabaseSql', () => {
  const libc = { encoding: 'UTF8', collate: 'en_US.UTF-8', ctype: 'en_US.UTF-8' };
  const cases: Array<[string, Parameters<typeof createDatabaseSql>, string]> = [
    ['server defaults', ['new', undefined], 'CREATE DATABASE "new" WITH TEMPLATE template0'],
    [
      'like a libc source',
      ['new', libc],
      `CREATE DATABASE "new" WITH TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'en_US.UTF-8' LC_CTYPE 'en_US.UTF-8'`,
    ],
    [
      'like an ICU source',
      ['new', { ...libc, provider: 'icu', icuLocale: 'und-x-icu' }],
      `CREATE DATABASE "new" WITH TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'und-x-icu' LC_COLLATE 'en_US.UTF-8' LC_CTYPE 'en_US.UTF-8'`,
    ],
    [
      'awkward names and an owner',
      [`a "b"; c`, undefined, `o"wner`],
      `CREATE DATABASE "a ""b""; c" WITH TEMPLATE template0 OWNER "o""wner"`,
    ],
  ];
  for (const [name, args, expected] of cases) it(name, () => assert.equal(createDatabaseSql(...args), expected));
  it('literals double their quotes', () => assert.equal(literal("it's"), "'it''s'"));
});

describe('displayCommand', () => {
  it('shows where the tool connects and masks the password', () => {
    const shown = displayCommand(['/usr/bin/pg_dump', '--file=/tmp/a b.dump'], side);
    assert.equal(
      shown,
      "PGHOST=db.example.com PGPORT=5433 PGUSER='mig rator' PGDATABASE=shop PGSSLMODE=require PGPASSWORD=*** /usr/bin/pg_dump '--file=/tmp/a b.dump'",
    );
    assert.ok(!shown.includes('s3cr3t'));
  });
  it('says nothing of a password when there is none', () => {
    assert.doesNotMatch(displayCommand(['psql'], { ...side, password: undefined }), /PGPASSWORD/);
  });
  it('quotes like a POSIX shell', () => {
    assert.deepEqual(['plain-1.2', '', "it's", 'a b'].map(shellQuote), ['plain-1.2', "''", `'it'\\''s'`, "'a b'"]);
  });
});

describe('progress parsers', () => {
  it('pg_dump --verbose: the table being dumped, serial and parallel', () => {
    assert.equal(dumpedTable('pg_dump: dumping contents of table "public.pgbench_accounts"'), 'public.pgbench_accounts');
    assert.equal(dumpedTable('pg_dump: finished item 6619 TABLE DATA t048', true), 't048');
    // With --jobs both lines come for every table: only the finished one counts (progress never doubles).
    assert.equal(dumpedTable('pg_dump: dumping contents of table "public.t048"', true), undefined);
    assert.equal(dumpedTable('pg_dump: finished item 6619 TABLE DATA t048', false), undefined);
    assert.equal(dumpedTable('pg_dump: reading extensions'), undefined);
  });
  it('pg_restore --verbose: serial lines and parallel "finished item" lines', () => {
    assert.equal(restoredEntry('pg_restore: creating TABLE "audit.t001"', false), 'TABLE "audit.t001"');
    assert.equal(restoredEntry('pg_restore: processing data for table "public.a"', false), '"public.a"');
    assert.equal(restoredEntry('pg_restore: launching item 6619 TABLE DATA pgbench_accounts', true), undefined);
    assert.equal(restoredEntry('pg_restore: finished item 6619 TABLE DATA pgbench_accounts', true), 'TABLE DATA pgbench_accounts');
    assert.equal(restoredEntry('pg_restore: finished item 6619 TABLE DATA x', false), undefined);
  });
});

describe('refuseTarget', () => {
  it('a missing database, a non-empty one, and the exact confirmation', () => {
    assert.equal(refuseTarget({ exists: false, objects: 0, schemas: 0 }, 'db', undefined)?.problem, 'database_missing');
    assert.equal(refuseTarget({ exists: true, objects: 0, schemas: 0 }, 'db', undefined), undefined);
    assert.equal(refuseTarget({ exists: true, objects: 3, schemas: 0 }, 'db', undefined)?.problem, 'target_not_empty');
    assert.equal(
      refuseTarget({ exists: true, objects: 0, schemas: 1 }, 'db', 'DB')?.problem,
      'target_not_empty',
      'the confirmation is exact',
    );
    assert.equal(refuseTarget({ exists: true, objects: 3, schemas: 1 }, 'db', 'db'), undefined);
  });
});

describe('explainToolFailure', () => {
  const run = (stderrLines: string[], exitCode = 1): ToolRun => ({
    argv: ['pg_dump'],
    exitCode,
    cancelled: false,
    durationMs: 1,
    stderrLines,
    stdout: '',
  });
  it('a known connection failure is explained with the side it concerns', () => {
    const f = explainToolFailure(run(['pg_dump: error: connection to server at "db.example.com", port 5433 failed: timeout expired']), {
      ...side,
      connectTimeoutSeconds: 3,
    });
    assert.equal(f.problem, 'timeout');
    assert.match(f.message, /did not answer within 3 s/);
  });
  it("anything else is the tool's first error, never with the password", () => {
    const f = explainToolFailure(run(["pg_dump: error: something odd with s3cr3t'pw inside"]), side);
    assert.equal(f.problem, 'tool_failed');
    assert.match(f.message, /something odd/);
    assert.ok(!f.message.includes("s3cr3t'pw"));
  });
  it('a tool that printed nothing: its exit code', () => {
    assert.match(explainToolFailure(run([], 3), side).message, /exited with code 3/);
  });
});
