/**
 * `hydra-migrate restore --resume` against real servers: a restore killed with SIGKILL (the CLI and
 * its pg_restore processes) in the middle of the data is completed by --resume, which keeps the
 * tables already loaded and the indexes already built, and the target then validates identical to
 * the source (every table's rows, objects, sequences, large objects). A database whose schema was
 * not restored is refused, with nothing restored.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import pg from 'pg';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { addMigrationObjects, createMigrator, createSampleDatabase, MIGRATOR, MIGRATOR_PASSWORD, sideOn } from '../helpers/fixtures.js';
import { processesMentioning } from '../helpers/processes.js';
import { PG15_TOOLS, startServers, type TestServer } from '../helpers/servers.js';
import { dump } from '../../src/core/dump.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(repo, 'dist', 'cli.cjs');
const DB = 'resumable';
let pg15: TestServer;
let pg17: TestServer;
let dir: string;
let archive: string;

const env = (): NodeJS.ProcessEnv => {
  const e: NodeJS.ProcessEnv = {
    ...process.env,
    HYDRA_PG_BIN_DIR: PG15_TOOLS,
    HYDRA_MIGRATE_STATE_DIR: join(dir, 'state'),
    HYDRA_SOURCE_PASSWORD: MIGRATOR_PASSWORD,
    HYDRA_TARGET_PASSWORD: pg17.adminPassword,
  };
  delete e.PGPASSWORD;
  return e;
};
const tgt = (db: string) => `postgresql://${pg17.adminUser}@127.0.0.1:${pg17.port}/${db}?sslmode=disable`;
const src = () => `postgresql://${MIGRATOR}@127.0.0.1:${pg15.port}/${DB}?sslmode=disable`;
function run(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { env: env(), encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const count = async (db: string, sql: string): Promise<number> => Number(Object.values((await pg17.sql(sql, db)).rows[0] as object)[0]);

before(async () => {
  assert.ok(existsSync(cli), 'build first: npm run build');
  ({ pg15, pg17 } = await startServers('pg15', 'pg17'));
  await createSampleDatabase(pg15, DB);
  await addMigrationObjects(pg15, DB);
  // Tables big enough that the data takes seconds: the restore is killed in the middle of it.
  await pg15.sql(
    `SET ROLE ${MIGRATOR};
     ${[1, 2, 3, 4, 5, 6]
       .map(
         (i) => `CREATE TABLE public.bulk_${i} (id bigint PRIMARY KEY, v text NOT NULL);
           INSERT INTO public.bulk_${i} SELECT g, md5(g::text) FROM generate_series(1, 300000) g;
           CREATE INDEX bulk_${i}_v ON public.bulk_${i} (v);`,
       )
       .join('\n')}`,
    DB,
  );
  await createMigrator(pg17);
  dir = mkdtempSync(join(tmpdir(), 'hm-resume-'));
  archive = join(dir, 'resumable.dump');
  const made = await dump({
    source: sideOn(pg15, DB),
    pgDump: join(PG15_TOOLS, 'pg_dump'),
    pgRestore: join(PG15_TOOLS, 'pg_restore'),
    out: archive,
    format: 'custom',
    noOwner: true,
    noAcl: true,
  });
  assert.ok(made.ok, made.failure?.message);
});
after(async () => {
  await Promise.all([pg15?.stop(), pg17?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs the CLI with `args` detached and kills it with SIGKILL (its process group: the CLI and its
 * pg_dump/pg_restore) once some bulk tables of `db` on the target hold their rows, others not yet,
 * and a COPY runs; waits for the server to drop the sessions. Returns the bulk tables that kept their rows.
 */
