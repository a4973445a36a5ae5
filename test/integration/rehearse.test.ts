/**
 * The schema rehearsal against real servers: a PG15 source whose schema needs a role, an extension
 * and an access method that the PG17 target lacks, a clean source, a target user without CREATEDB,
 * and a cancelled rehearsal. No data moves and no throwaway database is left behind.
 */
import { strict as assert } from 'node:assert';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { preflight } from '../../src/core/preflight.js';
import { rehearsalCheck, rehearse } from '../../src/core/rehearse.js';
import type { Side } from '../../src/core/side.js';
import { createMigrator, createSampleDatabase, MIGRATOR, q, sideOn } from '../helpers/fixtures.js';
import { PG15_TOOLS, startServers, type TestServer } from '../helpers/servers.js';

const tools = { pgDump: join(PG15_TOOLS, 'pg_dump'), pgRestore: join(PG15_TOOLS, 'pg_restore') };
let pg15: TestServer;
let pg17: TestServer;

const leftovers = async (): Promise<string[]> =>
  (await pg17.sql(`SELECT datname FROM pg_database WHERE datname LIKE 'hm\\_rehearsal\\_%'`)).rows.map(
    (r: { datname: string }) => r.datname,
  );

before(async () => {
  ({ pg15, pg17 } = await startServers('pg15', 'pg17'));
  await createSampleDatabase(pg15, 'clean');
  await createMigrator(pg17);
  // A schema that needs what the target lacks: a role that owns a table, an extension PG17 does not
  // have (adminpack), and the columnar access method provided by that extension (see FACTS).
  await pg15.sql('CREATE ROLE reporting_owner');
  await pg15.sql(`CREATE DATABASE needs OWNER ${q(MIGRATOR)}`);
  await pg15.sql(
    `CREATE EXTENSION adminpack;
     CREATE ACCESS METHOD columnar TYPE TABLE HANDLER heap_tableam_handler;
     ALTER EXTENSION adminpack ADD ACCESS METHOD columnar;
     CREATE TABLE public.metrics (id int, v float8) USING columnar;
     INSERT INTO public.metrics SELECT g, g FROM generate_series(1, 100000) g;
     CREATE TABLE public.report (id int PRIMARY KEY);
     ALTER TABLE public.report OWNER TO reporting_owner;`,
    'needs',
  );
  await pg17.sql(`CREATE ROLE no_createdb LOGIN PASSWORD 'no-createdb-pw'`);
});
after(async () => {
  await Promise.all([pg15?.stop(), pg17?.stop()]);
});

