import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  flattenPartitions,
  formatBytes,
  formatCount,
  nestPartitions,
  qualifiedName,
  quoteIdent,
  type TableInfo,
} from '../../src/core/catalog.js';
import { candidatePaths, locateTool, parseToolVersion, ToolNotFoundError } from '../../src/core/pgbin.js';

describe('identifiers', () => {
  it('quotes every identifier and doubles inner quotes', () => {
    assert.equal(quoteIdent('plain'), '"plain"');
    assert.equal(quoteIdent('sales "EU"'), '"sales ""EU"""');
    assert.equal(qualifiedName('my.schema', 'a; DROP TABLE x'), '"my.schema"."a; DROP TABLE x"');
    assert.throws(() => quoteIdent('a\u0000b'), /NUL/);
  });
});

describe('formatting', () => {
  it('formats sizes and counts for the tree', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1536), '1.5 kB');
    assert.equal(formatBytes(429 * 1024 * 1024), '429 MB');
    assert.equal(formatCount(999), '999');
    assert.equal(formatCount(1500), '1.5k');
    assert.equal(formatCount(2_850_000), '2.9M');
  });
});

describe('pg tool lookup', () => {
  it('parses the versions printed by Debian and upstream builds', () => {
    assert.deepEqual(parseToolVersion('psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)'), { version: '15.18', major: 15 });
    assert.deepEqual(parseToolVersion('pg_dump (PostgreSQL) 17.10'), { version: '17.10', major: 17 });
    assert.deepEqual(parseToolVersion('pg_restore (PostgreSQL) 9.6.24'), { version: '9.6.24', major: 9 });
    assert.equal(parseToolVersion('command not found'), undefined);
  });

  it('orders candidates: setting, PATH, then /usr/lib/postgresql newest first', () => {
    const root = mkdtempSync(join(tmpdir(), 'hm-pgbin-'));
    try {
      for (const v of ['13', '17', '15']) mkdirSync(join(root, v, 'bin'), { recursive: true });
      const c = candidatePaths('pg_dump', { binDir: '/opt/pg', envPath: '/a:/b', systemRoot: root });
      assert.deepEqual(
        c.map((x) => x.path),
        [
          '/opt/pg/pg_dump',
          '/a/pg_dump',
          '/b/pg_dump',
          join(root, '17/bin/pg_dump'),
          join(root, '15/bin/pg_dump'),
          join(root, '13/bin/pg_dump'),
        ],
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('finds a fake tool through the setting and reads its version', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hm-pgbin-'));
    try {
      writeFileSync(join(dir, 'psql'), '#!/bin/sh\necho "psql (PostgreSQL) 16.4"\n', { mode: 0o755 });
      const found = await locateTool('psql', { binDir: dir });
      assert.equal(found.version, '16.4');
      assert.equal(found.origin, 'setting');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs a located tool once for the steps that follow, and finds it gone when it is removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hm-pgbin-'));
    try {
      const runs = join(dir, 'runs');
      writeFileSync(join(dir, 'pg_dump'), `#!/bin/sh\necho run >> '${runs}'\necho "pg_dump (PostgreSQL) 15.8"\n`, { mode: 0o755 });
      const [a, b] = await Promise.all([locateTool('pg_dump', { binDir: dir }), locateTool('pg_dump', { binDir: dir })]);
      const c = await locateTool('pg_dump', { binDir: dir });
      assert.deepEqual([a.version, b.version, c.version], ['15.8', '15.8', '15.8']);
      assert.equal(readFileSync(runs, 'utf8'), 'run\n', 'one --version run for three lookups');
      rmSync(join(dir, 'pg_dump'));
      await assert.rejects(locateTool('pg_dump', { binDir: dir }), ToolNotFoundError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says where it looked and what to do when a tool is missing', async () => {
    await assert.rejects(
      locateTool('pg_restore', { binDir: '/nonexistent/bin' }),
      (e: unknown) =>
        e instanceof ToolNotFoundError && /\/nonexistent\/bin\/pg_restore/.test(e.message) && /hydraMigrate\.pgBinDir/.test(e.message),
    );
  });
});

describe('nestPartitions', () => {
  const t = (name: string, extra: Partial<TableInfo> = {}): TableInfo => ({
    schema: 'public',
    name,
    kind: 'table',
    unlogged: false,
    sizeBytes: 10,
    ...extra,
  });
  it('puts partitions beneath their parent at any depth, sums sizes and estimates', () => {
    const top = nestPartitions([
      t('m', { kind: 'partitioned table', sizeBytes: 0 }),
      t('m_2025', { kind: 'partitioned table', parent: 'm', sizeBytes: 0 }),
      t('m_2025_h1', { kind: 'partition', parent: 'm_2025', estimatedRows: 5 }),
      t('m_2025_h2', { kind: 'partition', parent: 'm_2025', estimatedRows: 7 }),
      t('m_2026', { kind: 'partition', parent: 'm', estimatedRows: 1 }),
      t('other'),
    ]);
    assert.deepEqual(
      flattenPartitions(top).map(({ table, depth }) => [table.name, depth, table.sizeBytes, table.estimatedRows]),
      [
        ['m', 0, 30, 13],
        ['m_2025', 1, 20, 12],
        ['m_2025_h1', 2, 10, 5],
        ['m_2025_h2', 2, 10, 7],
        ['m_2026', 1, 10, 1],
        ['other', 0, 10, undefined],
      ],
    );
  });
  it('no estimate for the parent while a partition has none; a partition whose parent is elsewhere stays at the top', () => {
    const top = nestPartitions([
      t('p', { kind: 'partitioned table' }),
      t('a', { parent: 'p', estimatedRows: 3 }),
      t('b', { parent: 'p' }),
      t('c', { parent: 'in_another_schema' }),
    ]);
    assert.deepEqual(
      top.map((x) => [x.name, x.estimatedRows]),
      [
        ['p', undefined],
        ['c', undefined],
      ],
    );
  });
});