async function killMidData(args: string[], db: string, alsoKill?: string): Promise<string[]> {
  const log = join(dir, `${db}.log`);
  const fd = openSync(log, 'w');
  const child = spawn(process.execPath, [cli, ...args], { env: env(), detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exited = false;
  child.on('exit', () => (exited = true));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && !exited) {
    const state = await progressOf(db).catch(() => undefined); // the database is not created yet
    if (state && state.copying > 0 && state.loaded >= 1 && state.loaded < 5) break;
    await new Promise((res) => setTimeout(res, 30));
  }
  assert.ok(!exited, `the run was still going when it was killed: ${readFileSync(log, 'utf8')}`);
  // The CLI and its tools, as the machine going away would.
  process.kill(-child.pid!, 'SIGKILL');
  for (const pid of alsoKill ? processesMentioning(alsoKill) : []) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
  }
  // The server notices the clients gone; their COPYs roll back.
  for (let i = 0; i < 200; i++) {
    if ((await count('postgres', `SELECT count(*) FROM pg_stat_activity WHERE datname = '${db}'`)) === 0) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  const loaded: string[] = [];
  for (const t of BULK) if ((await count(db, `SELECT count(*) FROM ${t}`)) > 0) loaded.push(t);
  assert.ok(loaded.length >= 1 && loaded.length < BULK.length, `killed in the middle of the data: ${loaded.join(', ')}`);
  return loaded;
}
const BULK = [1, 2, 3, 4, 5, 6].map((i) => `public.bulk_${i}`);

/**
 * COPYs running in `db` now, and bulk tables whose data committed. Tables a COPY is loading are
 * not loaded; the others' rows are counted with a short lock timeout (a count waiting behind a lock
 * would report a moment long gone): a table locked by a primary key or index being built (after its
 * data) counts as loaded, one locked by the TRUNCATE before its COPY does not.
 */
async function progressOf(db: string): Promise<{ copying: number; loaded: number }> {
  const c = new pg.Client({ host: '127.0.0.1', port: pg17.port, user: pg17.adminUser, password: pg17.adminPassword, database: db });
  await c.connect();
  try {
    await c.query(`SET lock_timeout = '30ms'`);
    const copied = new Set(
      (await c.query<{ t: string }>(`SELECT relid::regclass::text AS t FROM pg_stat_progress_copy`)).rows.map((r) => `public.${r.t}`),
    );
    let loaded = 0;
    for (const t of BULK.filter((x) => !copied.has(x))) {
      try {
        if (Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n) > 0) loaded++;
      } catch (e) {
        if ((e as { code?: string }).code !== '55P03') throw e;
        // Locked: loaded if the lock is a post-data build's (ALTER TABLE … ADD, CREATE INDEX), not a TRUNCATE before its COPY.
        const holder = await c.query<{ q: string }>(
          `SELECT a.query AS q FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.relation = $1::regclass AND l.granted AND l.pid <> pg_backend_pid()`,
          [t],
        );
        if (holder.rows.some((h) => /^\s*(ALTER TABLE|CREATE (UNIQUE )?INDEX)/i.test(h.q))) loaded++;
      }
    }
    return { copying: copied.size, loaded };
  } finally {
    await c.end();
  }
}

describe('hydra-migrate restore --resume', () => {
  it('a restore killed with SIGKILL in the middle of the data is completed by --resume and validates identical', async () => {
    await pg17.sql('CREATE DATABASE resumed TEMPLATE template0');
    const loadedBefore = await killMidData(
      ['restore', '--target', tgt('resumed'), '--in', archive, '--jobs', '2', '--no-owner', '--no-acl'],
      'resumed',
      archive,
    );
    const bulk = BULK;

    // Going on in a database that holds data needs its name confirmed.
    const unconfirmed = run(['restore', '--target', tgt('resumed'), '--in', archive, '--resume']);
    assert.equal(unconfirmed.code, 1);
    assert.match(unconfirmed.stderr + unconfirmed.stdout, /confirm this exact database name/);
    const resumed = run([
      'restore',
      '--target',
      tgt('resumed'),
      '--in',
      archive,
      '--jobs',
      '2',
      '--no-owner',
      '--no-acl',
      '--resume',
      '--confirm-non-empty',
      'resumed',
    ]);
    assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
    const said = resumed.stderr + resumed.stdout;
    const m = /resume: (\d+) table\(s\) loaded already, (\d+) to load/.exec(said);
    assert.ok(m, said);
    assert.ok(Number(m[1]) >= loadedBefore.length, 'the loaded tables were kept');
    assert.ok(Number(m[2]) >= bulk.length - loadedBefore.length, 'every bulk table still empty is loaded');
    for (const t of bulk) assert.equal(await count('resumed', `SELECT count(*) FROM ${t}`), 300000, `${t}: every row once`);
    assert.equal(await count('resumed', `SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'bulk\\_%'`), 12, 'every index once');

    const validated = run(['validate', '--source', src(), '--target', tgt('resumed'), '--json']);
    const report = JSON.parse(validated.stdout) as { ok: boolean; tables: Array<{ schema: string; name: string; status: string }> };
    assert.equal(
      report.ok,
      true,
      JSON.stringify(report.tables.filter((t) => t.status !== 'match')) +
        JSON.stringify((report as unknown as { objects: unknown[] }).objects),
    );
    assert.equal(validated.code, 0);
  });

  it('an archive that loads its tables with INSERTs (committed row by row) is refused: a table cannot be told loaded', async () => {
    await pg15.sql(`CREATE DATABASE inserts OWNER ${MIGRATOR} TEMPLATE template0`);
    await pg15.sql(`SET ROLE ${MIGRATOR}; CREATE TABLE public.t AS SELECT g AS id FROM generate_series(1, 10) g`, 'inserts');
    const out = join(dir, 'inserts.dump');
    const made = spawnSync(join(PG15_TOOLS, 'pg_dump'), ['--format=custom', '--inserts', '--no-owner', `--file=${out}`, 'inserts'], {
      env: { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(pg15.port), PGUSER: MIGRATOR, PGPASSWORD: MIGRATOR_PASSWORD },
      encoding: 'utf8',
    });
    assert.equal(made.status, 0, made.stderr);
    await pg17.sql('CREATE DATABASE inserts_target TEMPLATE template0');
    assert.equal(run(['restore', '--target', tgt('inserts_target'), '--in', out, '--no-owner']).code, 0);
    const r = run(['restore', '--target', tgt('inserts_target'), '--in', out, '--resume', '--confirm-non-empty', 'inserts_target']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr + r.stdout, /loads its tables with INSERTs \(pg_dump --inserts\)/);
    assert.equal(await count('inserts_target', 'SELECT count(*) FROM public.t'), 10, 'nothing was loaded twice');
  });

  it('a database whose schema was not restored is refused, with the reason, and nothing is restored', async () => {
    await pg17.sql('CREATE DATABASE never_started TEMPLATE template0');
    const r = run(['restore', '--target', tgt('never_started'), '--in', archive, '--resume', '--confirm-non-empty', 'never_started']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr + r.stdout, /is not in the database: the schema was not restored completely\. Drop and recreate the database/);
    assert.equal(await count('never_started', `SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace`), 0);
  });
});

