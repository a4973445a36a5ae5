/** Validation report exports (no servers): CSV that no spreadsheet runs as a formula, Markdown that keeps its table. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { countQuery, csvCell, reportToCsv, reportToMarkdown } from '../../src/core/reportFormat.js';
import { reportOk, summarize, type TableComparison, type ValidationReport } from '../../src/shared/report.js';

const table = (name: string, extra: Partial<TableComparison> = {}): TableComparison => ({
  schema: 'public',
  name,
  kind: 'table',
  unlogged: false,
  sourceRows: 3,
  targetRows: 3,
  status: 'match',
  problems: [],
  sourceAccessMethod: 'heap',
  targetAccessMethod: 'heap',
  ...extra,
});
const report = (tables: TableComparison[]): ValidationReport => ({
  ok: tables.every((t) => t.status === 'match'),
  mode: 'exact',
  checksums: false,
  source: { server: 'm@a:5432/db', version: '15.20', database: 'db' },
  target: { server: 'm@b:5432/db', version: '17.10', database: 'db' },
  startedAt: '2026-12-01T10:00:00.000Z',
  durationMs: 12,
  summary: {
    tables: tables.length,
    matching: 0,
    different: 0,
    missingInTarget: 0,
    extraInTarget: 0,
    sourceRows: 0,
    targetRows: 0,
    objects: 0,
    objectsDifferent: 0,
    sequencesDifferent: 0,
  },
  tables,
  objects: [],
  sequences: [],
});

describe('CSV export', () => {
  it('neutralises every cell a spreadsheet would run as a formula', () => {
    for (const formula of ['=HYPERLINK("http://x","y")', '+1+1', '-2+3', '@SUM(A1)', '\tx', '\rx']) {
      const cell = csvCell(formula);
      assert.ok(/^"?'/.test(cell), `${JSON.stringify(formula)} -> ${cell}`);
    }
    assert.equal(csvCell('=1+1'), "'=1+1");
    assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  });
  it('keeps numbers, plain text and quoting as they are', () => {
    assert.deepEqual(
      [csvCell(-3), csvCell(12), csvCell('accounts'), csvCell('a,b'), csvCell(null), csvCell(true)],
      ['-3', '12', 'accounts', '"a,b"', '', 'true'],
    );
  });
  it('a whole report: a hostile table name cannot become a formula', () => {
    const csv = reportToCsv(
      report([
        table('=cmd|"/c calc"!A1', { status: 'different', problems: ['row_count'], targetRows: 2, detail: '-1 rows in the target' }),
      ]),
    );
    const line = csv.split('\r\n')[1]!;
    assert.ok(line.startsWith(`public,"'=cmd|""/c calc""!A1",table,false,3,2,different,row_count,heap,heap,'-1 rows in the target`), line);
  });
});

describe('Markdown export and the count query', () => {
  it('a name with a pipe or a line break stays in its cell', () => {
    const md = reportToMarkdown(report([table('a|b\nc', { status: 'different', problems: ['row_count'] })]));
    assert.match(md, /\| different \| public \| a\\\|b c \| table \|/);
  });
  it('the count query quotes the names', () => {
    assert.equal(countQuery('my "schema"', 'a.b'), 'SELECT count(*) FROM "my ""schema"""."a.b";');
  });
});

describe('summarize', () => {
  it('counts every status and sums the rows of leaf tables only (a partitioned parent is its partitions)', () => {
    const tables = [
      table('a'),
      table('b', { status: 'different', problems: ['row_count'], targetRows: 2 }),
      table('c', { status: 'missing_in_target', targetRows: null }),
      table('d', { status: 'extra_in_target', sourceRows: null }),
      table('p', { kind: 'partitioned table', sourceRows: 6, targetRows: 6 }),
    ];
    const s = summarize(tables, [{ kind: 'view', schema: 'public', name: 'v', status: 'different' }], []);
    assert.deepEqual(
      [s.tables, s.matching, s.different, s.missingInTarget, s.extraInTarget, s.sourceRows, s.targetRows, s.objectsDifferent],
      [5, 2, 1, 1, 1, 9, 8, 1],
    );
    assert.equal(reportOk(s), false);
    assert.equal(reportOk(summarize([table('a')], [], [])), true);
  });
});