describe('schema rehearsal', () => {
  it('names exactly what the target lacks (role, extension, access method), in seconds, without moving data', async () => {
    const started = performance.now();
    const output: string[] = [];
    const r = await rehearse({
      source: sideOn(pg15, 'needs', { admin: true }),
      target: sideOn(pg17, 'postgres', { admin: true }),
      ...tools,
      onLine: (l) => output.push(l),
    });
    assert.equal(r.outcome, 'errors', JSON.stringify(r));
    assert.ok(performance.now() - started < 60_000);
    const causes = r.errors.map((g) => g.cause).sort();
    assert.deepEqual(causes, ['access_method', 'missing_extension', 'missing_role'], JSON.stringify(r.errors, null, 2));
    const byCause = Object.fromEntries(r.errors.map((g) => [g.cause, g]));
    assert.deepEqual(byCause.missing_role?.names, ['reporting_owner']);
    assert.deepEqual(byCause.missing_extension?.names, ['adminpack']);
    assert.deepEqual(byCause.access_method?.names, ['columnar']);
    assert.match(byCause.missing_role?.examples[0]?.command ?? '', /OWNER TO reporting_owner/);
    assert.ok(!output.some((l) => /processing data for table|TABLE DATA/.test(l)), 'no data was dumped or restored');
    assert.ok(
      output.some((l) => /pg_restore: creating TABLE "public\.metrics"/.test(l)),
      'the schema was restored',
    );
    assert.deepEqual(await leftovers(), [], 'the throwaway database was dropped');
  });

  it('the readiness checks carry it as a blocker, with the fixes', async () => {
    const report = await preflight({
      source: sideOn(pg15, 'needs', { admin: true }),
      target: sideOn(pg17, 'needs_copy', { admin: true }),
      binDir: PG15_TOOLS,
      rehearse: true,
    });
    const check = report.checks.find((c) => c.id === 'rehearsal');
    assert.equal(check?.status, 'blocker');
    assert.match(check.detail, /Restoring the schema alone reported \d+ error\(s\): .*Roles missing on the target: reporting_owner/);
    assert.match(check.fix ?? '', /--no-owner/);
    assert.equal(report.ready, false);
    assert.deepEqual(await leftovers(), []);
    const exists = await pg17.sql(`SELECT 1 FROM pg_database WHERE datname = 'needs_copy'`);
    assert.equal(exists.rowCount, 0, 'the real target database was not created');
  });

  it('a clean source rehearses cleanly', async () => {
    const r = await rehearse({
      source: sideOn(pg15, 'clean'),
      target: sideOn(pg17, 'postgres', { admin: true }),
      ...tools,
      noOwner: true,
      noAcl: true,
    });
    assert.equal(r.outcome, 'clean', JSON.stringify(r));
    assert.ok(r.entries > 10);
    assert.deepEqual(await leftovers(), []);
  });

  const noCreatedb = (database: string): Side => ({
    role: 'target',
    profile: { host: '127.0.0.1', port: pg17.port, database, user: 'no_createdb', sslmode: 'disable' },
    password: 'no-createdb-pw',
  });
  const objectsIn = async (database: string): Promise<number> =>
    Number(
      (
        await pg17.sql(
          `SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog','information_schema','pg_toast'))
                + (SELECT count(*) FROM pg_namespace WHERE nspname NOT IN ('pg_catalog','information_schema','pg_toast','public')) AS n`,
          database,
        )
      ).rows[0].n,
    );

  it('a target user without CREATEDB: rehearsed inside the empty target database in a transaction that is rolled back', async () => {
    await pg17.sql(`CREATE DATABASE fallback_needs OWNER no_createdb`);
    const output: string[] = [];
    const r = await rehearse({
      source: sideOn(pg15, 'needs', { admin: true }),
      target: noCreatedb('fallback_needs'),
      ...tools,
      onLine: (l) => output.push(l),
    });
    assert.equal(r.outcome, 'errors', JSON.stringify(r));
    assert.equal(r.mode, 'transaction');
    const byCause = Object.fromEntries(r.errors.map((g) => [g.cause, g]));
    assert.deepEqual(byCause.missing_role?.names, ['reporting_owner'], JSON.stringify(r.errors, null, 2));
    assert.ok(byCause.access_method?.names.includes('columnar'), JSON.stringify(r.errors, null, 2));
    assert.deepEqual(byCause.missing_extension?.names, ['adminpack'], JSON.stringify(r.errors, null, 2));
    // psql's DETAIL lines (printed without its prefix) stay with their error, as pg_restore's do.
    assert.match(byCause.missing_extension?.examples[0]?.error ?? '', /DETAIL: +Could not open extension control file/);
    assert.match(byCause.missing_role?.examples[0]?.command ?? '', /OWNER TO reporting_owner/);
    assert.ok(
      output.some((l) => /rolled back/.test(l)),
      'the terminal says where and how it rehearses',
    );
    assert.equal(await objectsIn('fallback_needs'), 0, 'nothing stayed in the target database');

    const check = rehearsalCheck(r);
    assert.equal(check.status, 'blocker');
    assert.match(
      check.detail,
      /user "no_createdb" may not create databases, so it ran inside "fallback_needs" in one transaction that was rolled back/,
    );
    assert.deepEqual(await leftovers(), []);
  });

  it('without CREATEDB, a clean schema rehearses cleanly in the rolled-back transaction, and the database stays empty', async () => {
    await pg17.sql(`CREATE DATABASE fallback_clean OWNER no_createdb`);
    // Plain objects a database owner may create (the sample's columnar access method needs a superuser).
    await pg15.sql(`CREATE DATABASE plain OWNER ${q(MIGRATOR)}`);
    await pg15.sql(
      `CREATE TABLE public.orders (id int PRIMARY KEY, note text);
       CREATE INDEX orders_note ON public.orders (note);
       CREATE VIEW public.recent AS SELECT id FROM public.orders WHERE id > 10;
       CREATE FUNCTION public.twice(int) RETURNS int LANGUAGE sql AS 'SELECT $1 * 2';
       -- Lines that begin with BEGIN and END, as every plpgsql body and CASE in a view has.
       CREATE FUNCTION public.shout() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
  NEW.note := upper(NEW.note);
  RETURN NEW;
END;
$f$;
       CREATE VIEW public.sized AS SELECT id, CASE WHEN id > 500 THEN 'big' ELSE 'small' END AS size FROM public.orders;
       CREATE SCHEMA sales; CREATE SEQUENCE sales.n;
       INSERT INTO public.orders SELECT g, 'n' || g FROM generate_series(1, 1000) g;`,
      'plain',
    );
    const r = await rehearse({
      source: sideOn(pg15, 'plain', { admin: true }),
      target: noCreatedb('fallback_clean'),
      ...tools,
      noOwner: true,
      noAcl: true,
    });
    assert.equal(r.outcome, 'clean', JSON.stringify(r));
    assert.equal(r.mode, 'transaction');
    assert.ok(r.entries >= 6, JSON.stringify(r));
    assert.equal(await objectsIn('fallback_clean'), 0);
  });

  it('without CREATEDB and no empty target database to rehearse in: skipped, with the reason and what to do', async () => {
    const missing = await rehearse({ source: sideOn(pg15, 'clean'), target: noCreatedb('not_there'), ...tools });
    assert.equal(missing.outcome, 'skipped', JSON.stringify(missing));
    assert.match(
      missing.reason,
      /user "no_createdb" may not create databases on the target, and the target database "not_there" does not exist yet/,
    );
    assert.match(missing.fix, /CREATEDB/);

    await pg17.sql(`CREATE DATABASE fallback_full OWNER no_createdb`);
    await pg17.sql(`CREATE TABLE public.keep_me (id int); INSERT INTO keep_me VALUES (1)`, 'fallback_full');
    const full = await rehearse({ source: sideOn(pg15, 'clean'), target: noCreatedb('fallback_full'), ...tools });
    assert.equal(full.outcome, 'skipped', JSON.stringify(full));
    assert.match(full.reason, /"fallback_full" is not empty/);
    assert.equal((await pg17.sql('SELECT count(*)::int AS n FROM keep_me', 'fallback_full')).rows[0].n, 1, 'its data untouched');
  });

  it('cancelled while it restores: stops, and leaves no throwaway database', async () => {
    const controller = new AbortController();
    const r = await rehearse({
      source: sideOn(pg15, 'clean'),
      target: sideOn(pg17, 'postgres', { admin: true }),
      ...tools,
      signal: controller.signal,
      onLine: (line) => {
        // Cancel once pg_restore works inside the throwaway database (a session of it is open there).
        if (/^pg_restore: creating/.test(line)) controller.abort();
      },
    });
    assert.equal(r.outcome, 'failed');
    assert.equal(r.failure.problem, 'cancelled');
    assert.deepEqual(await leftovers(), []);
  });
});
