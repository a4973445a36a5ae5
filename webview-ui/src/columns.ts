/** The table grid's columns: what each shows and sorts by (a "Source now" column when validated as of the dump). */
import type { TableComparison, ValidationReport } from '../../src/shared/report.js';
import { big } from './dom.js';

export type Column = { id: string; label: string; value: (t: TableComparison) => string | bigint | number; numeric?: boolean };
export const columns: Column[] = [
  { id: 'status', label: 'Status', value: (t) => (t.status === 'match' ? 1 : 0) },
  { id: 'schema', label: 'Schema', value: (t) => t.schema },
  { id: 'name', label: 'Table', value: (t) => t.name },
  { id: 'kind', label: 'Kind', value: (t) => t.kind },
  { id: 'source', label: 'Source rows', value: (t) => big(t.sourceRows) ?? -1n, numeric: true },
  { id: 'target', label: 'Target rows', value: (t) => big(t.targetRows) ?? -1n, numeric: true },
  { id: 'diff', label: 'Difference', value: (t) => (big(t.targetRows) ?? 0n) - (big(t.sourceRows) ?? 0n), numeric: true },
  { id: 'am', label: 'Access method', value: (t) => `${t.sourceAccessMethod ?? ''}>${t.targetAccessMethod ?? ''}` },
  { id: 'problems', label: 'Problems', value: (t) => t.detail ?? t.problems.join(', ') },
];

/** Validated as of the dump's snapshot: the source's rows then, and now beside them. */
export const asOfDump = (r: ValidationReport): boolean => r.sourceBasis === 'snapshot';
export function columnsFor(r: ValidationReport): Column[] {
  if (!asOfDump(r)) return columns;
  return columns.flatMap((c) =>
    c.id === 'source'
      ? [
          { ...c, label: 'Source rows (dump)' },
          { id: 'now', label: 'Source now', value: (t: TableComparison) => big(t.sourceRowsNow ?? null) ?? -1n, numeric: true },
        ]
      : [c],
  );
}