describe('hydra-migrate migrate --resume', () => {
  const migrateArgs = (db: string, out: string, plan: string): string[] => [
    'migrate',
    '--source',
    src(),
    '--target',
    tgt(db),
    '--dump',
    out,
    '--plan',
    plan,
    '--jobs',
    '2',
    '--no-owner',
    '--no-acl',
  ];
  type Doc = {
    ok: boolean;
    steps: Array<{ step: string; skipped?: boolean; detail?: string }>;
    plan: { kind: string; reason: string };
    validation: { ok: boolean };
  };

  it('a streamed migration killed in the middle of the data starts over in a recreated database (never two dumps mixed), then validates identical', async () => {
    const out = join(dir, 'streamed.dump');
    await killMidData(migrateArgs('streamed', out, 'stream'), 'streamed');
    assert.ok(!existsSync(out), 'the interrupted stream left no archive at its path (only a partial one)');
    // Without the confirmation: a usage error, nothing touched.
    const unconfirmed = run([...migrateArgs('streamed', out, 'stream'), '--resume']);
    assert.equal(unconfirmed.code, 2, unconfirmed.stderr);
    assert.match(unconfirmed.stderr, /confirm its name with --confirm-non-empty DBNAME/);
    // The source moves on meanwhile: a table loaded before the kill gets a row the first dump never saw.
    await pg15.sql(`INSERT INTO public.bulk_1 VALUES (300001, 'after the kill')`, DB);
    try {
      const r = run([...migrateArgs('streamed', out, 'stream'), '--resume', '--confirm-non-empty', 'streamed', '--json']);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const doc = JSON.parse(r.stdout) as Doc;
      assert.equal(doc.plan.kind, 'stream');
      assert.match(
        doc.plan.reason,
        /^Resuming: the interrupted dump left no complete archive, so it starts over, and "streamed", partly loaded from it, is dropped and recreated first/,
      );
      const created = doc.steps.find((st) => st.step === 'create-database');
      assert.match(created?.detail ?? '', /"streamed" dropped and recreated/);
      assert.ok(existsSync(out) && !existsSync(`${out}.partial`), 'a complete archive, no partial one');
      assert.equal(await count('streamed', 'SELECT count(*) FROM public.bulk_1'), 300001, 'the row written after the kill arrived');
      for (const t of BULK.slice(1)) assert.equal(await count('streamed', `SELECT count(*) FROM ${t}`), 300000, `${t}: every row once`);
      assert.equal(doc.validation.ok, true, JSON.stringify(doc.validation));
    } finally {
      await pg15.sql('DELETE FROM public.bulk_1 WHERE id = 300001', DB);
    }
  });

  it('a migration killed while it restores keeps its complete archive: --resume restores it again without dumping', async () => {
    const out = join(dir, 'restoring.dump');
    const loadedBefore = await killMidData(migrateArgs('restoring', out, 'custom'), 'restoring', out);
    assert.ok(existsSync(out), 'the dump had finished: its archive is complete');
    const r = run([...migrateArgs('restoring', out, 'auto'), '--resume', '--confirm-non-empty', 'restoring', '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const doc = JSON.parse(r.stdout) as Doc;
    const dumpStep = doc.steps.find((st) => st.step === 'dump');
    assert.equal(dumpStep?.skipped, true, 'not dumped again');
    assert.match(dumpStep?.detail ?? '', /complete archive .*restoring\.dump is restored again/);
    assert.match(doc.plan.reason, /is complete and is restored again/);
    const restoreStep = doc.steps.find((st) => st.step === 'restore');
    const kept = Number(/resume: (\d+) table\(s\) loaded already/.exec(restoreStep?.detail ?? '')?.[1]);
    assert.ok(kept >= loadedBefore.length, JSON.stringify(restoreStep));
    for (const t of BULK) assert.equal(await count('restoring', `SELECT count(*) FROM ${t}`), 300000, `${t}: every row once`);
    assert.equal(doc.validation.ok, true, JSON.stringify(doc.validation));
  });
});
