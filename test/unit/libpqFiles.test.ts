/** pg_service.conf and .pgpass read as libpq reads them. */
import { strict as assert } from 'node:assert';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConnectionString } from '../../src/core/connection.js';
import { matchPgpass, parsePgpass, parseServiceFile, pgpassPassword, resolveService } from '../../src/core/libpqFiles.js';

const dir = mkdtempSync(join(tmpdir(), 'hm-libpq-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('pg_service.conf', () => {
  it('sections of key=value, comments skipped, the first definition of a name wins', () => {
    const s = parseServiceFile('# c\n[a]\nhost = h1\nport=5433\n\n[b]\nhost=h2\n[a]\nhost=ignored\n');
    assert.deepEqual(s.get('a'), { host: 'h1', port: '5433' });
    assert.deepEqual(s.get('b'), { host: 'h2' });
  });
  it('the user file before the system file; given parameters override the service', () => {
    const user = join(dir, 'user.conf');
    const sysdir = mkdtempSync(join(dir, 'sys-'));
    writeFileSync(user, '[app]\nhost=db.internal\nuser=app\ndbname=shop\nsslmode=require\n');
    writeFileSync(join(sysdir, 'pg_service.conf'), '[app]\nhost=wrong\n[other]\nhost=sys.internal\nuser=o\n');
    const env = { PGSERVICEFILE: user, PGSYSCONFDIR: sysdir };
    assert.equal(resolveService('app', env).params.host, 'db.internal');
    assert.equal(resolveService('other', env).file, join(sysdir, 'pg_service.conf'));
    const parsed = parseConnectionString('service=app dbname=reports port=6000', env);
    assert.deepEqual(parsed.target, {
      host: 'db.internal',
      port: 6000,
      database: 'reports',
      user: 'app',
      sslmode: 'require',
      service: 'app',
    });
    assert.equal(parseConnectionString('postgresql://?service=app', env).target.database, 'shop');
    assert.throws(() => parseConnectionString('service=missing', env), /The connection service "missing" is not defined in/);
  });
});

describe('.pgpass', () => {
  it('escaped colons and backslashes, * for any field, the first matching line', () => {
    const entries = parsePgpass('# comment\ndb:5432:shop:app:p\\:w\\\\d\n*:*:*:app:fallback\nbroken line\n');
    assert.equal(entries.length, 2);
    assert.equal(matchPgpass(entries, { host: 'db', port: 5432, database: 'shop', user: 'app' })?.password, 'p:w\\d');
    assert.equal(matchPgpass(entries, { host: 'other', port: 1, database: 'x', user: 'app' })?.password, 'fallback');
    assert.equal(matchPgpass(entries, { host: 'db', port: 5432, database: 'shop', user: 'nobody' }), undefined);
    assert.equal(
      matchPgpass(parsePgpass('localhost:5432:*:u:s\n'), { host: '/var/run/postgresql', port: 5432, database: 'd', user: 'u' })?.password,
      's',
    );
    // As libpq: `\\*` is a literal star, the password ends at its first unescaped colon, only the default socket directory is `localhost`.
    assert.equal(matchPgpass(parsePgpass('db:5432:\\*:u:lit\n'), { host: 'db', port: 5432, database: 'shop', user: 'u' }), undefined);
    assert.equal(matchPgpass(parsePgpass('db:5432:\\*:u:lit\n'), { host: 'db', port: 5432, database: '*', user: 'u' })?.password, 'lit');
    assert.equal(parsePgpass('db:5432:*:u:pw:rest\n')[0]?.password, 'pw');
    assert.equal(
      matchPgpass(parsePgpass('localhost:5432:*:u:s\n'), { host: '/srv/sockets', port: 5432, database: 'd', user: 'u' }),
      undefined,
    );
  });
  it('0600 or nothing: a file others may read is not used; with a line for this connection that is said with the fix, never the password', () => {
    const file = join(dir, 'pgpass');
    writeFileSync(file, 'h:1:*:u:secret-pw\n');
    chmodSync(file, 0o640); // not through writeFileSync's mode: the umask would change it
    const found = pgpassPassword({ host: 'h', port: 1, database: 'd', user: 'u' }, { PGPASSFILE: file });
    assert.ok(found && 'error' in found);
    assert.match(found.error, /holds the password for u@h:1, but others may read the file \(mode 0640\).*chmod 0600/);
    assert.ok(!found.error.includes('secret-pw'));
    // No line for this connection: ignored quietly, as libpq does (trust, peer or certificates may need none).
    assert.equal(pgpassPassword({ host: 'other', port: 1, database: 'd', user: 'u' }, { PGPASSFILE: file }), undefined);
    writeFileSync(join(dir, 'ok'), 'h:1:*:u:secret-pw\n');
    chmodSync(join(dir, 'ok'), 0o600);
    assert.deepEqual(pgpassPassword({ host: 'h', port: 1, database: 'd', user: 'u' }, { PGPASSFILE: join(dir, 'ok') }), {
      password: 'secret-pw',
      file: join(dir, 'ok'),
    });
    assert.equal(pgpassPassword({ host: 'h', port: 1, database: 'd', user: 'u' }, { PGPASSFILE: join(dir, 'none') }), undefined);
    assert.equal(
      pgpassPassword({ host: 'h', port: 1, database: 'd', user: 'u' }, { PGPASSFILE: '/dev/null' }),
      undefined,
      '/dev/null turns it off',
    );
  });
});
