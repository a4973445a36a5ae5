/**
 * What pg_restore leaves behind, set from the source with the CLI against real servers:
 * - large objects restored with --no-owner (the real pg_dump/pg_restore) belong to the restoring
 *   role; `sync-large-object-owners` gives each its source owner's role, keeps those whose role the
 *   target lacks (and says so), and a login that may not hand objects to a role changes nothing;
 * - columnar options: Hydra keeps them in `columnar.options`, set with `alter_columnar_table_set`
 *   (its documented catalog and setter; the real extension is not packaged for these machines, so
 *   both servers get a stand-in of that catalog and setter in SQL, like FACTS.md's access-method
 *   stand-in); `sync-columnar-options` compares them per table and re-applies the source's.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createMigrator, MIGRATOR, MIGRATOR_PASSWORD } from '../helpers/fixtures.js';
import { PG15_TOOLS, startServers, type TestServer } from '../helpers/servers.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(repo, 'dist', 'cli.cjs');
let pg15: TestServer;
let pg17: TestServer;
let dir: string;

const src = (db: string) => `postgresql://${MIGRATOR}@127.0.0.1:${pg15.port}/${db}?sslmode=disable`;
const tgt = (db: string, user = pg17.adminUser) => `postgresql://${user}@127.0.0.1:${pg17.port}/${db}?sslmode=disable`;
function run(args: string[], targetPassword = pg17.adminPassword): { code: number; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HYDRA_PG_BIN_DIR: PG15_TOOLS,
    HYDRA_MIGRATE_STATE_DIR: join(dir, 'state'),
    HYDRA_SOURCE_PASSWORD: MIGRATOR_PASSWORD,
    HYDRA_TARGET_PASSWORD: targetPassword,
  };
  delete env.PGPASSWORD;
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
const owners = async (server: TestServer, db: string): Promise<Record<string, string>> =>
  Object.fromEntries(
    (
      await server.sql('SELECT oid::text AS oid, pg_get_userbyid(lomowner) AS owner FROM pg_largeobject_metadata ORDER BY oid', db)
    ).rows.map((r: { oid: string; owner: string }) => [r.oid, r.owner]),
  );

/** Hydra's columnar catalog and setter as documented (columnar.options; alter_columnar_table_set), in SQL. */
const COLUMNAR_STAND_IN = `
  CREATE ACCESS METHOD columnar TYPE TABLE HANDLER heap_tableam_handler;
  CREATE SCHEMA columnar;
  CREATE TABLE columnar.options (relation regclass PRIMARY KEY, chunk_group_row_limit int NOT NULL DEFAULT 10000,
    stripe_row_limit int NOT NULL DEFAULT 150000, compression name NOT NULL DEFAULT 'zstd', compression_level int NOT NULL DEFAULT 3);
  CREATE FUNCTION columnar.alter_columnar_table_set(table_name regclass, chunk_group_row_limit int DEFAULT NULL,
      stripe_row_limit int DEFAULT NULL, compression name DEFAULT NULL, compression_level int DEFAULT NULL)
    RETURNS void LANGUAGE sql AS $$
      UPDATE columnar.options o SET chunk_group_row_limit = coalesce($2, o.chunk_group_row_limit),
        stripe_row_limit = coalesce($3, o.stripe_row_limit), compression = coalesce($4, o.compression),
        compression_level = coalesce($5, o.compression_level)
      WHERE o.relation = $1 $$;
  -- The setter is the extension's own (a member of it), as the real one is of columnar.
  ALTER EXTENSION plpgsql ADD FUNCTION columnar.alter_columnar_table_set(regclass, int, int, name, int);`;
const columnarTable = (name: string) =>
  `CREATE TABLE public.${name} (id bigint, v text) USING columnar; INSERT INTO columnar.options (relation) VALUES ('public.${name}');`;

