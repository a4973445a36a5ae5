/** Connections from pg_service.conf, .pgpass, the PostgreSQL extension and SQLTools settings (fixtures of theirs), and back to pg_service.conf. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { fromPgpass, fromPgsqlSettings, fromServiceFile, fromSqltoolsSettings, toServiceFile } from '../../src/core/importConnections.js';
import { parseServiceFile } from '../../src/core/libpqFiles.js';

describe('import connections', () => {
  it('pg_service.conf: each service, its password never taken, a section without a user said so', () => {
    const c = fromServiceFile(
      '[prod]\nhost=db.internal\nport=6432\ndbname=shop\nuser=app\nsslmode=verify-full\npassword=secret\n[broken]\nhost=x\n',
    );
    assert.deepEqual(c[0], {
      name: 'prod',
      target: { host: 'db.internal', port: 6432, database: 'shop', user: 'app', sslmode: 'verify-full', service: 'prod' },
    });
    assert.ok(!JSON.stringify(c).includes('secret'));
    assert.equal(c[1]?.name, 'broken');
    assert.match(c[1]?.problem ?? '', /names no user/);
  });
  it('.pgpass: lines for one server and user; rules with * are not connections', () => {
    const c = fromPgpass('db1:5432:shop:app:pw1\n*:*:*:app:pw2\ndb2:*:*:ops:pw3\n');
    assert.deepEqual(
      c.map((x) => [x.name, x.target.database]),
      [
        ['app@db1:5432', 'shop'],
        ['ops@db2:5432', 'postgres'],
      ],
    );
    assert.ok(!JSON.stringify(c).includes('pw'));
  });
  it("Microsoft's PostgreSQL extension: old (host, dbname) and new (server, database) shapes; its password never read", () => {
    // As its users' settings.json hold them (issues of microsoft/vscode-postgresql and vscode-pgsql).
    const c = fromPgsqlSettings([
      {
        host: 'localhost',
        port: '54321',
        dbname: 'my_db',
        user: 'postgres',
        password: 'password',
        profileName: 'My DB',
        sslmode: 'prefer',
      },
      { id: 'x', groupId: 'g', profileName: 'iatlas', server: 'iatlas-postgres', port: '2432', database: 'iatlas', user: 'postgres' },
      { profileName: 'no host' },
      'not an object',
    ]);
    assert.equal(c.length, 3);
    assert.deepEqual(c[0], {
      name: 'My DB',
      target: { host: 'localhost', port: 54321, database: 'my_db', user: 'postgres', sslmode: 'prefer' },
    });
    assert.equal(c[1]?.target.host, 'iatlas-postgres');
    assert.equal(c[1]?.target.sslmode, 'require', 'another host without sslmode: the TLS default of new connections');
    assert.match(c[2]?.problem ?? '', /no host or no user/);
    assert.ok(!JSON.stringify(c).includes('"password"'));
  });
  it('SQLTools: the PostgreSQL driver only, ssl mapped', () => {
    const c = fromSqltoolsSettings([
      {
        name: 'Staging',
        driver: 'PostgreSQL',
        server: 'stg.example',
        port: 5432,
        database: 'shop',
        username: 'app',
        password: 'pw',
        pgOptions: { ssl: true },
      },
      { name: 'Local MySQL', driver: 'MySQL', server: 'localhost', port: 3306, database: 'x', username: 'root' },
    ]);
    assert.deepEqual(c, [
      { name: 'Staging', target: { host: 'stg.example', port: 5432, database: 'shop', user: 'app', sslmode: 'require' } },
    ]);
  });
  it('export: sections libpq reads back to the same connections, names made unique, no password', () => {
    const text = toServiceFile([
      { name: 'Shop (PG15)', host: 'db', port: 5432, database: 'shop', user: 'app', sslmode: 'require' },
      { name: 'Shop (PG15)', host: 'db2', port: 6000, database: 'shop', user: 'app', sslmode: 'disable', sslrootcert: '/ca.pem' },
    ]);
    const back = parseServiceFile(text);
    assert.deepEqual([...back.keys()], ['Shop_PG15', 'Shop_PG15_2']);
    assert.deepEqual(back.get('Shop_PG15_2'), {
      host: 'db2',
      port: '6000',
      dbname: 'shop',
      user: 'app',
      sslmode: 'disable',
      sslrootcert: '/ca.pem',
    });
    assert.ok(!/password/i.test(text.replace(/no passwords|\.pgpass/g, '')));
  });
});
