/** The archive's table of contents, selective restore lists and grouped restore errors (no servers). */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveSha256, groupRestoreErrors, parseToc, sha256File, summarizeToc } from '../../src/core/archive.js';
import { psqlErrorsAsRestoreLines } from '../../src/core/rehearse.js';
import { entriesForSchemas, schemasInArchive, useListForSchemas } from '../../src/core/restore.js';
import { withoutEndMarker } from '../../src/core/splitLoad.js';

const LISTING = `;
; Archive created at 2026-11-30 10:00:00 UTC
;     dbname: shop
;     TOC Entries: 9
;     Compression: gzip
;     Dump Version: 1.15-0
;     Format: CUSTOM
;     Integer: 4 bytes
;     Dumped from database version: 15.20 (Debian 15.20-0+deb12u1)
;     Dumped by pg_dump version: 15.20 (Debian 15.20-0+deb12u1)
;
; Selected TOC Entries:
;
3365; 2601 16619 ACCESS METHOD - columnar
6; 2615 16385 SCHEMA - inventory app_owner
2; 3079 16400 EXTENSION - pgcrypto
4210; 0 0 COMMENT - EXTENSION pgcrypto
215; 1259 16392 TABLE public accounts migrator
216; 1259 16393 TABLE inventory products app_owner
6619; 0 16392 TABLE DATA public accounts migrator
6620; 0 16393 TABLE DATA inventory products app_owner
4100; 0 0 SEQUENCE SET public accounts_id_seq migrator
7001; 2606 16500 FK CONSTRAINT inventory products products_account_fk app_owner
this line is not an entry
`;

describe('parseToc', () => {
  const toc = parseToc(LISTING);
  it('reads the header', () => {
    assert.deepEqual(
      [toc.format, toc.entriesDeclared, toc.database, toc.compression, toc.dumpedFromVersion, toc.dumpedByVersion],
      ['CUSTOM', 9, 'shop', 'gzip', '15.20 (Debian 15.20-0+deb12u1)', '15.20 (Debian 15.20-0+deb12u1)'],
    );
  });
  it('reads every entry, descriptions with spaces included, and skips what is not one', () => {
    assert.equal(toc.entries.length, 10);
    const byId = (id: number) => toc.entries.find((e) => e.dumpId === id);
    assert.deepEqual(byId(3365), {
      dumpId: 3365,
      desc: 'ACCESS METHOD',
      schema: '-',
      tag: 'columnar',
      owner: '',
      line: '3365; 2601 16619 ACCESS METHOD - columnar',
    });
    assert.deepEqual(
      [byId(6619)?.desc, byId(6619)?.schema, byId(6619)?.tag, byId(6619)?.owner],
      ['TABLE DATA', 'public', 'accounts', 'migrator'],
    );
    assert.deepEqual([byId(4100)?.desc, byId(4100)?.tag], ['SEQUENCE SET', 'accounts_id_seq']);
    assert.deepEqual(
      [byId(7001)?.desc, byId(7001)?.schema, byId(7001)?.tag],
      ['FK CONSTRAINT', 'inventory', 'products products_account_fk'],
    );
  });
  it('counts entries by kind, most frequent first', () => {
    assert.deepEqual(summarizeToc(toc).slice(0, 2), [
      { desc: 'TABLE', count: 2 },
      { desc: 'TABLE DATA', count: 2 },
    ]);
  });
});

describe('useListForSchemas', () => {
  it('keeps the chosen schemas, their contents and the database-wide entries they need', () => {
    const ids = useListForSchemas(parseToc(LISTING), ['inventory'])
      .trim()
      .split('\n')
      .map((l) => Number(l.split(';')[0]));
    assert.deepEqual(ids, [3365, 6, 2, 216, 6620, 7001]);
  });
  it('the comment of an extension follows its schema only', () => {
    const list = useListForSchemas(parseToc(LISTING), ['public']);
    assert.doesNotMatch(list, /^6; /m, 'the other schema is left out');
    assert.match(list, /^6619; /m);
  });
});

