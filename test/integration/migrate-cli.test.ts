/**
 * `hydra-migrate preflight | dump | create-database | restore | migrate` against a real PG15 source
 * and a real PG17 target with the real PG15 tools: a full migration of a realistic dataset, the
 * "columnar extension missing on the target" blocker, and bad inputs.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  addMigrationObjects,
  createMigrator,
  createSampleDatabase,
  MIGRATOR,
  MIGRATOR_PASSWORD,
  whileLocked,
} from '../helpers/fixtures.js';
import { processesMentioning } from '../helpers/processes.js';
import type { ProgressEvent } from '../../src/core/present/steps.js';
import { blackhole, PG15_TOOLS, startServers, type TestServer } from '../helpers/servers.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(repo, 'dist', 'cli.cjs');
const DB = 'shop';
let pg15: TestServer;
let pg17: TestServer;
let dir: string;

function run(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  // What the estimate learns stays in this run's folder, never in the home of whoever runs the tests.
  const base: NodeJS.ProcessEnv = { ...process.env, HYDRA_PG_BIN_DIR: PG15_TOOLS, HYDRA_MIGRATE_STATE_DIR: join(dir, 'state') };
  delete base.PGPASSWORD;
  const r = spawnSync(process.execPath, [cli, ...args], { env: { ...base, ...env }, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const src = (db = DB) => `postgresql://${MIGRATOR}@127.0.0.1:${pg15.port}/${encodeURIComponent(db)}?sslmode=disable`;
const tgt = (db: string) => `postgresql://${pg17.adminUser}@127.0.0.1:${pg17.port}/${encodeURIComponent(db)}?sslmode=disable`;
const passwords = () => ({ HYDRA_SOURCE_PASSWORD: MIGRATOR_PASSWORD, HYDRA_TARGET_PASSWORD: pg17.adminPassword });

async function scalar(server: TestServer, db: string, sql: string): Promise<string> {
  return String(Object.values((await server.sql(sql, db)).rows[0] as Record<string, unknown>)[0]);
}

before(async () => {
  assert.ok(existsSync(cli), 'build first: npm run build');
  ({ pg15, pg17 } = await startServers('pg15', 'pg17'));
  await createSampleDatabase(pg15, DB);
  await addMigrationObjects(pg15, DB);
  await createMigrator(pg17);
  dir = mkdtempSync(join(tmpdir(), 'hm-migrate-'));
});
after(async () => {
  await Promise.all([pg15?.stop(), pg17?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('hydra-migrate migrate PG15 -> PG17', () => {
  it('preflight: ready, with a warning for the role missing on the target', () => {
    const r = run(['preflight', '--source', src(), '--target', tgt('shop_v17'), '--json'], passwords());
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.ready, true);
    const roles = doc.checks.find((c: { id: string }) => c.id === 'roles');
    assert.equal(roles.status, 'warning');
    assert.ok(roles.items.includes('app_owner'));
    assert.match(doc.checks.find((c: { id: string }) => c.id === 'target-database').detail, /will be created/);
  });

  it('preflight --dump PATH: the plan says whether the archive would be compressed, as migrate then does', () => {
    const plan = (extra: string[]): string => {
      const r = run(['preflight', '--source', src(), '--target', tgt('shop_v17'), '--plan', 'directory', '--json', ...extra], passwords());
      assert.equal(r.code, 0, r.stdout + r.stderr);
      return (JSON.parse(r.stdout) as { plan: { reason: string } }).plan.reason;
    };
    // A folder not made yet: its nearest existing parent's disk (this one has room).
    assert.match(plan(['--dump', join(dir, 'later', 'shop.dir')]), /Archive uncompressed \(about .* free there\)/);
    assert.match(plan(['--dump', join(dir, 'shop.dir'), '--compress', '1']), /Archive gzip level 1, as asked\.$/);
    assert.doesNotMatch(plan([]), /Archive /, 'no --dump: nothing said of an archive it does not know');
  });

  it('migrates everything: every table with every row, columnar kept, objects, sequences, large objects', () => {
    const dump = join(dir, 'shop.dir'); // the plan streams this small database: the archive becomes shop.dump
    const r = run(
      ['migrate', '--source', src(), '--target', tgt('shop_v17'), '--dump', dump, '--no-owner', '--no-acl', '--json'],
      passwords(),
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.ok, true);
    assert.deepEqual(
      doc.steps.map((s: { step: string; ok: boolean }) => [s.step, s.ok]),
      [
        ['preflight', true],
        ['create-database', true],
        ['dump', true],
        ['restore', true],
        ['analyze', true],
      ],
    );
    assert.equal(doc.plan.kind, 'stream');
    assert.equal(doc.archive.path, join(dir, 'shop.dump'));
    assert.equal(doc.archive.format, 'custom');
    assert.match(doc.archive.sha256, /^[0-9a-f]{64}$/);
    // The migration ends with the validation of every table.
    assert.equal(doc.validation.ok, true);
    assert.ok(doc.validation.tables.some((t: { name: string; status: string }) => t.name === 'events' && t.status === 'match'));
    // Counted as of the dump's snapshot, with the source's rows now beside (nothing wrote meanwhile).
    assert.equal(doc.validation.sourceBasis, 'snapshot');
    const events = doc.validation.tables.find((t: { name: string }) => t.name === 'events');
    assert.equal(events.sourceRowsNow, events.sourceRows);
    assert.match(doc.steps.find((s: { step: string }) => s.step === 'dump').command, /--snapshot=/);
    assert.ok(!JSON.stringify(doc).includes(MIGRATOR_PASSWORD) && !JSON.stringify(doc).includes(pg17.adminPassword));
  });

  it('sync-sequences right after the migration: every sequence the same, nothing to set', () => {
    const r = run(['sync-sequences', '--source', src(), '--target', tgt('shop_v17'), '--json'], passwords());
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { set: number; changes: Array<{ action: string }> };
    assert.equal(doc.set, 0);
    assert.ok(doc.changes.length > 0 && doc.changes.every((c) => c.action === 'same' || c.action === 'unused'), r.stdout);
  });

  it('the target holds what the source holds', async () => {
    const checks: Array<[string, string]> = [
      ['SELECT count(*) FROM public.accounts', '1000'],
      ['SELECT count(*) FROM public.events', '500'],
      ['SELECT count(*) FROM public.measurements', '800'],
      ['SELECT count(*) FROM public.audit_log', '250'],
      ['SELECT count(*) FROM inventory.products', '300'],
      [`SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam WHERE c.oid = 'public.events'::regclass`, 'columnar'],
      [`SELECT relpersistence FROM pg_class WHERE oid = 'public.scratch'::regclass`, 'u'],
      [`SELECT last_value FROM public.invoice_no`, '1234'],
      [`SELECT public.add_tax(10)`, '12.0'],
      [`SELECT count(*) FROM pg_trigger WHERE tgname = 'accounts_audit'`, '1'],
      [`SELECT count(*) FROM pg_indexes WHERE indexname = 'accounts_name_idx'`, '1'],
      [`SELECT count(*) FROM pg_largeobject_metadata`, '2'],
      [`SELECT n FROM public.account_totals`, '1000'],
      [`SELECT pg_encoding_to_char(encoding) || ' ' || datcollate FROM pg_database WHERE datname = current_database()`, 'UTF8 C.UTF-8'],
    ];
    for (const [sql, expected] of checks) assert.equal(await scalar(pg17, 'shop_v17', sql), expected, sql);
  });

  it('restore refuses the now non-empty database, and restores only with that exact name confirmed', async () => {
    const refused = run(['restore', '--target', tgt('shop_v17'), '--in', join(dir, 'shop.dump')], passwords());
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /"shop_v17" is not empty/);
    assert.equal(await scalar(pg17, 'shop_v17', 'SELECT count(*) FROM public.audit_log'), '250', 'nothing restored');
  });

  it('--plan directory: a parallel directory archive, the human output names the plan, the steps and the validation', () => {
    const dump = join(dir, 'shop-dir.dir');
    const r = run(
      ['migrate', '--source', src(), '--target', tgt('shop_dir'), '--dump', dump, '--no-owner', '--no-acl', '--plan', 'directory'],
      passwords(),
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /Plan: Parallel directory archive \(\d+ jobs? for the dump and the restore\), as asked\./);
    assert.match(
      r.stderr,
      /== dump ==\n\$ PGHOST=127\.0\.0\.1 .*pg_dump .*--format=directory/,
      'the command is shown before the step runs',
    );
    assert.match(r.stderr, /== validate ==/);
    assert.match(r.stdout, /Migration finished in .*: preflight .*, dump .*, create-database .*, restore .*, analyze .*, validated\./);
    assert.ok(existsSync(join(dump, 'toc.dat')));
    // The archive's sha256 (data files hashed as pg_dump finished them) is what sha256sum gives by hand.
    const byHand = spawnSync('bash', ['-c', 'export LC_ALL=C; cd "$0" && sha256sum * | sha256sum', dump], {
      encoding: 'utf8',
    }).stdout.split(' ')[0]!;
    assert.match(byHand, /^[0-9a-f]{64}$/);
    assert.ok(r.stderr.includes(`sha256 ${byHand}`), r.stderr);
    // The disk has room: the archive is written uncompressed, and the plan says so and how to change it.
    assert.match(r.stderr, /Archive uncompressed \(about .*free there\).*--compress 1/);
    assert.match(r.stderr, /pg_dump .*--compress=0/);
    const files = readdirSync(dump).filter((f) => /^\d+\.dat/.test(f));
    assert.ok(files.length > 0 && files.every((f) => f.endsWith('.dat')), files.join(' '));
    // --compress 1: gzip data files, as asked.
    const zdump = join(dir, 'shop-dirz.dir');
    const z = run(
      [
        'migrate',
        '--source',
        src(),
        '--target',
        tgt('shop_dirz'),
        '--dump',
        zdump,
        '--no-owner',
        '--no-acl',
        '--plan',
        'directory',
        '--compress',
        '1',
        '--no-validate',
      ],
      passwords(),
    );
    assert.equal(z.code, 0, z.stdout + z.stderr);
    assert.doesNotMatch(z.stderr, /Archive uncompressed/);
    assert.match(z.stderr, /pg_dump .*--compress=1/);
    assert.ok(readdirSync(zdump).some((f) => f.endsWith('.dat.gz')));
    assert.equal(run(['migrate', '--source', src(), '--target', tgt('x'), '--dump', zdump, '--compress', '10'], passwords()).code, 2);
  });

  it('--no-validate --no-analyze: the work of the guide (dump, create, restore) and nothing more', () => {
    const r = run(
      [
        'migrate',
        '--source',
        src(),
        '--target',
        tgt('shop_bare'),
        '--dump',
        join(dir, 'bare.dump'),
        '--no-owner',
        '--no-acl',
        '--no-validate',
        '--no-analyze',
        '--json',
      ],
      passwords(),
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.validation, undefined);
    assert.equal(doc.steps.find((s: { step: string }) => s.step === 'analyze').skipped, true);
    const bad = run(['migrate', '--source', src(), '--target', tgt('x'), '--dump', join(dir, 'x.dump'), '--plan', 'fast'], passwords());
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--plan must be one of auto, stream, directory, custom \(not "fast"\)/);
  });

  it('estimates the time before any data moves, says it, and learns from each run between the same servers', async () => {
    const state = mkdtempSync(join(dir, 'estimates-'));
    const env = { ...passwords(), HYDRA_MIGRATE_STATE_DIR: state };
    // Enough data for a phase to take seconds: only those teach the estimate (fixed costs would mislead it).
    await pg15.sql(`CREATE DATABASE est OWNER ${MIGRATOR}`);
    await pg15.sql(
      `CREATE TABLE public.readings (id bigint PRIMARY KEY, at timestamptz, v text);
       INSERT INTO public.readings SELECT g, now(), md5(g::text) FROM generate_series(1, 1500000) g;
       ALTER TABLE public.readings OWNER TO ${MIGRATOR}; ANALYZE public.readings;`,
      'est',
    );
    const pre = run(['preflight', '--source', src('est'), '--target', tgt('est_1'), '--json'], env);
    assert.equal(pre.code, 0, pre.stdout + pre.stderr);
    const p = JSON.parse(pre.stdout);
    assert.equal(p.plan.kind, 'stream');
    const e = p.estimateSeconds;
    assert.ok(e.dump > 0 && e.analyze > 0 && e.restore >= 0, JSON.stringify(e));
    assert.ok(Math.abs(e.total - (e.dump + e.restore + e.analyze)) < 0.2, 'the phases add up to the total');
    assert.equal(p.estimate.basis, 'sample');
    assert.ok(p.estimate.sample.bytesPerSecond > 0 && p.estimate.sample.seconds > 0);
    assert.ok(!existsSync(join(state, 'estimates.json')), 'a preflight teaches nothing: nothing ran');

    const first = run(
      [
        'migrate',
        '--source',
        src('est'),
        '--target',
        tgt('est_1'),
        '--dump',
        join(dir, 'est1.dump'),
        '--no-owner',
        '--no-acl',
        '--no-validate',
      ],
      env,
    );
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(
      first.stderr,
      /\nEstimate: about [\d.]+ s: dump and load [\d.]+ s, analyze [\d.]+ s \(from a [\d.]+ s sample of public\.\w+\)\n/,
    );
    assert.ok(first.stderr.indexOf('Estimate:') < first.stderr.indexOf('== dump =='), 'said before the data moves');
    assert.match(first.stdout, /Migration finished in [\d.]+ m?s \(estimated [\d.]+ s\)/);
    // The data's step with its size and rate.
    assert.match(first.stdout, /dump [\d.]+ m?s \([\d.]+ MB, [\d.]+ MB\/s\)/);
    const learned = readFileSync(join(state, 'estimates.json'), 'utf8');
    const key = `127.0.0.1:${pg15.port} -> 127.0.0.1:${pg17.port} (stream)`;
    const factors = (JSON.parse(learned) as Record<string, Record<string, number>>)[key]!;
    assert.deepEqual(Object.keys(factors).sort(), ['dump'], learned);
    for (const f of Object.values(factors)) assert.ok(f >= 0.2 && f <= 5);
    assert.ok(!learned.includes(MIGRATOR_PASSWORD) && !learned.includes('est'), 'hosts and ports only: no password, no database');

    const second = run(
      [
        'migrate',
        '--source',
        src('est'),
        '--target',
        tgt('est_2'),
        '--dump',
        join(dir, 'est2.dump'),
        '--no-owner',
        '--no-acl',
        '--no-validate',
        '--json',
      ],
      env,
    );
    assert.equal(second.code, 0, second.stdout + second.stderr);
    const doc = JSON.parse(second.stdout);
    assert.equal(doc.estimate.basis, 'sample+history');
    assert.deepEqual(doc.estimate.learned, factors, 'the second estimate is corrected by what the first run taught');
  });

  it('--progress json: one object per line, by bytes, never going back, ending at 100', () => {
    // The database of the estimate test: 1.5M rows, a load of seconds.
    const r = run(
      [
        'migrate',
        '--source',
        src('est'),
        '--target',
        tgt('est_progress'),
        '--dump',
        join(dir, 'estp.dump'),
        '--no-owner',
        '--no-acl',
        '--no-validate',
        '--progress',
        'json',
      ],
      passwords(),
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const events = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{"phase"'))
      .map((l) => JSON.parse(l) as ProgressEvent);
    const load = events.filter((e) => e.phase === 'load');
    assert.ok(load.length >= 3, r.stderr);
    assert.ok(
      load.every((e) => e.bytesTotal !== null && e.bytesTotal > 50_000_000),
      "weighed by the tables' sizes",
    );
    for (let i = 1; i < load.length; i++)
      assert.ok(load[i]!.percent >= load[i - 1]!.percent && load[i]!.bytesDone! >= load[i - 1]!.bytesDone!, 'never back');
    assert.equal(load.at(-1)!.percent, 100);
    assert.equal(load.at(-1)!.bytesDone, load.at(-1)!.bytesTotal);
    assert.ok(
      load.some((e) => e.percent > 0 && e.percent < 100 && e.table === 'public.readings'),
      'the big table moves the bar while it loads',
    );
    for (const e of events) assert.ok(e.etaSeconds === null || e.etaSeconds >= 0);
    for (const phase of new Set(events.map((e) => e.phase)))
      assert.equal(events.filter((e) => e.phase === phase).at(-1)!.percent, 100, phase);
  });

  it('migrate into an existing non-empty database stops at preflight', () => {
    const r = run(
      ['migrate', '--source', src(), '--target', tgt('shop_v17'), '--dump', join(dir, 'again.dump'), '--format', 'custom'],
      passwords(),
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /"shop_v17" exists and is not empty/);
    assert.match(r.stderr, /Migration stopped at preflight: Not ready: 1 blocking problem\(s\): Target database\./);
    assert.ok(!existsSync(join(dir, 'again.dump')), 'nothing was dumped');
  });

  it('a migration its checks stop exits at once while a table of the source is locked (the size readers are closed, not waited for)', async () => {
    await whileLocked(pg15, DB, 'public.audit_log', () => {
      const t0 = Date.now();
      const r = run(['migrate', '--source', src(), '--target', tgt('never_made'), '--dump', join(dir, 'locked.dump')], {
        ...passwords(),
        HYDRA_TARGET_PASSWORD: 'not-the-password',
      });
      const ms = Date.now() - t0;
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /Migration stopped at preflight: Not ready: 1 blocking problem\(s\): Target server reachable\./);
      // The sizes wait on the locked table up to their 2 s lock timeout; the CLI exited 2.2 s after such a failure before.
      assert.ok(ms < 1500, `exited ${ms} ms after it started`);
    });
  });
});

describe('columnar extension missing on the target', () => {
  before(async () => {
    // FACTS: make the access method a member of an extension PG15 has and PG17 lacks (adminpack).
    await pg15.sql(`CREATE DATABASE hydra_ext OWNER ${MIGRATOR} TEMPLATE template0`);
    await pg15.sql(
      `
      CREATE EXTENSION adminpack;
      CREATE ACCESS METHOD columnar TYPE TABLE HANDLER heap_tableam_handler;
      ALTER EXTENSION adminpack ADD ACCESS METHOD columnar;
      SET ROLE ${MIGRATOR};
      CREATE TABLE public.metrics (id int, v float8) USING columnar;
      INSERT INTO public.metrics SELECT g, g FROM generate_series(1, 100) g;
      CREATE TABLE public.plain (id int PRIMARY KEY);
    `,
      'hydra_ext',
    );
  });

  it('preflight blocks and names the extension, the access method, the tables and the choices', () => {
    const r = run(['preflight', '--source', src('hydra_ext'), '--target', tgt('hydra_ext')], passwords());
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /✖ Extensions available on the target: .*adminpack.*access method "columnar" used by public\.metrics/);
    assert.match(r.stdout, /--no-table-access-method/);
    assert.match(r.stdout, /Not ready: \d+ blocking problem/);
  });

  it('preflight --rehearse restores the schema alone into a throwaway database and lists what would fail', async () => {
    const r = run(['preflight', '--source', src('hydra_ext'), '--target', tgt('hydra_ext'), '--rehearse', '--json'], passwords());
    assert.equal(r.code, 1, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.rehearsal.outcome, 'errors');
    assert.deepEqual(doc.rehearsal.errors.map((g: { cause: string }) => g.cause).sort(), ['access_method', 'missing_extension']);
    assert.equal(doc.checks.find((c: { id: string }) => c.id === 'rehearsal').status, 'blocker');
    const left = await pg17.sql(`SELECT datname FROM pg_database WHERE datname LIKE 'hm\\_rehearsal\\_%' OR datname = 'hydra_ext'`);
    assert.equal(left.rowCount, 0, 'no throwaway database left, the target database not created');
  });

  it('migrate stops before dumping anything', () => {
    const r = run(
      ['migrate', '--source', src('hydra_ext'), '--target', tgt('hydra_ext'), '--dump', join(dir, 'ext.dump'), '--json'],
      passwords(),
    );
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.failedStep, 'preflight');
    assert.equal(doc.steps.length, 1);
    assert.ok(!existsSync(join(dir, 'ext.dump')));
  });
});

describe('bad input on the command line', () => {
  it('restore of a file that is not an archive', () => {
    const notes = join(dir, 'notes.sql');
    writeFileSync(notes, 'CREATE TABLE x (id int);\n');
    const r = run(['restore', '--target', tgt('postgres'), '--in', notes], passwords());
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is not a pg_dump archive/);
  });

  it('dump to an existing path keeps it', () => {
    const existing = join(dir, 'keep.dump');
    writeFileSync(existing, 'keep me');
    const r = run(['dump', '--source', src(), '--out', existing, '--format', 'custom'], passwords());
    assert.equal(r.code, 1);
    assert.match(r.stderr, /exists already; it was left untouched/);
  });

  it('preflight with an unreachable target exits 2', () => {
    const r = run(['preflight', '--source', src(), '--target', `postgresql://x@127.0.0.1:1/db`], passwords());
    assert.equal(r.code, 2);
    assert.match(r.stdout, /refused/);
  });

  it('--connect-timeout bounds the step verbs too (dump, through pg_dump)', async () => {
    const hole = await blackhole();
    try {
      const out = join(dir, 'silent.dump');
      const r = run(
        [
          'dump',
          '--source',
          `postgresql://x@127.0.0.1:${hole.port}/db?sslmode=disable`,
          '--out',
          out,
          '--format',
          'custom',
          '--connect-timeout',
          '1',
        ],
        { HYDRA_SOURCE_PASSWORD: 'not-the-password' },
      );
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /did not answer within 1 s/);
      assert.ok(!existsSync(out));
      const bad = run(['dump', '--source', src(), '--out', out, '--connect-timeout', 'soon'], passwords());
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--connect-timeout must be a positive number of seconds/);
    } finally {
      await hole.close();
    }
  });

  it('a hang-up (SIGHUP: the terminal or ssh session closed) stops pg_dump and leaves no partial archive', async () => {
    const { spawn } = await import('node:child_process');
    const { statSync } = await import('node:fs');
    await pg15.sql(`CREATE DATABASE hangup OWNER ${MIGRATOR}`);
    await pg15.sql(
      `SET ROLE ${MIGRATOR}; CREATE TABLE public.big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 1500000) g`,
      'hangup',
    );
    const out = join(dir, 'hangup.dump');
    const child = spawn(process.execPath, [cli, 'dump', '--source', src('hangup'), '--out', out, '--format', 'custom', '--compress', '9'], {
      env: { ...process.env, HYDRA_PG_BIN_DIR: PG15_TOOLS, ...passwords() },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const deadline = Date.now() + 30_000;
    while (!(existsSync(`${out}.partial`) && statSync(`${out}.partial`).size > 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(`${out}.partial`), 'pg_dump started writing');
    const t0 = Date.now();
    child.kill('SIGHUP');
    const code = await exited;
    assert.ok(Date.now() - t0 < 10_000, `the CLI took ${Date.now() - t0} ms to stop`);
    assert.notEqual(code, 0);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(processesMentioning(out), [], 'no pg_dump left running');
    assert.ok(!existsSync(out) && !existsSync(`${out}.partial`), 'no archive, partial or complete');
  });

  it('--schema takes exact names (a wrong case fails), --schema-pattern takes pg_dump patterns', () => {
    const exact = run(
      ['dump', '--source', src(), '--out', join(dir, 'exact.dump'), '--format', 'custom', '--schema', 'Inventory'],
      passwords(),
    );
    assert.equal(exact.code, 1, exact.stderr);
    assert.match(exact.stderr, /Inventory/);
    assert.ok(!existsSync(join(dir, 'exact.dump')));
    const pattern = run(
      ['dump', '--source', src(), '--out', join(dir, 'pattern.dump'), '--format', 'custom', '--schema-pattern', 'INV*', '--json'],
      passwords(),
    );
    assert.equal(pattern.code, 0, pattern.stderr);
    assert.match(JSON.parse(pattern.stdout).command, /'--schema=INV\*' --strict-names/);
  });

  it('libpq variables of the caller (service, GSS, channel binding, sslmode) do not reach the tools', () => {
    const hostile = {
      PGSERVICE: 'nosuchservice',
      PGGSSENCMODE: 'require',
      PGCHANNELBINDING: 'require',
      PGSSLMODE: 'require',
      PGOPTIONS: '-c statement_timeout=1',
    };
    const r = run(['dump', '--source', src(), '--out', join(dir, 'clean-env.dump'), '--format', 'custom', '--json'], {
      ...passwords(),
      ...hostile,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).ok, true);
  });

  it('pg binaries missing: a clear message', () => {
    const r = run(['dump', '--source', src(), '--out', join(dir, 'x.dump'), '--pg-bin-dir', '/nonexistent/bin'], passwords());
    assert.equal(r.code, 2);
    assert.match(r.stderr, /pg_dump was not found \(looked in: \/nonexistent\/bin\/pg_dump\)/);
  });

  it('too-old pg_dump for the source server is a blocker naming both versions', () => {
    const r = run(
      ['preflight', '--source', `postgresql://${pg17.adminUser}@127.0.0.1:${pg17.port}/postgres?sslmode=disable`, '--target', tgt('newdb')],
      { HYDRA_SOURCE_PASSWORD: pg17.adminPassword, HYDRA_TARGET_PASSWORD: pg17.adminPassword },
    );
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /pg_dump 15\.\d+ .* is older than the source server \(PostgreSQL 17\.\d+\)/);
  });

  it('create-database --like copies encoding and locale; an existing name is refused', () => {
    const ok = run(['create-database', '--target', tgt('like me'), '--like', src(), '--json'], passwords());
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(JSON.parse(ok.stdout).sql, /CREATE DATABASE "like me" WITH TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C\.UTF-8'/);
    const again = run(['create-database', '--target', tgt('like me')], passwords());
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists already/);
  });
});

describe('create-database with roles and extensions, selective restore', () => {
  // Its own archive, so that it does not depend on what the migration test wrote.
  const archive = (): string => join(dir, 'selective.dir');
  before(() => {
    const r = run(['dump', '--source', src(), '--out', archive(), '--format', 'directory'], passwords());
    assert.equal(r.code, 0, r.stderr);
  });

  it("--create-roles creates the source's owner roles (NOLOGIN) and --create-extensions its extensions", async () => {
    const r = run(['create-database', '--target', tgt('prepared'), '--like', src(), '--create-roles', '--create-extensions'], passwords());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /created role app_owner \(NOLOGIN\)/);
    assert.equal(await scalar(pg17, 'postgres', `SELECT rolcanlogin::text FROM pg_roles WHERE rolname = 'app_owner'`), 'false');
  });

  it('restore --schema restores only that schema, with owners now that the role exists', async () => {
    const r = run(['restore', '--target', tgt('prepared'), '--in', archive(), '--schema', 'inventory', '--no-acl'], passwords());
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await scalar(pg17, 'prepared', 'SELECT count(*) FROM inventory.products'), '300');
    assert.equal(await scalar(pg17, 'prepared', `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`), '0');
    const bad = run(['restore', '--target', tgt('postgres'), '--in', archive(), '--schema', 'nope'], passwords());
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no schema named "nope"/);
  });
});
