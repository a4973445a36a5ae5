import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  ConnectionStringError,
  formatConnectionUri,
  libpqEnvironment,
  parseConnectionString,
  parseKeywordValue,
  validateTarget,
} from '../../src/core/connection.js';

describe('parseConnectionString (URIs)', () => {
  it('reads a managed-service URI and separates the password', () => {
    const p = parseConnectionString('postgresql://migrator:s3cret@db.example.com:25060/defaultdb?sslmode=require');
    assert.deepEqual(p.target, { host: 'db.example.com', port: 25060, database: 'defaultdb', user: 'migrator', sslmode: 'require' });
    assert.equal(p.password, 's3cret');
    assert.deepEqual(p.ignored, []);
  });

  it('decodes percent-encoded user, password, host and database', () => {
    const p = parseConnectionString('postgres://us%40er:p%40ss%3Aw%2Frd%25@h%C3%B6st:5433/my%20db%2Fx');
    assert.equal(p.target.user, 'us@er');
    assert.equal(p.password, 'p@ss:w/rd%');
    assert.equal(p.target.host, 'höst');
    assert.equal(p.target.database, 'my db/x');
  });

  it('takes the last @ as the end of the user info (raw @ in a password)', () => {
    const p = parseConnectionString('postgresql://u:pa@ss@host/db');
    assert.equal(p.password, 'pa@ss');
    assert.equal(p.target.host, 'host');
  });

  it('defaults port 5432, sslmode prefer, database = user', () => {
    const p = parseConnectionString('postgresql://alice@localhost');
    assert.equal(p.target.port, 5432);
    assert.equal(p.target.sslmode, 'prefer');
    assert.equal(p.target.database, 'alice');
    assert.equal(p.password, undefined);
  });

  it('reads IPv6 hosts, query parameters and names what it does not keep', () => {
    const p = parseConnectionString(
      'postgresql://u@[::1]:6543/d?sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem&application_name=x&connect_timeout=5',
    );
    assert.equal(p.target.host, '::1');
    assert.equal(p.target.port, 6543);
    assert.equal(p.target.sslmode, 'verify-full');
    assert.equal(p.target.sslrootcert, '/tmp/ca.pem');
    assert.deepEqual(p.ignored.sort(), ['application_name', 'connect_timeout']);
  });

  it('lets query parameters override the authority (libpq behaviour)', () => {
    const p = parseConnectionString('postgresql:///app?host=/var/run/postgresql&user=bob&port=5499');
    assert.equal(p.target.host, '/var/run/postgresql');
    assert.equal(p.target.user, 'bob');
    assert.equal(p.target.port, 5499);
  });

  for (const [input, pattern] of [
    ['', /empty/],
    ['mysql://u@h/d', /Unsupported URI scheme "mysql:\/\/"/],
    ['postgresql://u@h:99999/d', /out of range/],
    ['postgresql://u@h:port/d', /port in the URI is not a number/],
    ['postgresql://u@127.0.0.1:33747:/shop', /stray ":"/],
    ['postgresql://u@h/d?sslmode=sometimes', /not an sslmode/],
    ['postgresql://h/d', /names no user/],
    ['postgresql://u@h1,h2/d', /several hosts/],
    ['postgresql://u:%zz@h/d', /percent-encoding/],
    ['just some text', /not a PostgreSQL connection string/],
  ] as const) {
    it(`rejects ${JSON.stringify(input)} with a message that says what to do`, () => {
      assert.throws(
        () => parseConnectionString(input),
        (e: unknown) => e instanceof ConnectionStringError && pattern.test(e.message),
      );
    });
  }
});

describe('parseConnectionString (keyword/value)', () => {
  it('reads quoted values with escapes', () => {
    const p = parseConnectionString(`host=db port=5433 dbname='my db' user=bob password='it\\'s a secret' sslmode=disable`);
    assert.deepEqual(p.target, { host: 'db', port: 5433, database: 'my db', user: 'bob', sslmode: 'disable' });
    assert.equal(p.password, "it's a secret");
  });

  it('reports an unclosed quote', () => {
    assert.throws(() => parseKeywordValue("host='db"), /no closing quote/);
  });
});

describe('formatConnectionUri', () => {
  it('never includes a password and round-trips through the parser', () => {
    const target = { host: 'höst.example', port: 5433, database: 'a b/c', user: 'us@er', sslmode: 'require' as const };
    const uri = formatConnectionUri(target);
    assert.equal(uri, 'postgresql://us%40er@h%C3%B6st.example:5433/a%20b%2Fc?sslmode=require');
    assert.deepEqual(parseConnectionString(uri).target, target);
    assert.equal(parseConnectionString(uri).password, undefined);
  });

  it('brackets IPv6 hosts and can point at another database', () => {
    assert.equal(
      formatConnectionUri({ host: '::1', port: 5432, database: 'x', user: 'u', sslmode: 'prefer' }, 'other'),
      'postgresql://u@[::1]:5432/other',
    );
  });
});

describe('libpqEnvironment', () => {
  it('puts the password in PGPASSWORD and clears inherited libpq variables', () => {
    const env = libpqEnvironment({ host: 'h', port: 1, database: 'd', user: 'u', sslmode: 'require' }, 'pw', { database: 'other' });
    assert.equal(env.PGPASSWORD, 'pw');
    assert.equal(env.PGDATABASE, 'other');
    assert.equal(env.PGSSLMODE, 'require');
    assert.ok('PGSERVICE' in env && env.PGSERVICE === undefined, 'PGSERVICE is explicitly cleared');
    assert.ok('PGPASSFILE' in env && env.PGPASSFILE === undefined);
  });
});

