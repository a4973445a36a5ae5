/**
 * The validation report: produced by src/core/validate.ts, printed by the CLI, shown by the
 * webview. Plain data (JSON-safe): numbers above 2^53 are strings.
 */

export type CompareStatus = 'match' | 'different' | 'missing_in_target' | 'extra_in_target';
export type TableProblem = 'row_count' | 'access_method' | 'columns' | 'checksum' | 'count_failed';
export type RowCount = number | string | null;

export interface TableComparison {
  schema: string;
  name: string;
  /** table, partition, partitioned table, materialized view */
  kind: string;
  unlogged: boolean;
  sourceRows: RowCount;
  targetRows: RowCount;
  status: CompareStatus;
  problems: TableProblem[];
  sourceAccessMethod: string | null;
  targetAccessMethod: string | null;
  sourceChecksum?: string;
  targetChecksum?: string;
  /** Key ranges whose rows differ (checksums with an integer primary key). */
  differingRanges?: Array<{ key: string; from: string; to: string }>;
  /** Human explanation of the problems. */
  detail?: string;
  /**
   * Validated as of the dump's snapshot: the source's rows now, outside it (what the cutover must
   * still move, or the same number when nothing changed). null when it could not be read.
   */
  sourceRowsNow?: RowCount;
}

export interface ObjectComparison {
  kind: string;
  schema: string;
  name: string;
  status: CompareStatus;
  detail?: string;
}

export interface SequenceComparison {
  schema: string;
  name: string;
  sourceValue: RowCount;
  targetValue: RowCount;
  status: CompareStatus;
  /**
   * Validated as of the dump: the source's sequence moved on after the dump (sequences are not
   * part of a snapshot), the target holds the value the dump read. Not a gap in the copy, but a
   * step of the cutover: set it from the source.
   */
  advancedSinceDump?: boolean;
  detail?: string;
}

export interface ValidationReport {
  ok: boolean;
  mode: 'exact' | 'estimate';
  checksums: boolean;
  source: { server: string; version: string; database: string };
  target: { server: string; version: string; database: string };
  schemas?: string[];
  /**
   * How the source was read: `snapshot` through the snapshot the dump read (exact while the
   * source keeps taking writes; sourceSnapshotAt says when it was taken), or `live` (now).
   */
  sourceBasis?: 'snapshot' | 'live';
  sourceSnapshotAt?: string;
  /** Why a validation meant to use the dump's snapshot read the source live. */
  sourceBasisNote?: string;
  startedAt: string;
  durationMs: number;
  summary: {
    tables: number;
    matching: number;
    different: number;
    missingInTarget: number;
    extraInTarget: number;
    sourceRows: RowCount;
    targetRows: RowCount;
    objects: number;
    objectsDifferent: number;
    sequencesDifferent: number;
    /** Sequences that moved on on the source after the dump (as of the dump's snapshot): set them at the cutover. */
    sequencesAdvanced?: number;
  };
  tables: TableComparison[];
  objects: ObjectComparison[];
  sequences: SequenceComparison[];
}

/** A count as a JSON number when exact, a string above 2^53. */
export function jsonCount(v: bigint | number | string | null | undefined): RowCount {
  if (v === null || v === undefined) return null;
  const b = typeof v === 'bigint' ? v : BigInt(typeof v === 'number' ? Math.trunc(v) : v);
  return b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= -BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b.toString();
}

export function countToBigInt(v: RowCount): bigint | null {
  return v === null ? null : BigInt(v);
}

/** The summary of a report's rows (also after one table was re-checked). */
export function summarize(
  tables: TableComparison[],
  objects: ObjectComparison[],
  sequences: SequenceComparison[],
): ValidationReport['summary'] {
  const sum = (vals: RowCount[]): RowCount => jsonCount(vals.reduce<bigint>((acc, v) => acc + (countToBigInt(v) ?? 0n), 0n));
  const leaves = tables.filter((t) => t.kind !== 'partitioned table');
  return {
    tables: tables.length,
    matching: tables.filter((t) => t.status === 'match').length,
    different: tables.filter((t) => t.status === 'different').length,
    missingInTarget: tables.filter((t) => t.status === 'missing_in_target').length,
    extraInTarget: tables.filter((t) => t.status === 'extra_in_target').length,
    sourceRows: sum(leaves.map((t) => t.sourceRows)),
    targetRows: sum(leaves.map((t) => t.targetRows)),
    objects: objects.length,
    objectsDifferent: objects.filter((x) => x.status !== 'match').length,
    sequencesDifferent: sequences.filter((x) => x.status !== 'match').length,
    ...(sequences.some((x) => x.advancedSinceDump) ? { sequencesAdvanced: sequences.filter((x) => x.advancedSinceDump).length } : {}),
  };
}

/** A report is ok when every table matches and no object or sequence differs. */
export function reportOk(summary: ValidationReport['summary']): boolean {
  return summary.matching === summary.tables && summary.objectsDifferent === 0 && summary.sequencesDifferent === 0;
}
