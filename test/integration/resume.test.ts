/**
 * `hydra-migrate restore --resume` against real servers: a restore killed with SIGKILL (the CLI and
 * its pg_restore processes) in the middle of the data is completed by --resume, which keeps the
 * tables already loaded and the indexes already built, and the target then validates identical to
 * the source (every table's rows, objects, sequences, large objects). A database whose schema was
 * not restored is refused, with nothing restored.
 */
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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

describe('hydra-migrate restore --resume', () => {
  it('a restore killed with SIGKILL in the middle of the data is completed by --resume and validates identical', async () => {
    await pg17.sql('CREATE DATABASE resumed TEMPLATE template0');
    const child = spawn(
      process.execPath,
      [cli, 'restore', '--target', tgt('resumed'), '--in', archive, '--jobs', '2', '--no-owner', '--no-acl'],
      { env: env(), detached: true, stdio: 'ignore' },
    );
    let exited = false;
    child.on('exit', () => (exited = true));
    // Killed once some big tables hold their rows and others not yet.
    const bulk = [1, 2, 3, 4, 5, 6].map((i) => `public.bulk_${i}`);
    const deadline = Date.now() + 120_000;
    let state = { loaded: 0, copying: 0 };
    while (Date.now() < deadline && !exited) {
      // Tables whose COPY committed (rows visible), and a COPY still running.
      const r = await pg17.sql(
        `SELECT (SELECT count(*) FROM pg_stat_progress_copy)::int AS copying,
                (SELECT count(*) FROM pg_class c
                  WHERE c.relname LIKE 'bulk\\_%' AND c.relkind = 'r'
                    AND (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %s', c.oid::regclass), false, true, '')))[1]::text::int > 0)::int AS loaded`,
        'resumed',
      );
      state = r.rows[0] as typeof state;
      if (state.copying > 0 && state.loaded >= 1 && state.loaded < 5) break;
      await new Promise((res) => setTimeout(res, 30));
    }
    assert.ok(!exited, 'the restore was still running when it was killed');
    // The CLI and its tools, as the machine going away would.
    process.kill(-child.pid!, 'SIGKILL');
    for (const pid of processesMentioning(archive)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone already
      }
    }
    // The server notices the clients gone; their COPYs roll back.
    for (let i = 0; i < 200; i++) {
      if ((await count('postgres', `SELECT count(*) FROM pg_stat_activity WHERE datname = 'resumed'`)) === 0) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const loadedBefore: string[] = [];
    for (const t of bulk) if ((await count('resumed', `SELECT count(*) FROM ${t}`)) > 0) loadedBefore.push(t);
    assert.ok(
      loadedBefore.length >= 1 && loadedBefore.length < bulk.length,
      `killed in the middle of the data: ${loadedBefore.join(', ')}`,
    );

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