describe('validateTarget', () => {
  it('names every missing field', () => {
    assert.deepEqual(validateTarget({ host: ' ', port: 0 }), [
      'Enter a host name or IP address.',
      'Enter a user name.',
      'Enter a database name.',
      'Enter a port from 1 to 65535.',
    ]);
    assert.deepEqual(validateTarget({ host: 'h', port: 5432, user: 'u', database: 'd' }), []);
  });
});

describe('passwords with every URI-reserved character', () => {
  const reserved = [':', '/', '?', '#', '[', ']', '@', '!', '$', '&', "'", '(', ')', '*', '+', ',', ';', '=', '%', ' '];
  for (const ch of reserved) {
    const password = `pa${ch}ss${ch}word`;
    it(`${JSON.stringify(ch)} percent-encoded: read back exactly`, () => {
      const parsed = parseConnectionString(`postgresql://migrator:${encodeURIComponent(password)}@db.example.com:6543/app?sslmode=require`);
      assert.equal(parsed.password, password);
      assert.deepEqual(
        [parsed.target.host, parsed.target.port, parsed.target.database, parsed.target.user],
        ['db.example.com', 6543, 'app', 'migrator'],
      );
    });
    if (ch === '%' || ch === '#' || ch === ' ') continue;
    it(`${JSON.stringify(ch)} pasted raw: read back, or an error that does not repeat any of it`, () => {
      const uri = `postgresql://migrator:${password}@db.example.com:6543/app`;
      try {
        const parsed = parseConnectionString(uri);
        assert.equal(parsed.password, password);
        assert.equal(parsed.target.host, 'db.example.com');
      } catch (e) {
        assert.ok(e instanceof ConnectionStringError, String(e));
        for (const piece of ['pa', 'ss', 'word'])
          assert.ok(!e.message.includes(`"${piece}`) && !e.message.includes(`${piece}"`), e.message);
        assert.ok(!e.message.includes(password), e.message);
      }
    });
  }
  it('a raw "/" and "?" in the password no longer become the port or the database', () => {
    const parsed = parseConnectionString('postgresql://migrator:s3/cr?et@db.example.com/app');
    assert.deepEqual(
      [parsed.password, parsed.target.host, parsed.target.port, parsed.target.database],
      ['s3/cr?et', 'db.example.com', 5432, 'app'],
    );
  });
});

describe('TLS by default for other hosts', () => {
  it('sslmode defaults to require for any host but this machine, prefer for localhost and sockets', () => {
    const mode = (uri: string) => parseConnectionString(uri).target.sslmode;
    assert.equal(mode('postgresql://u@db.example.com/d'), 'require');
    assert.equal(mode('postgresql://u@10.0.0.5:5432/d'), 'require');
    assert.equal(mode('host=db.example.com user=u dbname=d'), 'require');
    assert.equal(mode('postgresql://u@localhost/d'), 'prefer');
    assert.equal(mode('postgresql://u@127.0.0.1/d'), 'prefer');
    assert.equal(mode('host=/var/run/postgresql user=u'), 'prefer');
    assert.equal(mode('postgresql://u@db.example.com/d?sslmode=disable'), 'disable', 'an explicit choice is kept');
  });
  it('a copied URI says its sslmode whenever another tool would otherwise pick another one', () => {
    assert.match(
      formatConnectionUri({ host: 'db.example.com', port: 5432, database: 'd', user: 'u', sslmode: 'prefer' }),
      /\?sslmode=prefer$/,
    );
    assert.doesNotMatch(formatConnectionUri({ host: 'localhost', port: 5432, database: 'd', user: 'u', sslmode: 'prefer' }), /sslmode/);
  });
  it('the tools inherit none of the libpq variables that change how or where they connect', () => {
    const env = libpqEnvironment({ host: 'h', port: 5432, database: 'd', user: 'u', sslmode: 'require' }, 'pw');
    for (const key of ['PGSERVICE', 'PGSSLCRL', 'PGGSSENCMODE', 'PGREQUIREAUTH', 'PGCHANNELBINDING', 'PGSYSCONFDIR', 'PGTZ', 'PGOPTIONS']) {
      assert.ok(key in env && env[key] === undefined, `${key} is cleared`);
    }
  });
});

describe('channel_binding', () => {
  it('is read from URIs and key=value strings, written back, and given to the tools', () => {
    const parsed = parseConnectionString('postgresql://u@db.example.com/d?channel_binding=require');
    assert.equal(parsed.target.channelBinding, 'require');
    assert.match(formatConnectionUri(parsed.target), /channel_binding=require/);
    assert.equal(libpqEnvironment(parsed.target, undefined).PGCHANNELBINDING, 'require');
    assert.equal(parseConnectionString('host=h user=u channel_binding=prefer').target.channelBinding, 'prefer');
  });
  it('require without TLS, or an unknown value, is explained', () => {
    assert.throws(() => parseConnectionString('postgresql://u@h/d?sslmode=disable&channel_binding=require'), /needs TLS/);
    assert.throws(() => parseConnectionString('postgresql://u@h/d?channel_binding=always'), /not a channel_binding/);
  });
});