describe('groupRestoreErrors', () => {
  const lines = [
    'pg_restore: creating TABLE "public.accounts"',
    'pg_restore: error: could not execute query: ERROR:  role "app_owner" does not exist',
    'Command was: ALTER TABLE inventory.products OWNER TO app_owner;',
    'pg_restore: error: could not execute query: ERROR:  role "app_owner" does not exist',
    'Command was: ALTER SCHEMA inventory OWNER TO app_owner;',
    'pg_restore: error: could not execute query: ERROR:  extension "adminpack" is not available',
    'DETAIL:  Could not open extension control file "/usr/share/postgresql/17/extension/adminpack.control": No such file or directory.',
    'Command was: CREATE EXTENSION IF NOT EXISTS adminpack WITH SCHEMA pg_catalog;',
    'pg_restore: error: could not execute query: ERROR:  relation "accounts" already exists',
    'pg_restore: error: something nobody has seen',
    'pg_restore: warning: errors ignored on restore: 5',
  ];
  const grouped = groupRestoreErrors(lines);
  it('counts every error and reads the count pg_restore reports', () => {
    assert.equal(grouped.total, 5);
    assert.equal(grouped.ignoredReported, 5);
  });
  it('groups by cause with names, fixes and the failed statements', () => {
    const byCause = Object.fromEntries(grouped.groups.map((g) => [g.cause, g]));
    assert.deepEqual(Object.keys(byCause).sort(), ['already_exists', 'missing_extension', 'missing_role', 'other']);
    assert.equal(byCause.missing_role?.count, 2);
    assert.deepEqual(byCause.missing_role?.names, ['app_owner']);
    assert.match(byCause.missing_role?.title ?? '', /Roles missing on the target: app_owner/);
    assert.match(byCause.missing_role?.fix ?? '', /--no-owner --no-acl/);
    assert.equal(byCause.missing_role?.examples[0]?.command, 'ALTER TABLE inventory.products OWNER TO app_owner;');
    assert.match(byCause.missing_extension?.examples[0]?.error ?? '', /DETAIL: {2}Could not open extension control file/);
    assert.deepEqual(byCause.missing_extension?.names, ['adminpack']);
  });
  it('no error lines, no groups', () => {
    assert.deepEqual(groupRestoreErrors(['pg_restore: creating TABLE "a.b"']), { groups: [], total: 0 });
  });
});

describe('parseToc with the exact schema names', () => {
  const listing = [
    '10; 2615 100 SCHEMA - sp ace migrator',
    '11; 2615 101 SCHEMA - sp migrator',
    '20; 1259 200 TABLE sp ace t1 migrator',
    '21; 1259 201 TABLE sp ace migrator',
    '22; 0 200 TABLE DATA sp ace t1 migrator',
    '23; 1259 202 TABLE public plain migrator',
  ].join('\n');
  it('without them, a schema with a space is misread (what the listing alone allows)', () => {
    assert.equal(parseToc(listing).entries.find((e) => e.dumpId === 20)?.schema, 'sp');
  });
  it('with them, the longest schema name that starts the entry is its schema', () => {
    const toc = parseToc(listing, ['sp', 'sp ace']);
    const at = (id: number) => toc.entries.find((e) => e.dumpId === id);
    assert.deepEqual([at(20)?.schema, at(20)?.tag, at(20)?.owner], ['sp ace', 't1', 'migrator']);
    assert.deepEqual([at(22)?.desc, at(22)?.schema, at(22)?.tag], ['TABLE DATA', 'sp ace', 't1']);
    assert.deepEqual([at(23)?.schema, at(23)?.tag], ['public', 'plain'], 'other schemas as before');
    assert.deepEqual([at(10)?.schema, at(10)?.tag], ['-', 'sp ace'], 'global entries keep "-"');
    assert.deepEqual(
      useListForSchemas(toc, ['sp ace'])
        .trim()
        .split('\n')
        .map((l) => Number(l.split(';')[0])),
      [10, 20, 22],
    );
  });
});

describe('selective restore of schemas', () => {
  const toc = parseToc(
    [
      '6; 2615 16385 SCHEMA - inventory app_owner',
      '7; 2615 16386 SCHEMA - empty app_owner',
      '5000; 0 0 ACL - SCHEMA inventory app_owner',
      '5001; 0 0 ACL - SCHEMA other app_owner',
      '5002; 0 0 ACL - SCHEMA "Sales" app_owner',
      '8; 2615 16387 SCHEMA - Sales app_owner',
      '216; 1259 16393 TABLE inventory products app_owner',
    ].join('\n'),
  );
  it('keeps the grants on a chosen schema, not on others', () => {
    assert.deepEqual(
      entriesForSchemas(toc, ['inventory']).map((e) => e.dumpId),
      [6, 5000, 216],
    );
  });
  it('an empty schema is in the archive too', () => {
    assert.deepEqual([...schemasInArchive(toc)].sort(), ['Sales', 'empty', 'inventory']);
  });
  it('grants on a schema whose name pg_dump quotes are kept too', () => {
    assert.deepEqual(
      entriesForSchemas(toc, ['Sales']).map((e) => e.dumpId),
      [5002, 8],
    );
  });
});