before(async () => {
  assert.ok(existsSync(cli), 'build first: npm run build');
  ({ pg15, pg17 } = await startServers('pg15', 'pg17'));
  dir = mkdtempSync(join(tmpdir(), 'hm-leftovers-'));
  await createMigrator(pg15);
  await createMigrator(pg17);
});
after(async () => {
  await Promise.all([pg15?.stop(), pg17?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('hydra-migrate sync-large-object-owners', () => {
  it('large objects restored with --no-owner get their source owners back; a role the target lacks is named and kept', async () => {
    for (const s of [pg15, pg17]) await s.sql('CREATE ROLE app_files; CREATE ROLE app_reports');
    await pg15.sql('CREATE ROLE only_on_source');
    await pg15.sql(`CREATE DATABASE files OWNER ${MIGRATOR} TEMPLATE template0`);
    await pg15.sql(
      `SELECT lo_from_bytea(0, convert_to('file ' || g, 'UTF8')) FROM generate_series(1, 1200) g;
       SELECT lo_from_bytea(0, '\\x00ff'::bytea) FROM generate_series(1, 3);
       SELECT lo_from_bytea(0, 'mine'::bytea);
       DO $$ DECLARE o oid; i int := 0; BEGIN
         FOR o IN SELECT oid FROM pg_largeobject_metadata ORDER BY oid LOOP
           i := i + 1;
           EXECUTE format('ALTER LARGE OBJECT %s OWNER TO %I', o,
             CASE WHEN i <= 1200 THEN 'app_files' WHEN i <= 1202 THEN 'app_reports' WHEN i = 1203 THEN 'only_on_source' ELSE '${MIGRATOR}' END);
         END LOOP; END $$;
       GRANT app_files, app_reports, only_on_source TO ${MIGRATOR};`,
      'files',
    );
    const archive = join(dir, 'files.dump');
    assert.equal(run(['dump', '--source', src('files'), '--out', archive, '--format', 'custom', '--no-owner']).code, 0);
    await pg17.sql(`CREATE DATABASE files OWNER ${pg17.adminUser} TEMPLATE template0`);
    const restored = run(['restore', '--target', tgt('files'), '--in', archive, '--no-owner']);
    assert.equal(restored.code, 0, restored.stderr);
    const before = await owners(pg17, 'files');
    assert.equal(Object.keys(before).length, 1204);
    assert.deepEqual(new Set(Object.values(before)), new Set([pg17.adminUser]), 'restored without owners: all the restoring role');

    const dry = run(['sync-large-object-owners', '--source', src('files'), '--target', tgt('files'), '--dry-run']);
    assert.equal(dry.code, 1, 'a role is missing on the target');
    assert.match(dry.stdout, /\(dry run\) 1200 large object\(s\) would be given to app_files \(owned by hm_admin on the target\)/);
    assert.match(dry.stdout, /1 large object\(s\) of only_on_source kept as they are .*: the target has no role only_on_source/);
    assert.deepEqual(await owners(pg17, 'files'), before, 'a dry run changes nothing');

    const done = run(['sync-large-object-owners', '--source', src('files'), '--target', tgt('files'), '--json']);
    assert.equal(done.code, 1, done.stderr);
    const doc = JSON.parse(done.stdout) as { total: number; groups: Array<{ sourceOwner: string; count: number; action: string }> };
    assert.equal(doc.total, 1204);
    assert.deepEqual(
      doc.groups.map((g) => [g.sourceOwner, g.count, g.action]).sort(),
      [
        ['app_files', 1200, 'set'],
        ['app_reports', 2, 'set'],
        [MIGRATOR, 1, 'set'],
        ['only_on_source', 1, 'missing_role'],
      ].sort(),
    );
    const source = await owners(pg15, 'files');
    const after = await owners(pg17, 'files');
    for (const [oid, owner] of Object.entries(source))
      assert.equal(after[oid], owner === 'only_on_source' ? pg17.adminUser : owner, `large object ${oid}`);

    // The missing role created: everything as on the source, nothing left to do.
    await pg17.sql('CREATE ROLE only_on_source');
    const again = run(['sync-large-object-owners', '--source', src('files'), '--target', tgt('files')]);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.deepEqual(await owners(pg17, 'files'), source);
    assert.match(again.stdout, /1204 large object\(s\) on the source, 1203 already owned as there\./);
  });

  it('a login that may not give large objects to a role changes none of them, and says why', async () => {
    await pg17.sql(`CREATE DATABASE files_plain OWNER ${MIGRATOR} TEMPLATE template0`);
    // The same OIDs as the source's, owned by the migrator (who is no member of app_files).
    const oids = (await pg15.sql('SELECT oid::text AS oid FROM pg_largeobject_metadata ORDER BY oid LIMIT 5', 'files')).rows.map(
      (r: { oid: string }) => r.oid,
    );
    await pg17.sql(`SET ROLE ${MIGRATOR}; ${oids.map((o) => `SELECT lo_create(${o});`).join(' ')}`, 'files_plain');
    const r = run(['sync-large-object-owners', '--source', src('files'), '--target', tgt('files_plain', MIGRATOR)], MIGRATOR_PASSWORD);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /must be able to SET ROLE "app_files": no large object's owner was changed\. .*GRANT "app_files" TO "migrator", or run this as a superuser/,
    );
    assert.deepEqual(new Set(Object.values(await owners(pg17, 'files_plain'))), new Set([MIGRATOR]), 'nothing changed');
  });
});

describe('hydra-migrate sync-columnar-options', () => {
  it("compares each columnar table's options and re-applies the source's where they differ", async () => {
    await pg15.sql('CREATE DATABASE col TEMPLATE template0');
    await pg15.sql(
      `${COLUMNAR_STAND_IN} ${columnarTable('metrics')} ${columnarTable('logs')} ${columnarTable('gone')}
       SELECT columnar.alter_columnar_table_set('public.metrics', stripe_row_limit => 50000, compression => 'lz4', compression_level => 1);
       GRANT USAGE ON SCHEMA columnar TO ${MIGRATOR}; GRANT SELECT ON columnar.options TO ${MIGRATOR};`,
      'col',
    );
    await pg17.sql('CREATE DATABASE col TEMPLATE template0');
    await pg17.sql(`${COLUMNAR_STAND_IN} ${columnarTable('metrics')} ${columnarTable('logs')}`, 'col');
    const dry = run(['sync-columnar-options', '--source', src('col'), '--target', tgt('col'), '--dry-run']);
    assert.equal(dry.code, 1, 'public.gone is no columnar table on the target');
    assert.match(
      dry.stdout,
      /public\.metrics: would be set to compression lz4 level 1, stripes of 50000 rows, chunk groups of 10000 \(was compression zstd level 3, stripes of 150000 rows/,
    );
    assert.match(dry.stdout, /public\.gone: not a columnar table on the target/);
    assert.doesNotMatch(dry.stdout, /public\.logs/, 'same options: nothing to say');
    const read = async () =>
      (
        await pg17.sql(
          `SELECT relation::text AS t, stripe_row_limit AS s, compression::text AS c, compression_level AS l FROM columnar.options ORDER BY 1`,
          'col',
        )
      ).rows;
    assert.deepEqual(
      (await read()).find((x: { t: string }) => x.t === 'metrics'),
      { t: 'metrics', s: 150000, c: 'zstd', l: 3 },
    );

    const done = run(['sync-columnar-options', '--source', src('col'), '--target', tgt('col'), '--json']);
    const doc = JSON.parse(done.stdout) as { set: number; changes: Array<{ name: string; action: string }> };
    assert.equal(doc.set, 1);
    assert.deepEqual(doc.changes.map((c) => [c.name, c.action]).sort(), [
      ['gone', 'missing_in_target'],
      ['logs', 'same'],
      ['metrics', 'set'],
    ]);
    assert.deepEqual(await read(), [
      { t: 'logs', s: 150000, c: 'zstd', l: 3 },
      { t: 'metrics', s: 50000, c: 'lz4', l: 1 },
    ]);

    // A target whose columnar extension keeps no options: said, nothing done. A function of that
    // name that no extension owns (anyone may create one) is not called.
    await pg17.sql('CREATE DATABASE col_plain TEMPLATE template0');
    await pg17.sql(
      `${COLUMNAR_STAND_IN.replace(/ALTER EXTENSION plpgsql ADD FUNCTION[^;]*;/, '')} ${columnarTable('metrics')}`,
      'col_plain',
    );
    const plain = run(['sync-columnar-options', '--source', src('col'), '--target', tgt('col_plain')]);
    assert.equal(plain.code, 1);
    assert.match(
      plain.stdout,
      /public\.metrics: compression lz4 level 1, .* on the source; the target's columnar extension keeps no options/,
    );
  });
});
