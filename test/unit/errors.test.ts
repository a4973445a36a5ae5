import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { explainConnectionError, redact } from '../../src/core/errors.js';

const ctx = { host: '127.0.0.1', port: 15431, user: 'migrator', database: 'app', password: 's3cr3t' };

describe('explainConnectionError', () => {
  const cases: Array<[string, { message: string; code?: string }, string, RegExp]> = [
    [
      'wrong password (psql text)',
      { message: 'connection to server at "127.0.0.1", port 15431 failed: FATAL:  password authentication failed for user "migrator"' },
      'auth_failed',
      /rejected the password for user "migrator"/,
    ],
    [
      'wrong password (pg code)',
      { message: 'password authentication failed for user "migrator"', code: '28P01' },
      'auth_failed',
      /Edit Connection/,
    ],
    ['no password', { message: 'fe_sendauth: no password supplied' }, 'no_password', /none is stored/],
    ['refused', { message: 'connect ECONNREFUSED 127.0.0.1:15439', code: 'ECONNREFUSED' }, 'refused', /refused/],
    [
      'refused (psql text)',
      {
        message:
          'connection to server at "127.0.0.1", port 15439 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?',
      },
      'refused',
      /127\.0\.0\.1:15431/,
    ],
    ['unknown host', { message: 'getaddrinfo ENOTFOUND db.invalid', code: 'ENOTFOUND' }, 'unknown_host', /could not be resolved/],
    ['missing database', { message: 'database "nosuchdb" does not exist', code: '3D000' }, 'database_missing', /does not exist/],
    ['SSL unsupported (pg)', { message: 'The server does not support SSL connections' }, 'ssl_unsupported', /does not accept SSL/],
    ['SSL unsupported (libpq)', { message: 'server does not support SSL, but SSL was required' }, 'ssl_unsupported', /sslmode/],
    [
      'SSL required',
      { message: 'no pg_hba.conf entry for host "127.0.0.1", user "migrator", database "app", no encryption', code: '28000' },
      'ssl_required',
      /only accepts SSL/,
    ],
    [
      'SSL required (reject rule)',
      { message: 'pg_hba.conf rejects connection for host "127.0.0.1", user "migrator", database "app", no encryption', code: '28000' },
      'ssl_required',
      /require/,
    ],
    [
      'not allowed from here',
      { message: 'no pg_hba.conf entry for host "10.0.0.9", user "migrator", database "app", SSL encryption', code: '28000' },
      'no_hba_entry',
      /allow-list/,
    ],
    ['timeout', { message: 'timeout expired' }, 'timeout', /did not answer/],
    ['pg timeout', { message: 'Connection terminated due to connection timeout' }, 'timeout', /did not answer/],
    [
      'certificate',
      { message: 'self-signed certificate in certificate chain', code: 'SELF_SIGNED_CERT_IN_CHAIN' },
      'ssl_certificate',
      /could not be verified/,
    ],
    [
      'version mismatch',
      {
        message:
          'pg_dump: error: aborting because of server version mismatch\npg_dump: detail: server version: 17.10; pg_dump version: 15.20 (Debian 15.20-0+deb12u1)',
      },
      'version_mismatch',
      /pg_dump 15\.20 is older than the source server \(17\.10\)/,
    ],
    [
      'permission',
      { message: 'permission denied for table secrets', code: '42501' },
      'permission_denied',
      /permission denied for table secrets/,
    ],
  ];
  for (const [name, err, problem, pattern] of cases) {
    it(name, () => {
      const e = explainConnectionError(err, ctx);
      assert.equal(e.problem, problem);
      assert.match(`${e.message} ${e.hint}`, pattern);
      assert.ok(e.hint.length > 10, 'every explanation says what to do');
    });
  }

  it('never repeats the password, even when the driver text contains it', () => {
    const e = explainConnectionError({ message: 'weird failure for postgresql://migrator:s3cr3t@host/app' }, ctx);
    assert.ok(!JSON.stringify(e).includes('s3cr3t'));
    assert.equal(e.problem, 'unknown');
  });
});

describe('redact', () => {
  it('removes raw and percent-encoded passwords, either case of hex digits', () => {
    assert.equal(redact('a p@ss:word/1 b p%40ss%3Aword%2F1 c p%40ss%3aword%2f1 d', 'p@ss:word/1'), 'a *** b *** c *** d');
    assert.equal(redact('nothing', undefined), 'nothing');
  });
  it('a password with a raw @ in a URI, and a key=value password, are starred out whole', () => {
    assert.equal(redact('for postgresql://u:p@ss@host/db', undefined), 'for postgresql://u:***@host/db');
    assert.equal(redact("host=h password='a b' user=u and password=xyz", undefined), 'host=h password=*** user=u and password=***');
    assert.equal(redact('password=abc\\ secretpart user=u PGPASSWORD=s3', undefined), 'password=*** user=u PGPASSWORD=***');
  });
  it('removes the password part of any URI, whatever the password', () => {
    assert.equal(
      redact('failed for postgresql://migrator:whatever@host/app and postgres://u:x@h', undefined),
      'failed for postgresql://migrator:***@host/app and postgres://u:***@h',
    );
  });
  it('a short password that is also a word of the message is not starred out (that would tell it)', () => {
    assert.equal(redact('password authentication failed for user "m"', 'failed'), 'password authentication failed for user "m"');
  });
});
