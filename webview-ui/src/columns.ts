/**
 * The table grid's columns: what each shows, sorts by and how wide it may be. A narrow editor drops
 * the columns of lowest priority first (their values stay in the row's tooltip and its detail); the
 * columns a user checks first (status, table, rows, access method, problems, actions) never go.
 */
import type { RowCount, TableComparison, ValidationReport } from '../../src/shared/report.js';
import { big, difference, fmt, statusLabel } from './dom.js';

export interface Cell {
  text: string;
  /** The full text when the cell may be cut (ellipsis). */
  title?: string;
  cls?: string;
}

export interface Column {
  id: string;
  label: string;
  value: (t: TableComparison) => string | bigint | number;
  cell: (t: TableComparison, qualified: boolean) => Cell;
  numeric?: boolean;
  /** Fixed width (px), or a minimum and an ideal width. */
  width?: number;
  min?: number;
  /** The width it reads well at: columns are dropped until these fit, and space is shared out in its proportion. */
  ideal?: number;
  /** Dropped first when the editor is narrow (1 first); undefined: never dropped. */
  drop?: number;
  /** Not sortable (the actions). */
  noSort?: boolean;
}

export const accessMethod = (t: TableComparison): string =>
  t.sourceAccessMethod === t.targetAccessMethod
    ? (t.sourceAccessMethod ?? '–')
    : `${t.sourceAccessMethod ?? '–'} → ${t.targetAccessMethod ?? '–'}`;
export const problemsText = (t: TableComparison): string => t.detail ?? t.problems.join(', ');
export const qualifiedName = (t: TableComparison): string => `${t.schema}.${t.name}`;

/** Checksums compared: same, differs, or not computed for this table. */
export function checksumText(t: TableComparison): string {
  if (t.sourceChecksum === undefined || t.targetChecksum === undefined) return '–';
  return t.sourceChecksum === t.targetChecksum ? '✔ same' : '✖ differs';
}

const num = (v: string): Cell => ({ text: v, cls: 'num' });
const text = (v: string, cls?: string): Cell => ({ text: v, title: v, ...(cls ? { cls } : {}) });

/** A column of row counts: right-aligned, sorted as numbers (unknown first). */
function rowsColumn(id: string, label: string, rows: (t: TableComparison) => RowCount, title?: string): Column {
  return {
    id,
    label,
    min: 84,
    ideal: 104,
    numeric: true,
    value: (t) => big(rows(t)) ?? -1n,
    cell: (t) => ({ ...num(fmt(rows(t))), ...(title ? { title } : {}) }),
  };
}

export const columns: Column[] = [
  {
    id: 'status',
    label: 'Status',
    min: 100,
    ideal: 110,
    value: (t) => (t.status === 'match' ? 1 : 0),
    cell: (t) => text(statusLabel[t.status] ?? t.status, `status ${t.status}`),
  },
  { id: 'schema', label: 'Schema', min: 64, ideal: 96, drop: 4, value: (t) => t.schema, cell: (t) => text(t.schema, 'name') },
  {
    id: 'name',
    label: 'Table',
    min: 96,
    ideal: 160,
    value: (t) => t.name,
    // Without the Schema column the name says its schema.
    cell: (t, qualified) => text(qualified ? qualifiedName(t) : t.name, 'name'),
  },
  {
    id: 'kind',
    label: 'Kind',
    min: 64,
    ideal: 90,
    drop: 1,
    value: (t) => t.kind,
    cell: (t) => text(t.kind + (t.unlogged ? ', unlogged' : '')),
  },
  rowsColumn('source', 'Source rows', (t) => t.sourceRows),
  rowsColumn('target', 'Target rows', (t) => t.targetRows),
  {
    id: 'diff',
    label: 'Difference',
    min: 76,
    ideal: 96,
    numeric: true,
    drop: 5,
    value: (t) => (big(t.targetRows) ?? 0n) - (big(t.sourceRows) ?? 0n),
    cell: (t) => num(difference(t)),
  },
  {
    id: 'am',
    label: 'Access method',
    min: 80,
    ideal: 120,
    value: (t) => `${t.sourceAccessMethod ?? ''}>${t.targetAccessMethod ?? ''}`,
    cell: (t) => text(accessMethod(t), t.problems.includes('access_method') ? 'warn' : undefined),
  },
  { id: 'problems', label: 'Problems', min: 110, ideal: 200, value: problemsText, cell: (t) => text(problemsText(t)) },
  { id: 'actions', label: 'Actions', width: 64, noSort: true, value: () => 0, cell: () => ({ text: '' }) },
];

/** Validated as of the dump's snapshot: the source's rows then, and now beside them. */
export const asOfDump = (r: ValidationReport): boolean => r.sourceBasis === 'snapshot';

/** The columns of this report: "Source now" beside the dump's rows, a Checksum column when checksums ran. */
export function columnsFor(r: ValidationReport): Column[] {
  return columns.flatMap((c): Column[] => {
    if (c.id === 'source' && asOfDump(r))
      return [
        { ...c, label: 'Source rows (dump)' },
        {
          ...rowsColumn('now', 'Source now', (t) => t.sourceRowsNow ?? null, "The source now, outside the dump's snapshot"),
          drop: 2,
        },
      ];
    if (c.id === 'problems' && r.checksums)
      return [
        {
          id: 'checksum',
          label: 'Checksum',
          min: 84,
          ideal: 100,
          drop: 3,
          value: checksumText,
          cell: (t) => text(checksumText(t), checksumText(t) === '✖ differs' ? 'warn' : undefined),
        },
        c,
      ];
    return [c];
  });
}

/** The narrowest a column may be (its fixed width, a user's width, or its minimum). */
export const minWidth = (c: Column, widths: Record<string, number>): number => widths[c.id] ?? c.width ?? c.min ?? 80;

/**
 * The columns that fit `available` px at the width they read well at: the droppable ones go in their
 * order until the rest fits (never the ones without a drop order: they shrink to their minimum).
 */
export function fitColumns(cols: Column[], available: number, widths: Record<string, number>): Column[] {
  const shown = new Set(cols);
  const total = (): number => [...shown].reduce((s, c) => s + (widths[c.id] ?? c.ideal ?? minWidth(c, widths)), 0);
  for (const c of cols.filter((x) => x.drop !== undefined).sort((a, b) => a.drop! - b.drop!)) {
    if (total() <= available) break;
    shown.delete(c);
  }
  return cols.filter((c) => shown.has(c));
}

/** CSS grid-template-columns for these columns (a user's width wins). */
export function template(cols: Column[], widths: Record<string, number>): string {
  return cols
    .map((c) =>
      widths[c.id] !== undefined
        ? `${widths[c.id]}px`
        : c.width
          ? `${c.width}px`
          : `minmax(${c.min ?? 80}px, ${((c.ideal ?? c.min ?? 80) / 100).toFixed(2)}fr)`,
    )
    .join(' ');
}
