/**
 * Dump, create database, restore and analyze with the real PG15 tools, from a real PG15 source
 * into a real PG17 target (a major-version upgrade), and the bad inputs around them.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, copyFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { analyze } from '../../src/core/analyze.js';
import { readArchive } from '../../src/core/archive.js';
import { createDatabase } from '../../src/core/createDatabase.js';
import { dump } from '../../src/core/dump.js';
import { readDatabaseLocale } from '../../src/core/inspect.js';
import { restore } from '../../src/core/restore.js';
import type { Side } from '../../src/core/side.js';
import type { StepProgress } from '../../src/core/step.js';
import { AWKWARD, createMigrator, createSampleDatabase, MIGRATOR, MIGRATOR_PASSWORD, q, sideOn, whileLocked } from '../helpers/fixtures.js';
import { PG15_TOOLS, startServers, type TestServer } from '../helpers/servers.js';

const tools = { pgDump: join(PG15_TOOLS, 'pg_dump'), pgRestore: join(PG15_TOOLS, 'pg_restore'), vacuumdb: join(PG15_TOOLS, 'vacuumdb') };
const DB = 'hydra app';
let pg15: TestServer;
let pg17: TestServer;
let dir: string;

const side = (server: TestServer, database: string, admin = false): Side => sideOn(server, database, { admin });

async function count(server: TestServer, db: string, table: string): Promise<number> {
  return Number((await server.sql(`SELECT count(*) AS n FROM ${table}`, db)).rows[0].n);
}

before(async () => {
  ({ pg15, pg17 } = await startServers('pg15', 'pg17'));
  await createSampleDatabase(pg15, DB);
  await createMigrator(pg17);
  await pg17.sql(`ALTER ROLE ${MIGRATOR} CREATEDB`);
  dir = mkdtempSync(join(tmpdir(), 'hm-steps-'));
});
after(async () => {
  await Promise.all([pg15?.stop(), pg17?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('dump', () => {
  it('custom format: verified archive with sha256, progress per table, password never in any command line', async () => {
    const out = join(dir, 'app.dump');
    const progress: StepProgress[] = [];
    const leaks: string[] = [];
    // Scan every process's command line while pg_dump runs, until a scan has seen pg_dump itself.
    let sawPgDump = false;
    const result = await dump({
      source: side(pg15, DB),
      ...tools,
      out,
      format: 'custom',
      noOwner: true,
      noAcl: true,
      onProgress: (p) => progress.push(p),
      onLine: () => {
        if (sawPgDump) return;
        for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
          try {
            const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
            if (cmd.includes(MIGRATOR_PASSWORD) || cmd.includes(encodeURIComponent(MIGRATOR_PASSWORD))) leaks.push(cmd);
            if (cmd.split('\0')[0]?.endsWith('pg_dump')) sawPgDump = true;
          } catch {
            // process ended
          }
        }
      },
    });
    assert.ok(result.ok, result.failure?.message);
    assert.ok(sawPgDump, 'a scan of the command lines saw pg_dump running');
    assert.deepEqual(leaks, []);
    assert.ok(!result.command.includes(MIGRATOR_PASSWORD));
    assert.match(result.command, /PGPASSWORD=\*\*\* .*pg_dump --verbose --no-password --format=custom/);
    assert.match(result.archive.sha256, /^[0-9a-f]{64}$/);
    assert.ok(result.archive.entries > 20);
    assert.equal(result.archive.toc.format, 'CUSTOM');
    assert.ok(result.archive.toc.entries.some((e) => e.desc === 'TABLE DATA' && e.tag === 'accounts'));
    assert.ok(result.archive.toc.entries.some((e) => e.desc === 'ACCESS METHOD' && e.tag === 'columnar'));
    assert.ok(!existsSync(`${out}.partial`));
    const last = progress.at(-1)!;
    assert.equal(last.done, last.total, 'progress reaches the total');
    // …and it moved on the way, table by table, never backwards.
    assert.ok(
      progress.some((p) => p.done > 0 && p.done < p.total && p.label),
      'progress was reported during the dump',
    );
    assert.ok(
      progress.every((p, i) => i === 0 || p.done >= progress[i - 1]!.done),
      'progress never goes back',
    );
    assert.ok(last.total >= 8, `tables counted: ${last.total}`);
  });

  it('directory format with --jobs 2', async () => {
    const out = join(dir, 'app.dir');
    const progress: StepProgress[] = [];
    const result = await dump({ source: side(pg15, DB), ...tools, out, format: 'directory', jobs: 2, onProgress: (p) => progress.push(p) });
    assert.ok(result.ok, result.failure?.message);
    assert.match(result.command, /--format=directory .*--jobs=2/);
    // Parallel pg_dump prints two lines per table: progress counts each table once and never goes back.
    const percent = progress.map((p) => (p.total ? p.done / p.total : 0));
    assert.ok(
      percent.every((x, i) => i === 0 || x >= percent[i - 1]!),
      JSON.stringify(progress),
    );
    assert.ok(
      progress.every((p) => p.done <= p.total),
      JSON.stringify(progress),
    );
    assert.equal(progress.at(-1)?.total, progress[0]?.total, 'the total counted before the dump held');
    assert.ok(statSync(out).isDirectory() && existsSync(join(out, 'toc.dat')));
  });

  it('chosen schemas are exact names: every table of each is in the archive, a name that matches nothing fails', async () => {
    const out = join(dir, 'chosen.dump');
    const result = await dump({
      source: side(pg15, DB),
      ...tools,
      out,
      format: 'custom',
      schemas: ['public', AWKWARD.schemaQuote, AWKWARD.schemaUnicode],
    });
    assert.ok(result.ok, result.failure?.message);
    assert.match(result.command, /--strict-names/);
    const tables = result.archive.toc.entries.filter((e) => e.desc === 'TABLE').map((e) => e.line);
    assert.ok(
      tables.some((l) => l.includes(`TABLE ${AWKWARD.schemaQuote} ${AWKWARD.tableSemicolon} `)),
      tables.join('\n'),
    );
    assert.ok(
      tables.some((l) => l.includes(`TABLE ${AWKWARD.schemaUnicode} ${AWKWARD.tableUnicode} `)),
      tables.join('\n'),
    );
    assert.ok(!tables.some((l) => l.includes(AWKWARD.schemaDot)), 'a schema not chosen is not dumped');

    const wrong = join(dir, 'wrong-case.dump');
    const missing = await dump({ source: side(pg15, DB), ...tools, out: wrong, format: 'custom', schemas: ['public', 'Public'] });
    assert.equal(missing.ok, false, 'a schema that does not exist (names are case-sensitive) fails the dump');
    assert.match(missing.failure?.message ?? '', /Public/);
    assert.ok(!existsSync(wrong) && !existsSync(`${wrong}.partial`));
  });

  it('refuses to overwrite an existing output and leaves it untouched', async () => {
    const out = join(dir, 'existing.dump');
    writeFileSync(out, 'precious');
    const result = await dump({ source: side(pg15, DB), ...tools, out, format: 'custom' });
    assert.equal(result.failure?.problem, 'output_exists');
    assert.equal(readFileSync(out, 'utf8'), 'precious');
  });

  it('a wrong password fails with the explanation and leaves no archive', async () => {
    const out = join(dir, 'wrong.dump');
    const result = await dump({ source: { ...side(pg15, DB), password: 'Not-The-Password' }, ...tools, out, format: 'custom' });
    assert.equal(result.ok, false);
    assert.equal(result.failure?.problem, 'auth_failed', result.failure?.message);
    assert.ok(!existsSync(out) && !existsSync(`${out}.partial`));
  });

  it('a table the user may not read: permission denied, named', async () => {
    await pg15.sql(`CREATE TABLE public.admin_only (id int)`, DB);
    try {
      const result = await dump({ source: side(pg15, DB), ...tools, out: join(dir, 'perm.dump'), format: 'custom' });
      assert.equal(result.failure?.problem, 'permission_denied');
      assert.match(result.failure.message, /permission denied for table admin_only/);
      assert.ok(!existsSync(join(dir, 'perm.dump')) && !existsSync(join(dir, 'perm.dump.partial')));
    } finally {
      await pg15.sql(`DROP TABLE public.admin_only`, DB);
    }
  });

  it('cancelling stops pg_dump within 2 s and removes the partial archive', async () => {
    await pg15.sql(
      `SET ROLE ${MIGRATOR}; CREATE TABLE IF NOT EXISTS public.big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 600000) g`,
      DB,
    );
    const out = join(dir, 'cancel.dump');
    const controller = new AbortController();
    let abortedAt = 0;
    const result = await dump({
      source: side(pg15, DB),
      ...tools,
      out,
      format: 'custom',
      compress: 9,
      signal: controller.signal,
      onLine: (line) => {
        if (!abortedAt && /dumping contents of table/.test(line)) {
          abortedAt = performance.now();
          controller.abort();
        }
      },
    });
    const stoppedAfter = performance.now() - abortedAt;
    await pg15.sql(`DROP TABLE public.big`, DB);
    assert.equal(
      result.cancelled,
      true,
      JSON.stringify({ ...result, run: { ...result.run, stderrLines: result.run?.stderrLines.slice(-5) } }),
    );
    assert.equal(result.ok, false);
    assert.ok(stoppedAfter < 2000, `stopped after ${Math.round(stoppedAfter)} ms`);
    assert.ok(!existsSync(out) && !existsSync(`${out}.partial`));
  });
});

describe('create database and restore PG15 -> PG17', () => {
  const target = `migrated "db"; ü`;
  // This describe's own archives, so that no test depends on what another one wrote.
  let customArchive: string;
  let directoryArchive: string;
  before(async () => {
    customArchive = join(dir, 'restore-input.dump');
    directoryArchive = join(dir, 'restore-input.dir');
    const [c, d] = await Promise.all([
      dump({ source: side(pg15, DB), ...tools, out: customArchive, format: 'custom' }),
      dump({ source: side(pg15, DB), ...tools, out: directoryArchive, format: 'directory', jobs: 2 }),
    ]);
    assert.ok(c.ok && d.ok, `${c.failure?.message ?? ''} ${d.failure?.message ?? ''}`);
  });
  const emptyDatabase = async (name: string): Promise<void> => {
    const created = await createDatabase(side(pg17, 'postgres', true), name, await readDatabaseLocale(side(pg15, DB)), { owner: MIGRATOR });
    assert.ok(created.ok, created.failure?.message);
  };

  it('creates the target database like the source (encoding, locale, template0), any name', async () => {
    const locale = await readDatabaseLocale(side(pg15, DB));
    assert.deepEqual([locale.encoding, locale.collate, locale.ctype], ['UTF8', 'C.UTF-8', 'C.UTF-8']);
    const created = await createDatabase(side(pg17, 'postgres', true), target, locale, { owner: MIGRATOR });
    assert.ok(created.ok, created.failure?.message);
    assert.match(
      created.sql,
      /^CREATE DATABASE "migrated ""db""; ü" WITH TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C\.UTF-8' LC_CTYPE 'C\.UTF-8' OWNER "migrator"$/,
    );
    const again = await createDatabase(side(pg17, 'postgres', true), target, locale);
    assert.equal(again.failure?.problem, 'database_exists');
  });

  it('restores everything with --jobs 2: rows, columnar access method, awkward names; no password in any command line', async () => {
    const restored = `restored "db"; ü`;
    await emptyDatabase(restored);
    const leaks: string[] = [];
    let sawRestore = false;
    const result = await restore({
      target: side(pg17, restored, true),
      pgRestore: tools.pgRestore,
      archive: customArchive,
      jobs: 2,
      onLine: () => {
        for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
          try {
            const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
            if (cmd.includes('pg_restore')) sawRestore = true;
            if (cmd.includes(pg17.adminPassword) || cmd.includes(encodeURIComponent(pg17.adminPassword))) leaks.push(cmd);
          } catch {
            // gone
          }
        }
      },
    });
    assert.ok(sawRestore, 'pg_restore processes were scanned while they ran');
    assert.deepEqual(leaks, []);
    assert.ok(result.ok, `${result.failure?.message}\n${result.errors.map((e) => e.title).join('\n')}`);
    assert.equal(result.errorCount, 0);
    assert.equal(await count(pg17, restored, 'public.accounts'), 1000);
    assert.equal(await count(pg17, restored, 'public.events'), 500);
    assert.equal(await count(pg17, restored, 'public.measurements'), 800);
    assert.equal(await count(pg17, restored, `${q(AWKWARD.schemaQuote)}.${q(AWKWARD.tableSemicolon)}`), 42);
    const am = await pg17.sql(
      `SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.oid = 'public.events'::regclass`,
      restored,
    );
    assert.equal(am.rows[0].amname, 'columnar');
    const analyzed = await analyze({ target: side(pg17, restored, true), vacuumdb: tools.vacuumdb, jobs: 2 });
    assert.ok(analyzed.ok, analyzed.failure?.message);
  });

  it('refuses a non-empty target database unless that exact name is confirmed', async () => {
    const busy = 'busy db';
    await emptyDatabase(busy);
    const first = await restore({ target: side(pg17, busy, true), pgRestore: tools.pgRestore, archive: customArchive });
    assert.ok(first.ok, first.failure?.message);
    const before = await count(pg17, busy, 'public.accounts');
    const refused = await restore({ target: side(pg17, busy, true), pgRestore: tools.pgRestore, archive: customArchive });
    assert.equal(refused.failure?.problem, 'target_not_empty');
    assert.match(refused.failure.message, /is not empty/);
    assert.equal(refused.run, undefined, 'pg_restore was not started');
    const wrongConfirmation = await restore({
      target: side(pg17, busy, true),
      pgRestore: tools.pgRestore,
      archive: customArchive,
      confirmNonEmptyDatabase: 'postgres',
    });
    assert.equal(wrongConfirmation.failure?.problem, 'target_not_empty');
    assert.equal(await count(pg17, busy, 'public.accounts'), before, 'nothing was restored');
    // With exactly this name confirmed pg_restore runs; on top of the existing objects it fails on each of them.
    const confirmed = await restore({
      target: side(pg17, busy, true),
      pgRestore: tools.pgRestore,
      archive: customArchive,
      confirmNonEmptyDatabase: busy,
    });
    assert.notEqual(confirmed.run, undefined, 'pg_restore ran');
    assert.equal(confirmed.failure?.problem, 'restore_errors');
    assert.ok(
      confirmed.errors.some((g) => g.cause === 'already_exists'),
      confirmed.errors.map((g) => g.cause).join(','),
    );
  });

  it('a database that holds only extensions (their views and tables included) counts as empty', async () => {
    const prepared = 'extensions only';
    await emptyDatabase(prepared);
    // pg_buffercache brings a view, pg_stat_statements two views: objects of the extensions, not the user's.
    await pg17.sql('CREATE EXTENSION pg_buffercache; CREATE EXTENSION pg_stat_statements', prepared);
    const result = await restore({ target: side(pg17, prepared, true), pgRestore: tools.pgRestore, archive: customArchive });
    assert.notEqual(result.failure?.problem, 'target_not_empty', result.failure?.message);
    assert.ok(result.ok, result.failure?.message);
    assert.equal(await count(pg17, prepared, 'public.accounts'), 1000);
    // A table of the user's makes it non-empty again.
    await pg17.sql('CREATE DATABASE "one table"; ', 'postgres');
    await pg17.sql('CREATE EXTENSION pg_buffercache; CREATE TABLE public.mine (id int)', 'one table');
    const refused = await restore({ target: side(pg17, 'one table', true), pgRestore: tools.pgRestore, archive: customArchive });
    assert.equal(refused.failure?.problem, 'target_not_empty');
    assert.match(refused.failure.message, /\(1 objects, 0 schemas\)/);
  });

  it('restores chosen schemas whose names have spaces, quotes, dots and unicode, and nothing else', async () => {
    const chosen = 'awkward schemas';
    await emptyDatabase(chosen);
    const r = await restore({
      target: side(pg17, chosen, true),
      pgRestore: tools.pgRestore,
      archive: customArchive,
      noOwner: true,
      noAcl: true,
      schemas: [AWKWARD.schemaQuote, AWKWARD.schemaDot],
    });
    assert.ok(r.ok, `${r.failure?.message} ${r.errors.map((g) => g.title).join('; ')}`);
    const { rows } = await pg17.sql(
      `SELECT n.nspname AS s, c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
      chosen,
    );
    assert.deepEqual(
      rows.map((x: { s: string; t: string }) => [x.s, x.t]),
      [
        [AWKWARD.schemaDot, AWKWARD.table63],
        [AWKWARD.schemaQuote, AWKWARD.tableSemicolon],
      ],
    );
    assert.equal(await count(pg17, chosen, `${q(AWKWARD.schemaQuote)}.${q(AWKWARD.tableSemicolon)}`), 42);
  });

  it('a schema name that starts like another one ("sp" and "sp ace") is told apart', async () => {
    await pg15.sql(`CREATE DATABASE spaces OWNER ${MIGRATOR}`);
    await pg15.sql(
      `SET ROLE ${MIGRATOR}; CREATE SCHEMA sp; CREATE SCHEMA "sp ace"; CREATE TABLE sp.t0 (id int); CREATE TABLE "sp ace".t1 (id int);
      INSERT INTO "sp ace".t1 VALUES (1), (2)`,
      'spaces',
    );
    const archive = join(dir, 'spaces.dump');
    const d = await dump({ source: side(pg15, 'spaces'), ...tools, out: archive, format: 'custom' });
    assert.ok(d.ok, d.failure?.message);
    assert.ok(
      d.archive.toc.entries.some((e) => e.desc === 'TABLE' && e.schema === 'sp ace' && e.tag === 't1'),
      JSON.stringify(d.archive.toc.entries.filter((e) => e.desc === 'TABLE')),
    );
    await emptyDatabase('spaces');
    const r = await restore({
      target: side(pg17, 'spaces', true),
      pgRestore: tools.pgRestore,
      archive,
      noOwner: true,
      noAcl: true,
      schemas: ['sp ace'],
    });
    assert.ok(r.ok, r.failure?.message);
    const { rows } = await pg17.sql(
      `SELECT n.nspname AS s, c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname LIKE 'sp%'`,
      'spaces',
    );
    assert.deepEqual(
      rows.map((x: { s: string; t: string }) => [x.s, x.t]),
      [['sp ace', 't1']],
    );
  });

  it('groups restore errors by cause and never calls them a success', async () => {
    await pg17.sql(`CREATE DATABASE errs OWNER ${MIGRATOR} TEMPLATE template0`);
    // As a non-superuser: the access method cannot be created and owners cannot be set.
    const result = await restore({ target: side(pg17, 'errs'), pgRestore: tools.pgRestore, archive: directoryArchive });
    assert.equal(result.ok, false);
    assert.equal(result.failure?.problem, 'restore_errors');
    assert.ok(result.errorCount > 0);
    const causes = result.errors.map((g) => g.cause);
    assert.ok(causes.includes('permission'), causes.join(','));
    const perm = result.errors.find((g) => g.cause === 'permission')!;
    assert.ok(perm.examples[0]?.command, 'the failed statement is attached');
  });

  it('explains a file that is not an archive and a truncated archive', async () => {
    const notArchive = join(dir, 'notes.txt');
    writeFileSync(notArchive, 'SELECT 1;\n'.repeat(100));
    assert.equal(
      (await restore({ target: side(pg17, 'errs', true), pgRestore: tools.pgRestore, archive: notArchive })).failure?.problem,
      'not_an_archive',
    );
    const truncated = join(dir, 'truncated.dump');
    copyFileSync(customArchive, truncated);
    truncateSync(truncated, 600);
    const read = await readArchive(tools.pgRestore, truncated);
    assert.ok(!read.ok && read.failure.problem === 'truncated_archive', JSON.stringify(read));
    assert.equal(
      (await restore({ target: side(pg17, 'errs', true), pgRestore: tools.pgRestore, archive: join(dir, 'missing.dump') })).failure
        ?.problem,
      'archive_missing',
    );
  });

  it('a target database that does not exist is named with the fix', async () => {
    const r = await restore({ target: side(pg17, 'nosuchdb', true), pgRestore: tools.pgRestore, archive: customArchive });
    assert.equal(r.failure?.problem, 'database_missing');
    assert.match(r.failure.hint, /Create it first/);
  });
});

describe('failures in the middle of a step', () => {
  it('a full disk: the dump fails with the explanation and leaves no archive', async (t) => {
    const mount = join(dir, 'tiny');
    const { mkdirSync } = await import('node:fs');
    const { spawnSync } = await import('node:child_process');
    mkdirSync(mount);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mount]).status === 0;
    if (!mounted) {
      // In CI the machine is ours (root): a skipped disk-full test would hide a regression.
      assert.ok(!process.env.CI, 'CI must be able to mount a 64 KiB tmpfs for the disk-full test (run as root)');
      t.skip('cannot mount a tmpfs here (not root or no permission)');
      return;
    }
    try {
      const out = join(mount, 'full.dump');
      const result = await dump({ source: side(pg15, DB), ...tools, out, format: 'custom', compress: 0 });
      assert.equal(result.ok, false);
      assert.equal(result.failure?.problem, 'disk_full', result.failure?.message);
      assert.match(result.failure.hint, /Free space/);
      assert.ok(!existsSync(out) && !existsSync(`${out}.partial`), 'no partial archive left');
    } finally {
      spawnSync('umount', [mount]);
    }
  });

  it('the target server going away during a restore is named as such', async () => {
    const { startServer } = await import('../helpers/servers.js');
    const doomed = await startServer('pg17');
    try {
      await doomed.sql(`CREATE DATABASE victim TEMPLATE template0`);
      await pg15.sql(
        `SET ROLE ${MIGRATOR}; CREATE TABLE IF NOT EXISTS public.bulk AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 1500000) g`,
        DB,
      );
      const archive = join(dir, 'bulk.dump');
      const d = await dump({ source: side(pg15, DB), ...tools, out: archive, format: 'custom', tables: ['public.bulk'] });
      assert.ok(d.ok, d.failure?.message);
      let stopped = false;
      const r = await restore({
        target: side(doomed, 'victim', true),
        pgRestore: tools.pgRestore,
        archive,
        onLine: (line) => {
          if (!stopped && /processing data for table/.test(line)) {
            stopped = true;
            void doomed.stop();
          }
        },
      });
      assert.ok(stopped, 'the server was stopped during the restore');
      assert.equal(r.ok, false);
      assert.match(r.failure?.message ?? '', /went away|closed the connection|refused/, JSON.stringify(r.failure));
      assert.match(r.failure.hint, /drop and recreate "victim"/);
    } finally {
      await doomed.stop();
      await pg15.sql(`DROP TABLE IF EXISTS public.bulk`, DB);
    }
  });
});

describe('the connect timeout (hydraMigrate.connectTimeoutSeconds / --connect-timeout)', () => {
  it('bounds the dump (pg_dump and the catalog probe) and the readiness checks', async () => {
    const { blackhole } = await import('../helpers/servers.js');
    const { preflight } = await import('../../src/core/preflight.js');
    const hole = await blackhole();
    try {
      const silent: Side = { ...side(pg15, DB), profile: { ...side(pg15, DB).profile, port: hole.port }, connectTimeoutSeconds: 1 };
      let started = performance.now();
      const out = join(dir, 'silent.dump');
      const dumped = await dump({ source: silent, ...tools, out, format: 'custom' });
      assert.equal(dumped.failure?.problem, 'timeout', dumped.failure?.message);
      // The default is 10 s: well under that means the setting reached pg_dump (PGCONNECT_TIMEOUT) and the probe.
      assert.ok(performance.now() - started < 6000, `dump gave up after ${Math.round(performance.now() - started)} ms`);
      assert.ok(!existsSync(out) && !existsSync(`${out}.partial`));

      started = performance.now();
      const report = await preflight({ source: silent, target: side(pg17, 'postgres', true), binDir: PG15_TOOLS });
      const source = report.checks.find((c) => c.id === 'source');
      assert.equal(source?.status, 'blocker');
      assert.match(source.detail, /did not answer within 1 s/);
      assert.ok(performance.now() - started < 6000, `readiness checks gave up after ${Math.round(performance.now() - started)} ms`);
    } finally {
      await hole.close();
    }
  });
});

describe('a live source: a table another session has locked', () => {
  it('the dump gives up after the lock wait timeout, says why, and leaves no archive', async () => {
    await whileLocked(pg15, DB, 'public.accounts', async () => {
      const out = join(dir, 'locked.dump');
      const started = performance.now();
      const result = await dump({ source: side(pg15, DB), ...tools, out, format: 'custom', lockWaitTimeoutSeconds: 1 });
      assert.ok(performance.now() - started < 20_000, 'pg_dump did not wait for the lock');
      assert.equal(result.failure?.problem, 'lock_timeout', result.failure?.message);
      assert.match(result.failure.message, /locked by another session; pg_dump waited 1 s/);
      assert.ok(!existsSync(out) && !existsSync(`${out}.partial`));
    });
  });
});

describe('archives are private', () => {
  it('the dump folder is created 0700, a custom archive is 0600, a directory archive 0700 with 0600 files', async () => {
    const folder = join(dir, 'private', 'nested');
    const custom = join(folder, 'p.dump');
    const directory = join(folder, 'p.dir');
    const [c, d] = await Promise.all([
      dump({ source: side(pg15, DB), ...tools, out: custom, format: 'custom' }),
      dump({ source: side(pg15, DB), ...tools, out: directory, format: 'directory', jobs: 2 }),
    ]);
    assert.ok(c.ok && d.ok, `${c.failure?.message ?? ''} ${d.failure?.message ?? ''}`);
    const mode = (p: string): string => (statSync(p).mode & 0o777).toString(8);
    assert.equal(mode(join(dir, 'private')), '700');
    assert.equal(mode(folder), '700');
    assert.equal(mode(custom), '600');
    assert.equal(mode(directory), '700');
    const files = readdirSync(directory);
    assert.ok(files.includes('toc.dat'));
    assert.deepEqual([...new Set(files.map((f) => mode(join(directory, f))))], ['600']);
  });
});

describe('a small server: parallel jobs within half of its free connections', () => {
  it('dump and restore lower their jobs, say why, and still succeed', async () => {
    const { startServer } = await import('../helpers/servers.js');
    const small = await startServer('pg15', { settings: { max_connections: '12', superuser_reserved_connections: '2' } });
    try {
      await createSampleDatabase(small, 'small');
      const lines: string[] = [];
      const out = join(dir, 'small.dir');
      const d = await dump({ source: sideOn(small, 'small'), ...tools, out, format: 'directory', jobs: 8, onLine: (l) => lines.push(l) });
      assert.ok(d.ok, d.failure?.message);
      // 12 - 2 reserved - 0 in use = 10 free, half is 5, less the leader: 4 workers.
      assert.match(d.command, /--jobs=4 /);
      assert.ok(
        lines.some((l) => /^hydra-migrate: jobs 4 instead of 8: 10 connection\(s\) free/.test(l)),
        lines.filter((l) => l.startsWith('hydra')).join('\n'),
      );
      await small.sql('CREATE DATABASE again TEMPLATE template0');
      const r = await restore({
        target: sideOn(small, 'again', { admin: true }),
        pgRestore: tools.pgRestore,
        archive: out,
        jobs: 8,
        noOwner: true,
        noAcl: true,
      });
      assert.ok(r.ok, r.failure?.message);
      assert.match(r.command, /--jobs=5 /);
    } finally {
      await small.stop();
    }
  });
});
