/**
 * Drop Database… and Drop and Recreate (restore into a database that is not empty) against a real
 * PG17 server: the database comes back empty with its encoding, locale and owner; a session left in
 * it does not hold the drop up; the server's own databases are never dropped; a role that does not
 * own the database is told who may.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createMigrator, MIGRATOR, MIGRATOR_PASSWORD, sideOn } from '../helpers/fixtures.js';
import { startServer, type TestServer } from '../helpers/servers.js';
import { dropAndRecreateDatabase, dropDatabase } from '../../src/core/dropDatabase.js';
import { inspectDatabase } from '../../src/core/inspect.js';

describe('drop database / drop and recreate (real PG17)', () => {
  let pg17: TestServer;
  before(async () => {
    pg17 = await startServer('pg17');
    await createMigrator(pg17);
    await pg17.sql(`ALTER ROLE ${MIGRATOR} CREATEDB`);
  });
  after(async () => {
    await pg17?.stop();
  });

  const facts = async (name: string) =>
    (
      await pg17.sql(
        `SELECT pg_encoding_to_char(encoding) AS encoding, datcollate, datctype, pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = '${name}'`,
      )
    ).rows[0] as { encoding: string; datcollate: string; datctype: string; owner: string } | undefined;

  it('drop and recreate: empty again, same encoding, locale and owner, although a session was connected to it', async () => {
    await pg17.sql(`CREATE DATABASE half_restored OWNER ${MIGRATOR} TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'`);
    await pg17.sql(
      `SET ROLE ${MIGRATOR}; CREATE TABLE public.t AS SELECT g FROM generate_series(1, 100) g; CREATE SCHEMA app`,
      'half_restored',
    );
    const before = await facts('half_restored');
    // A psql the user forgot: connected to the database, idle.
    const lingering = new pg.Client({
      host: '127.0.0.1',
      port: pg17.port,
      user: MIGRATOR,
      password: MIGRATOR_PASSWORD,
      database: 'half_restored',
    });
    lingering.on('error', () => undefined);
    await lingering.connect();
    const r = await dropAndRecreateDatabase(sideOn(pg17, 'postgres'), 'half_restored');
    await lingering.end().catch(() => undefined);
    assert.ok(r.ok, r.ok ? '' : r.failure.message);
    assert.deepEqual(r.sql, [
      'DROP DATABASE "half_restored" WITH (FORCE)',
      `CREATE DATABASE "half_restored" WITH TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'`,
    ]);
    assert.deepEqual(await facts('half_restored'), before);
    const contents = await inspectDatabase(sideOn(pg17, 'half_restored'));
    assert.deepEqual(contents, { exists: true, objects: 0, schemas: 0 });
  });

  it('the owner is kept when someone else (a superuser) recreates it', async () => {
    await pg17.sql(`CREATE DATABASE owned_by_migrator OWNER ${MIGRATOR} TEMPLATE template0`);
    const r = await dropAndRecreateDatabase(sideOn(pg17, 'postgres', { admin: true }), 'owned_by_migrator');
    assert.ok(r.ok, r.ok ? '' : r.failure.message);
    assert.match(r.sql[1]!, / OWNER "migrator"$/);
    assert.equal((await facts('owned_by_migrator'))?.owner, MIGRATOR);
  });

  it('an owner without CREATEDB is refused before anything is dropped (it could drop but never create again)', async () => {
    await pg17.sql(`CREATE ROLE owner_only LOGIN PASSWORD 'owner-only-pw'`);
    await pg17.sql('CREATE DATABASE owned_not_creatable OWNER owner_only TEMPLATE template0');
    await pg17.sql('CREATE TABLE public.keep (id int); INSERT INTO public.keep VALUES (1)', 'owned_not_creatable');
    const side = {
      ...sideOn(pg17, 'postgres'),
      profile: { ...sideOn(pg17, 'postgres').profile, user: 'owner_only' },
      password: 'owner-only-pw',
    };
    const r = await dropAndRecreateDatabase(side, 'owned_not_creatable');
    assert.ok(!r.ok);
    assert.equal(r.failure.problem, 'permission_denied');
    assert.match(r.failure.message, /may not create databases \(no CREATEDB\): "owned_not_creatable" was left as it is/);
    assert.deepEqual(r.sql, [], 'no statement ran');
    assert.deepEqual((await pg17.sql('SELECT id FROM public.keep', 'owned_not_creatable')).rows, [{ id: 1 }]);
  });

  it('drop: gone; the server databases are refused; a non-owner is told who may', async () => {
    await pg17.sql(`CREATE DATABASE to_drop OWNER ${MIGRATOR} TEMPLATE template0`);
    const r = await dropDatabase(sideOn(pg17, 'postgres'), 'to_drop');
    assert.ok(r.ok);
    assert.equal(await facts('to_drop'), undefined);
    for (const name of ['postgres', 'template1']) {
      const refused = await dropDatabase(sideOn(pg17, 'postgres', { admin: true }), name);
      assert.ok(!refused.ok);
      assert.equal(refused.failure.problem, 'protected_database');
      assert.ok(await facts(name), `${name} is still there`);
    }
    await pg17.sql('CREATE DATABASE admins_own TEMPLATE template0');
    const denied = await dropDatabase(sideOn(pg17, 'postgres'), 'admins_own');
    assert.ok(!denied.ok);
    assert.equal(denied.failure.problem, 'permission_denied');
    assert.match(denied.failure.message, /only its owner or a superuser/);
    assert.ok(await facts('admins_own'), 'left untouched');
  });
});
