/**
 * The validation report as text for people (CLI), CSV and Markdown (exports). JSON is the report
 * itself.
 */
import type { TableComparison, ValidationReport } from '../shared/report.js';
import { qualifiedName } from './catalog.js';

const statusText: Record<string, string> = {
  match: 'match',
  different: 'DIFFERENT',
  missing_in_target: 'MISSING in target',
  extra_in_target: 'EXTRA in target',
};

/** Differences first, then matches; within each, schema and name order. */
export function orderedTables(r: ValidationReport): TableComparison[] {
  const rank = (t: TableComparison): number => (t.status === 'match' ? 1 : 0);
  return [...r.tables].sort((a, b) => rank(a) - rank(b) || a.schema.localeCompare(b.schema) || a.name.localeCompare(b.name));
}

const fmt = (v: number | string | null): string => (v === null ? '-' : typeof v === 'number' ? v.toLocaleString('en-US') : v);

export function formatReportText(r: ValidationReport, options: { all?: boolean } = {}): string {
  const s = r.summary;
  const lines: string[] = [];
  lines.push(
    `Validation (${r.mode === 'estimate' ? 'ESTIMATES from statistics' : 'exact counts'}${r.checksums ? ' + checksums' : ''}) in ${(r.durationMs / 1000).toFixed(1)} s`,
  );
  lines.push(`  source: ${r.source.server} (PostgreSQL ${r.source.version})`);
  lines.push(`  target: ${r.target.server} (PostgreSQL ${r.target.version})`);
  const asOfDump = r.sourceBasis === 'snapshot';
  if (asOfDump) lines.push(`  the source as of the dump (its snapshot, taken ${r.sourceSnapshotAt ?? '?'}); "source now" beside it`);
  if (r.sourceBasisNote) lines.push(`  ${r.sourceBasisNote}`);
  lines.push('');
  const tables = orderedTables(r).filter((t) => options.all || t.status !== 'match' || r.tables.length <= 50);
  const header = [
    'status',
    'table',
    'kind',
    asOfDump ? 'source rows (dump)' : 'source rows',
    ...(asOfDump ? ['source now'] : []),
    'target rows',
    'access method',
    'problems',
  ];
  const rows = tables.map((t) => [
    statusText[t.status] ?? t.status,
    `${t.schema}.${t.name}`,
    t.kind + (t.unlogged ? ', unlogged' : ''),
    fmt(t.sourceRows),
    ...(asOfDump ? [fmt(t.sourceRowsNow ?? null)] : []),
    fmt(t.targetRows),
    t.sourceAccessMethod === t.targetAccessMethod
      ? (t.sourceAccessMethod ?? '-')
      : `${t.sourceAccessMethod ?? '-'} -> ${t.targetAccessMethod ?? '-'}`,
    t.detail ?? t.problems.join(', '),
  ]);
  const widths = header.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((row) => row[i]!.length))));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  lines.push(line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line));
  if (tables.length < r.tables.length) lines.push(`(${r.tables.length - tables.length} matching tables not shown; --all shows them)`);
  const objs = r.objects.filter((o) => o.status !== 'match');
  const seqs = r.sequences.filter((q) => q.status !== 'match');
  if (objs.length || seqs.length) {
    lines.push('', 'Objects and sequences that differ:');
    for (const o of objs)
      lines.push(`  ${statusText[o.status]}: ${o.kind} ${o.schema ? `${o.schema}.` : ''}${o.name}${o.detail ? ` (${o.detail})` : ''}`);
    for (const q of seqs)
      lines.push(`  ${statusText[q.status]}: sequence ${q.schema}.${q.name} (source ${fmt(q.sourceValue)}, target ${fmt(q.targetValue)})`);
  }
  lines.push('');
  lines.push(
    `Tables: ${s.tables} compared, ${s.matching} match, ${s.different} different, ${s.missingInTarget} missing in target, ${s.extraInTarget} extra in target.`,
  );
  lines.push(`Rows: ${fmt(s.sourceRows)} in the source, ${fmt(s.targetRows)} in the target${r.mode === 'estimate' ? ' (estimates)' : ''}.`);
  lines.push(`Objects: ${s.objects} compared, ${s.objectsDifferent} differ; sequences: ${s.sequencesDifferent} differ.`);
  if (asOfDump) {
    const moved = r.tables.filter((t) => t.sourceRowsNow !== undefined && t.sourceRowsNow !== null && t.sourceRowsNow !== t.sourceRows);
    const unread = r.tables.filter((t) => t.sourceRowsNow === null && t.status !== 'extra_in_target');
    lines.push(
      moved.length
        ? `Since the dump the source changed: ${moved.length} table(s) now hold other row counts (${moved
            .slice(0, 5)
            .map((t) => `${t.schema}.${t.name} ${fmt(t.sourceRows)} -> ${fmt(t.sourceRowsNow ?? null)}`)
            .join(', ')}${moved.length > 5 ? ', …' : ''}): the cutover must still move them.`
        : 'Since the dump no table of the source changed its row count (updates do not show in counts).',
    );
    if (unread.length) lines.push(`The source's rows now could not be read for ${unread.length} table(s).`);
    const advanced = r.sequences.filter((q) => q.advancedSinceDump);
    if (advanced.length)
      lines.push(
        `Sequences that moved on on the source since the dump: ${advanced.map((q) => `${q.schema}.${q.name} (target ${fmt(q.targetValue)}, source ${fmt(q.sourceValue)})`).join(', ')}; set them from the source at the cutover.`,
      );
  }
  lines.push(r.ok ? 'OK: the target matches the source.' : 'NOT OK: the target differs from the source (see above).');
  return lines.join('\n');
}

