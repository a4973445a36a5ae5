/**
 * Validation against real servers: a faithful PG15 -> PG17 copy reports ok with no false alarm;
 * then every kind of damage is detected, named and (for changed rows) located by key range.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { reportToCsv, reportToMarkdown } from '../../src/core/reportFormat.js';
import { createDatabase } from '../../src/core/createDatabase.js';
import { dump } from '../../src/core/dump.js';
import { readDatabaseLocale } from '../../src/core/inspect.js';
import { restore } from '../../src/core/restore.js';
import type { Side } from '../../src/core/side.js';
import { validate } from '../../src/core/validate.js';
import { tableInventory } from '../../src/core/validateInventory.js';
import type { ValidationReport } from '../../src/shared/report.js';
import {
  addMigrationObjects,
  AWKWARD,
  createMigrator,
  createSampleDatabase,
  MIGRATOR,
  MIGRATOR_PASSWORD,
  q,
  sideOn,
  whileLocked,
} from '../helpers/fixtures.js';
import { PG15_TOOLS, startServers, type TestServer } from '../helpers/servers.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DB = 'shop';
let pg15: TestServer;
let pg17: TestServer;
let dir: string;

const src = (): Side => sideOn(pg15, DB);
const tgt = (db: string): Side => sideOn(pg17, db, { admin: true });

async function copyTo(db: string): Promise<void> {
  const created = await createDatabase(tgt('postgres'), db, await readDatabaseLocale(src()));
  assert.ok(created.ok, created.failure?.message);
  const r = await restore({
    target: tgt(db),
    pgRestore: join(PG15_TOOLS, 'pg_restore'),
    archive: join(dir, 'shop.dump'),
    jobs: 2,
    noOwner: true,
    noAcl: true,
  });
  assert.ok(r.ok, r.failure?.message);
}

const table = (r: ValidationReport, schema: string, name: string) => {
  const t = r.tables.find((x) => x.schema === schema && x.name === name);
  assert.ok(t, `${schema}.${name} is in the report`);
  return t;
};

before(async () => {
  ({ pg15, pg17 } = await startServers('pg15', 'pg17'));
  await createSampleDatabase(pg15, DB);
  await addMigrationObjects(pg15, DB);
  await pg15.sql(
    `SET ROLE ${MIGRATOR}; CREATE TABLE public.ledger (id int PRIMARY KEY, v text); INSERT INTO public.ledger SELECT g, md5(g::text) FROM generate_series(1, 100000) g; ANALYZE;`,
    DB,
  );
  await createMigrator(pg17);
  dir = mkdtempSync(join(tmpdir(), 'hm-validate-'));
  const d = await dump({
    source: src(),
    pgDump: join(PG15_TOOLS, 'pg_dump'),
    pgRestore: join(PG15_TOOLS, 'pg_restore'),
    out: join(dir, 'shop.dump'),
    format: 'custom',
    noOwner: true,
    noAcl: true,
  });
  assert.ok(d.ok, d.failure?.message);
  await copyTo('faithful');
  await copyTo('tampered');
});
after(async () => {
  await Promise.all([pg15?.stop(), pg17?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('validate a faithful migration', () => {
  it('reports ok with exact counts, every table matching, no false alarm', async () => {
    const r = await validate({ source: src(), target: tgt('faithful'), checksums: true });
    const bad = [
      ...r.tables.filter((t) => t.status !== 'match'),
      ...r.objects.filter((o) => o.status !== 'match'),
      ...r.sequences.filter((x) => x.status !== 'match'),
    ];
    assert.deepEqual(bad, []);
    assert.equal(r.ok, true);
    assert.equal(r.mode, 'exact');
    assert.equal(table(r, 'public', 'ledger').sourceRows, 100000);
    assert.equal(table(r, 'public', 'events').targetAccessMethod, 'columnar');
    assert.equal(table(r, 'public', 'measurements').kind, 'partitioned table');
    assert.equal(table(r, 'public', 'measurements').targetRows, 800);
    assert.equal(table(r, AWKWARD.schemaQuote, AWKWARD.tableSemicolon).targetRows, 42);
    assert.equal(table(r, AWKWARD.schemaDot, AWKWARD.table63).status, 'match');
    assert.equal(table(r, AWKWARD.schemaUnicode, AWKWARD.tableUnicode).sourceAccessMethod, 'columnar');
    assert.ok(r.objects.some((o) => o.kind === 'function' && o.name === 'add_tax(numeric)'));
    // The Objects tab says what was compared: the large objects' count, the index's definition.
    assert.deepEqual(
      r.objects.filter((o) => o.kind === 'large objects').map((o) => [o.status, o.detail]),
      [['match', '2 on both sides']],
    );
    assert.ok(
      r.objects.some((o) => o.kind === 'index' && o.status === 'match' && /^CREATE (UNIQUE )?INDEX /.test(o.detail ?? '')),
      'an index shows its definition',
    );
    assert.equal(r.sequences.find((x) => x.name === 'invoice_no')?.targetValue, 1234);
    assert.equal(r.source.version.split('.')[0], '15');
    assert.equal(r.target.version.split('.')[0], '17');
  });

  it('a database of a few tables: one session per side counts them beside the one reading the objects, not four', async () => {
    // pg_stat_database counts the sessions opened to a database once they end.
    const sessions = async (): Promise<number[]> =>
      Promise.all(
        [
          [pg15, DB],
          [pg17, 'faithful'],
        ].map(async ([s, db]) =>
          Number((await (s as TestServer).sql(`SELECT sessions FROM pg_stat_database WHERE datname = '${db as string}'`)).rows[0].sessions),
        ),
      );
    const before = await sessions();
    const r = await validate({ source: src(), target: tgt('faithful'), concurrency: 4 });
    assert.equal(r.ok, true);
    assert.ok(r.tables.filter((t) => t.kind !== 'partitioned table').length <= 25, 'the fixture is one batch of tables');
    const opened = async (): Promise<number[]> => (await sessions()).map((n, i) => n - before[i]!);
    for (let i = 0; i < 50 && (await opened()).some((n) => n < 2); i++) await new Promise((f) => setTimeout(f, 100));
    await new Promise((f) => setTimeout(f, 500)); // any later one would be in by now
    assert.deepEqual(await opened(), [2, 2], 'source, target');
  });

  it('estimate mode is marked as such', async () => {
    const r = await validate({ source: src(), target: tgt('faithful'), estimate: true });
    assert.equal(r.mode, 'estimate');
    assert.equal(r.checksums, false);
  });
});

describe('validate a damaged target', () => {
  let plain: ValidationReport;
  let sums: ValidationReport;
  before(async () => {
    await pg17.sql(
      `
      DELETE FROM public.accounts WHERE id = 5;
      INSERT INTO inventory.products VALUES ('extra-sku', 1);
      INSERT INTO public.audit_log SELECT * FROM public.audit_log LIMIT 10;
      DROP TABLE public.scratch;
      CREATE TABLE public.surprise (id int);
      ALTER TABLE public.events SET ACCESS METHOD heap;
      UPDATE public.ledger SET v = 'tampered' WHERE id = 40500;
      DROP VIEW public.rich_accounts;
      DROP INDEX public.accounts_name_idx;
      DROP TRIGGER accounts_audit ON public.accounts;
      DROP FUNCTION public.log_change();
      DROP FUNCTION public.add_tax(numeric);
      SELECT setval('public.invoice_no', 1100);
      UPDATE ${q(AWKWARD.schemaQuote)}.${q(AWKWARD.tableSemicolon)} SET id = id + 1000 WHERE id = 42;
    `,
      'tampered',
    );
    [plain, sums] = await Promise.all([
      validate({ source: src(), target: tgt('tampered') }),
      validate({ source: src(), target: tgt('tampered'), checksums: true }),
    ]);
  });

  it('is not ok', () => {
    assert.equal(plain.ok, false);
    assert.equal(sums.ok, false);
  });
  it('a deleted row', () =>
    assert.deepEqual([table(plain, 'public', 'accounts').problems, table(plain, 'public', 'accounts').targetRows], [['row_count'], 999]));
  it('an extra row', () => assert.equal(table(plain, 'inventory', 'products').targetRows, 301));
  it('rows duplicated in a table without primary key', () =>
    assert.deepEqual([table(plain, 'public', 'audit_log').sourceRows, table(plain, 'public', 'audit_log').targetRows], [250, 260]));
  it('a dropped table', () => assert.equal(table(plain, 'public', 'scratch').status, 'missing_in_target'));
  it('an extra table', () => assert.equal(table(plain, 'public', 'surprise').status, 'extra_in_target'));
  it('a table that went from columnar to heap, counts equal', () => {
    const t = table(plain, 'public', 'events');
    assert.deepEqual(t.problems, ['access_method']);
    assert.equal(t.sourceRows, t.targetRows);
    assert.match(t.detail ?? '', /columnar on the source, heap on the target/);
  });
  it('a changed row with equal counts: only with checksums, located by key range', () => {
    assert.equal(table(plain, 'public', 'ledger').status, 'match', 'counts alone cannot see it');
    const t = table(sums, 'public', 'ledger');
    assert.deepEqual(t.problems, ['checksum']);
    assert.equal(t.differingRanges?.length, 1);
    const range = t.differingRanges[0]!;
    assert.ok(
      BigInt(range.from) <= 40500n && BigInt(range.to) >= 40500n && BigInt(range.to) - BigInt(range.from) < 1000n,
      JSON.stringify(range),
    );
    assert.match(t.detail ?? '', /rows with id \d+–\d+ differ/);
    const awkward = table(sums, AWKWARD.schemaQuote, AWKWARD.tableSemicolon);
    assert.deepEqual(awkward.problems, ['checksum'], 'awkward names are checksummed too');
  });
  it('a missing view, function, index and trigger', () => {
    const missing = sums.objects.filter((o) => o.status === 'missing_in_target').map((o) => `${o.kind} ${o.schema}.${o.name}`);
    for (const m of [
      'view public.rich_accounts',
      'function public.add_tax(numeric)',
      'function public.log_change()',
      'index public.accounts_name_idx',
      'trigger public.accounts.accounts_audit',
    ]) {
      assert.ok(missing.includes(m), `${m} in ${missing.join(', ')}`);
    }
  });
  it('a sequence behind', () => {
    assert.deepEqual(
      sums.sequences.find((x) => x.name === 'invoice_no'),
      { schema: 'public', name: 'invoice_no', sourceValue: 1234, targetValue: 1100, status: 'different' },
    );
  });
  it('nothing else is flagged (no false alarms)', () => {
    const flagged = sums.tables
      .filter((t) => t.status !== 'match')
      .map((t) => `${t.schema}.${t.name}`)
      .sort();
    assert.deepEqual(
      flagged,
      [
        'inventory.products',
        'public.accounts',
        'public.audit_log',
        'public.events',
        'public.ledger',
        'public.scratch',
        'public.surprise',
        `${AWKWARD.schemaQuote}.${AWKWARD.tableSemicolon}`,
      ].sort(),
    );
  });
  it('exports CSV and Markdown with the differences first', () => {
    const csv = reportToCsv(sums).split('\r\n');
    assert.equal(
      csv[0],
      'schema,name,kind,unlogged,source_rows,target_rows,status,problems,source_access_method,target_access_method,detail',
    );
    assert.ok(
      csv.slice(1, 9).every((l) => !/,match,/.test(l)),
      'differences come first',
    );
    assert.ok(
      csv.some((l) => l.startsWith('"sales ""EU""",order items; DROP TABLE x,table,')),
      'quotes escaped',
    );
    const md = reportToMarkdown(sums);
    assert.match(md, /^# Migration validation: DIFFERENCES FOUND/);
    assert.match(md, /\| different \| public \| events \| table \| 500 \| 500 \| columnar → heap \|/);
  });
});

describe('hydra-migrate validate', () => {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [join(repo, 'dist', 'cli.cjs'), 'validate', ...args], {
      encoding: 'utf8',
      env: { ...process.env, HYDRA_SOURCE_PASSWORD: MIGRATOR_PASSWORD, HYDRA_TARGET_PASSWORD: pg17.adminPassword },
      timeout: 60_000,
    });
  const uri = (port: number, user: string, db: string) => `postgresql://${user}@127.0.0.1:${port}/${db}?sslmode=disable`;

  it('exit 0 and a JSON document for a faithful copy', () => {
    const r = cli(['--source', uri(pg15.port, MIGRATOR, DB), '--target', uri(pg17.port, pg17.adminUser, 'faithful'), '--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.ok, true);
    const t = doc.tables.find((x: { name: string }) => x.name === 'ledger');
    assert.deepEqual(
      Object.keys(t)
        .filter((k) =>
          ['schema', 'name', 'kind', 'sourceRows', 'targetRows', 'status', 'problems', 'sourceAccessMethod', 'targetAccessMethod'].includes(
            k,
          ),
        )
        .sort(),
      ['kind', 'name', 'problems', 'schema', 'sourceAccessMethod', 'sourceRows', 'status', 'targetAccessMethod', 'targetRows'],
    );
    assert.equal(typeof t.sourceRows, 'number');
    assert.ok(Array.isArray(doc.objects) && Array.isArray(doc.sequences));
  });

  it('exit 1 and the differences first in the readable table', () => {
    const r = cli(['--source', uri(pg15.port, MIGRATOR, DB), '--target', uri(pg17.port, pg17.adminUser, 'tampered'), '--schema', 'public']);
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stdout.split('\n');
    const first = lines.findIndex((l) => /^DIFFERENT|^MISSING|^EXTRA/.test(l));
    const firstMatch = lines.findIndex((l) => /^match /.test(l));
    assert.ok(first > 0 && (firstMatch === -1 || first < firstMatch));
    assert.match(r.stdout, /NOT OK/);
    assert.ok(!r.stdout.includes('inventory.'), '--schema limits the comparison');
  });

  it('exit 2 with a one-line reason when a server cannot be reached', () => {
    const r = cli(['--source', uri(pg15.port, MIGRATOR, DB), '--target', uri(1, 'x', 'db')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr.trim(), /^hydra-migrate validate: Could not connect to the target: .*refused/);
  });
});

describe('an error is never a match', () => {
  it('sequences that cannot be read fail the validation instead of showing as matching', async () => {
    await pg17.sql(`CREATE DATABASE seqfail OWNER ${MIGRATOR}`);
    await pg17.sql(`SET ROLE ${MIGRATOR}; CREATE TABLE public.t (id serial PRIMARY KEY); INSERT INTO public.t DEFAULT VALUES;`, 'seqfail');
    // Reading pg_sequences fails for the (non-superuser) migrator in this database.
    await pg17.sql(`REVOKE SELECT ON pg_catalog.pg_sequences FROM PUBLIC`, 'seqfail');
    const side = sideOn(pg17, 'seqfail');
    await assert.rejects(validate({ source: side, target: side }), (err: Error) => {
      assert.match(err.message, /Could not read the sequences of the (source|target): permission denied/);
      return true;
    });
  });
});

describe('a sequence the validating user may not read', () => {
  it('fails the validation (its value would read as NULL on both sides, a false match)', async () => {
    await pg17.sql('CREATE DATABASE seqpriv');
    await pg17.sql("CREATE SEQUENCE public.orders_seq; SELECT nextval('public.orders_seq')", 'seqpriv');
    const side = sideOn(pg17, 'seqpriv');
    await assert.rejects(
      validate({ source: side, target: side }),
      /Could not read 1 sequence\(s\) of the (source|target) \(public\.orders_seq\)/,
    );
  });
});

describe('the connect timeout', () => {
  it('bounds every connection of a validation (hydraMigrate.connectTimeoutSeconds / --connect-timeout)', async () => {
    const { blackhole } = await import('../helpers/servers.js');
    const hole = await blackhole();
    try {
      const started = performance.now();
      const silent: Side = { ...tgt('db'), profile: { ...tgt('db').profile, port: hole.port }, connectTimeoutSeconds: 1 };
      await assert.rejects(validate({ source: src(), target: silent }), /did not answer within 1 s/);
      // The default is 10 s: well under that means the setting was used.
      assert.ok(performance.now() - started < 6000, `gave up after ${Math.round(performance.now() - started)} ms`);
    } finally {
      await hole.close();
    }
  });
});

describe('checksums do not depend on the session settings of either server', () => {
  it('a target with another TimeZone, DateStyle, IntervalStyle, extra_float_digits and bytea_output: identical rows match, a changed one is found', async () => {
    const table = `CREATE TABLE public.typed (id int PRIMARY KEY, ts timestamptz, d date, iv interval, f float8, b bytea, n numeric);
      INSERT INTO public.typed SELECT g, timestamptz '2024-03-10 01:30:00+00' + g * interval '37 minutes', date '2024-01-01' + g,
        g * interval '1 day 3 hours', g / 7.0::float8, decode(md5(g::text), 'hex'), g / 3.0 FROM generate_series(1, 2000) g;`;
    await pg15.sql(`CREATE DATABASE typed OWNER ${MIGRATOR}`);
    await pg15.sql(`SET ROLE ${MIGRATOR}; ${table}`, 'typed');
    await pg17.sql('CREATE DATABASE typed');
    await pg17.sql(table, 'typed');
    for (const setting of [
      "timezone = 'Asia/Tokyo'",
      "datestyle = 'SQL, DMY'",
      "intervalstyle = 'sql_standard'",
      'extra_float_digits = 0',
      "bytea_output = 'escape'",
    ]) {
      await pg17.sql(`ALTER DATABASE typed SET ${setting}`);
    }
    const same = await validate({ source: sideOn(pg15, 'typed'), target: tgt('typed'), checksums: true });
    assert.equal(same.ok, true, JSON.stringify(same.tables.filter((t) => t.status !== 'match')));
    await pg17.sql(`UPDATE public.typed SET ts = ts + interval '1 second' WHERE id = 1234`, 'typed');
    const changed = await validate({ source: sideOn(pg15, 'typed'), target: tgt('typed'), checksums: true });
    const row = changed.tables.find((t) => t.name === 'typed');
    assert.deepEqual(row?.problems, ['checksum']);
    assert.ok(
      row.differingRanges?.some((r) => BigInt(r.from) <= 1234n && 1234n <= BigInt(r.to)),
      JSON.stringify(row.differingRanges),
    );
  });
});

describe('checksums of binary values where every column allows it', () => {
  it('hash_record_extended for value-only types, the text form otherwise (enums, numeric, jsonb, arrays, floats); both sides alike; changes found', async () => {
    const schema = `CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy');
      CREATE TABLE public.bin (id bigint PRIMARY KEY, t text, ts timestamptz, u uuid, b bytea, v varchar(20), d date, ok bool);
      INSERT INTO public.bin SELECT g, 'row ' || g, timestamptz '2024-03-10 01:30:00+00' + g * interval '37 minutes', md5(g::text)::uuid,
        decode(md5(g::text), 'hex'), 'v' || g, date '2024-01-01' + g, g % 2 = 0 FROM generate_series(1, 5000) g;
      CREATE TABLE public.moods (id int PRIMARY KEY, m public.mood);
      INSERT INTO public.moods SELECT g, (ARRAY['sad', 'ok', 'happy']::public.mood[])[1 + g % 3] FROM generate_series(1, 300) g;
      CREATE TABLE public.money (id int PRIMARY KEY, amount numeric(12, 2));
      INSERT INTO public.money SELECT g, g * 1.25 FROM generate_series(1, 300) g;
      CREATE TABLE public.docs (id int PRIMARY KEY, j jsonb, a int[], f float8, iv interval);
      INSERT INTO public.docs SELECT g, jsonb_build_object('a', jsonb_build_object('b', g), 'c', 2), ARRAY[g, g + 1, g + 2, g + 3], g / 7.0, g * interval '1 day'
        FROM generate_series(1, 300) g;
      -- A nondeterministic collation makes equal texts of other bytes: their binary hashes would differ.
      CREATE COLLATION public.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
      CREATE TABLE public.names (id int PRIMARY KEY, name text COLLATE public.ci);
      INSERT INTO public.names SELECT g, 'Name ' || g FROM generate_series(1, 300) g;
      -- A domain hashes as its base type; a table without columns has nothing that would stop it.
      CREATE DOMAIN public.qty AS int CHECK (VALUE >= 0);
      CREATE TABLE public.stock (id int PRIMARY KEY, q public.qty);
      INSERT INTO public.stock SELECT g, g FROM generate_series(1, 300) g;
      CREATE TABLE public.nothing ();`;
    await pg15.sql(`CREATE DATABASE hashes OWNER ${MIGRATOR}`);
    await pg15.sql(`SET ROLE ${MIGRATOR}; ${schema}`, 'hashes');
    await pg17.sql('CREATE DATABASE hashes');
    // Other enum OIDs on the target: an enum hashed by value would differ; it must not.
    await pg17.sql(`CREATE TYPE public.shift AS ENUM ('x', 'y'); DROP TYPE public.shift; ${schema}`, 'hashes');
    await pg17.sql(`ALTER DATABASE hashes SET timezone = 'Asia/Tokyo'`);
    for (const server of [pg15, pg17]) {
      const client = new pg.Client({
        host: '127.0.0.1',
        port: server.port,
        user: server.adminUser,
        password: server.adminPassword,
        database: 'hashes',
      });
      await client.connect();
      try {
        const metas = await tableInventory(client, ['public']);
        const flag = (name: string) => metas.find((m) => m.name === name)?.binaryHash;
        assert.deepEqual(
          ['bin', 'moods', 'money', 'docs', 'names', 'stock', 'nothing'].map(flag),
          [true, false, false, false, false, true, true],
          `PG${server.major}`,
        );
      } finally {
        await client.end();
      }
    }
    const same = await validate({ source: sideOn(pg15, 'hashes'), target: tgt('hashes'), checksums: true });
    assert.equal(same.ok, true, JSON.stringify(same.tables.filter((t) => t.status !== 'match')));
    // Changes a binary hash of these types would not see: JSON nesting, array dimensions.
    await pg17.sql(
      `UPDATE public.bin SET t = 'changed' WHERE id = 4321;
       UPDATE public.docs SET j = jsonb_build_object('a', jsonb_build_object('b', id, 'c', 2)) WHERE id = 7;
       UPDATE public.docs SET a = ARRAY[[id, id + 1], [id + 2, id + 3]] WHERE id = 9;`,
      'hashes',
    );
    const changed = await validate({ source: sideOn(pg15, 'hashes'), target: tgt('hashes'), checksums: true });
    const row = changed.tables.find((t) => t.name === 'bin');
    assert.deepEqual(row?.problems, ['checksum']);
    assert.ok(
      row.differingRanges?.some((r) => BigInt(r.from) <= 4321n && 4321n <= BigInt(r.to)),
      JSON.stringify(row.differingRanges),
    );
    const docs = changed.tables.find((t) => t.name === 'docs');
    assert.deepEqual(docs?.problems, ['checksum']);
    assert.ok(
      docs.differingRanges?.some((r) => BigInt(r.from) <= 7n && 9n <= BigInt(r.to)),
      JSON.stringify(docs.differingRanges),
    );
    assert.deepEqual(
      changed.tables.filter((t) => t.status !== 'match').map((t) => t.name),
      ['bin', 'docs'],
    );
  });
});

describe('a live source: a table another session has locked', () => {
  it('is reported as not read within the lock timeout (the rest is compared); the CLI exits 2', async () => {
    await whileLocked(pg15, DB, 'public.ledger', async () => {
      const started = performance.now();
      const r = await validate({ source: src(), target: tgt('faithful'), lockTimeoutSeconds: 1 });
      assert.ok(performance.now() - started < 20_000, 'the validation did not wait for the lock');
      const ledger = r.tables.find((t) => t.name === 'ledger');
      assert.deepEqual(ledger?.problems, ['count_failed']);
      assert.match(ledger.detail ?? '', /not read: another session holds a lock on it on the source \(waited 1 s\)/);
      assert.equal(r.ok, false);
      assert.ok(
        r.tables.filter((t) => t.name !== 'ledger').every((t) => t.status === 'match'),
        'the other tables were compared',
      );
      const cli = spawnSync(
        process.execPath,
        [
          join(repo, 'dist', 'cli.cjs'),
          'validate',
          '--source',
          `postgresql://${MIGRATOR}@127.0.0.1:${pg15.port}/${DB}?sslmode=disable`,
          '--target',
          `postgresql://${pg17.adminUser}@127.0.0.1:${pg17.port}/faithful?sslmode=disable`,
          '--lock-wait-timeout',
          '1',
        ],
        {
          encoding: 'utf8',
          env: { ...process.env, HYDRA_SOURCE_PASSWORD: MIGRATOR_PASSWORD, HYDRA_TARGET_PASSWORD: pg17.adminPassword },
          timeout: 60_000,
        },
      );
      assert.equal(cli.status, 2, cli.stdout + cli.stderr);
      assert.match(cli.stdout, /ledger.*another session holds a lock/);
    });
  });
});