describe('restore errors that follow a missing extension or access method', () => {
  it('are grouped with their cause, not as "other"', () => {
    const grouped = groupRestoreErrors([
      'pg_restore: error: could not execute query: ERROR:  extension "adminpack" does not exist',
      "Command was: COMMENT ON EXTENSION adminpack IS 'administrative functions for PostgreSQL';",
      'pg_restore: error: could not set default_table_access_method: ERROR:  invalid value for parameter "default_table_access_method": "columnar"',
      'DETAIL:  Table access method "columnar" does not exist.',
    ]);
    assert.deepEqual(
      grouped.groups.map((g) => [g.cause, g.names]),
      [
        ['missing_extension', ['adminpack']],
        ['access_method', ['columnar']],
      ],
    );
  });
});

describe('psql messages of the rolled-back rehearsal, grouped like pg_restore errors', () => {
  // As psql 15 prints them with --echo-errors: the prefix on a message's first line only.
  const psqlLines = [
    'psql:/tmp/hm-rehearsal-x/schema.sql:21: ERROR:  role "reporting_owner" does not exist',
    'psql:/tmp/hm-rehearsal-x/schema.sql:21: STATEMENT:  ALTER TABLE public.report OWNER TO reporting_owner;',
    'psql:/tmp/hm-rehearsal-x/schema.sql:30: ERROR:  permission denied to create access method "columnar"',
    'HINT:  Must be superuser to create an access method.',
    'psql:/tmp/hm-rehearsal-x/schema.sql:30: STATEMENT:  CREATE ACCESS METHOD columnar TYPE TABLE HANDLER heap_tableam_handler;',
    'a line of something else',
    'DETAIL:  a detail of no error: not attached anywhere',
  ];
  const grouped = groupRestoreErrors(psqlErrorsAsRestoreLines(psqlLines));
  it('counts each ERROR once, with its statement as "Command was" and its HINT', () => {
    assert.equal(grouped.total, 2);
    const role = grouped.groups.find((g) => g.cause === 'missing_role');
    assert.deepEqual(role?.names, ['reporting_owner']);
    assert.equal(role?.examples[0]?.command, 'ALTER TABLE public.report OWNER TO reporting_owner;');
    const perm = grouped.groups.find((g) => g.cause === 'permission');
    assert.deepEqual(perm?.names, ['columnar'], 'the object named, not the word "access"');
    assert.match(perm?.examples[0]?.error ?? '', /HINT: +Must be superuser/);
  });
});

describe('withoutEndMarker', () => {
  const strip = (s: string): string => withoutEndMarker(Buffer.from(s, 'latin1')).toString('latin1');
  it("drops pg_dump's end-of-data marker and the blank lines after it, nothing else", () => {
    assert.equal(strip('1\ta\n2\tb\n\\.\n\n\n'), '1\ta\n2\tb\n');
    assert.equal(strip('\\.\n'), '');
    assert.equal(strip('1\ta\n'), '1\ta\n', 'no marker: unchanged');
    assert.equal(strip('1\tx\\\\.\n'), '1\tx\\\\.\n', 'an escaped backslash before a dot ends a row, not the data');
    assert.equal(strip('1\t\\.x\n'), '1\t\\.x\n');
    assert.equal(strip('1\n\\\\.\n'), '1\n\\\\.\n', 'a row whose only value is a backslash and a dot (escaped) is a row');
    assert.equal(strip('1\tGr\xfc\xdfe\n\\.\n'), '1\tGr\xfc\xdfe\n', 'bytes kept as they are');
  });
});

describe('archive sha256', () => {
  it('is what sha256sum gives: files of several read chunks, of none, and a directory archive by its listing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hm-sha-'));
    try {
      const archive = join(dir, 'a.dir');
      mkdirSync(archive);
      writeFileSync(join(archive, '3001.dat'), randomBytes(3 * 1024 * 1024 + 12345)); // 3 chunks and a part
      writeFileSync(join(archive, '3002.dat.gz'), '');
      writeFileSync(join(archive, 'toc.dat'), randomBytes(1024 * 1024)); // exactly one chunk
      const bySum = (cmd: string): string => spawnSync('bash', ['-c', cmd, archive], { encoding: 'utf8' }).stdout.split(' ')[0]!;
      for (const f of ['3001.dat', '3002.dat.gz', 'toc.dat'])
        assert.equal(await sha256File(join(archive, f)), bySum(`sha256sum "$0/${f}"`), f);
      assert.equal(await archiveSha256(archive), bySum('export LC_ALL=C; cd "$0" && sha256sum * | sha256sum'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