/**
 * One CSV cell. A text that a spreadsheet would run as a formula (it starts with = + - @, a tab or
 * a carriage return: a table named `=HYPERLINK(…)`) gets a leading apostrophe, which spreadsheets
 * show as text; numbers stay numbers.
 */
export function csvCell(v: string | number | boolean | null | undefined): string {
  let s = v === null || v === undefined ? '' : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function reportToCsv(r: ValidationReport): string {
  const header = [
    'schema',
    'name',
    'kind',
    'unlogged',
    'source_rows',
    'target_rows',
    'status',
    'problems',
    'source_access_method',
    'target_access_method',
    'detail',
  ];
  const rows = orderedTables(r).map((t) => [
    t.schema,
    t.name,
    t.kind,
    t.unlogged,
    t.sourceRows,
    t.targetRows,
    t.status,
    t.problems.join(' '),
    t.sourceAccessMethod,
    t.targetAccessMethod,
    t.detail,
  ]);
  return [header, ...rows].map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

function mdCell(v: string | number | boolean | null | undefined): string {
  return (v === null || v === undefined ? '' : String(v)).replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function reportToMarkdown(r: ValidationReport): string {
  const s = r.summary;
  const out: string[] = [];
  out.push(`# Migration validation: ${r.ok ? 'OK' : 'DIFFERENCES FOUND'}`, '');
  out.push(`- Source: \`${mdCell(r.source.server)}\` (PostgreSQL ${r.source.version})`);
  out.push(`- Target: \`${mdCell(r.target.server)}\` (PostgreSQL ${r.target.version})`);
  out.push(`- Mode: ${r.mode}${r.checksums ? ' with checksums' : ''}; ${r.startedAt}; ${(r.durationMs / 1000).toFixed(1)} s`);
  out.push(
    `- Tables: ${s.tables} compared, ${s.matching} match, ${s.different} different, ${s.missingInTarget} missing, ${s.extraInTarget} extra`,
  );
  out.push(`- Rows: ${fmt(s.sourceRows)} source, ${fmt(s.targetRows)} target`, '');
  out.push(
    '| Status | Schema | Table | Kind | Source rows | Target rows | Access method | Problems |',
    '|---|---|---|---|---:|---:|---|---|',
  );
  for (const t of orderedTables(r)) {
    out.push(
      `| ${t.status} | ${mdCell(t.schema)} | ${mdCell(t.name)} | ${t.kind} | ${fmt(t.sourceRows)} | ${fmt(t.targetRows)} | ${mdCell(t.sourceAccessMethod === t.targetAccessMethod ? t.sourceAccessMethod : `${t.sourceAccessMethod} → ${t.targetAccessMethod}`)} | ${mdCell(t.detail ?? t.problems.join(', '))} |`,
    );
  }
  const objs = r.objects.filter((o) => o.status !== 'match');
  if (objs.length) {
    out.push('', '## Objects that differ', '', '| Status | Kind | Schema | Name |', '|---|---|---|---|');
    for (const o of objs) out.push(`| ${o.status} | ${o.kind} | ${mdCell(o.schema)} | ${mdCell(o.name)} |`);
  }
  const seqs = r.sequences.filter((q) => q.status !== 'match');
  if (seqs.length) {
    out.push('', '## Sequences that differ', '', '| Status | Schema | Sequence | Source | Target |', '|---|---|---|---:|---:|');
    for (const q of seqs)
      out.push(`| ${q.status} | ${mdCell(q.schema)} | ${mdCell(q.name)} | ${fmt(q.sourceValue)} | ${fmt(q.targetValue)} |`);
  }
  return out.join('\n') + '\n';
}

/** The count query a DBA can paste into psql for one table. */
export function countQuery(schema: string, name: string): string {
  return `SELECT count(*) FROM ${qualifiedName(schema, name)};`;
}
