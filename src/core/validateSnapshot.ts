/**
 * The end of a validation on the dump's snapshot: the tables truncated or rewritten since (their
 * rows as of the snapshot cannot be read: TRUNCATE and rewrites are not MVCC-safe), then the
 * source's rows now, outside the snapshot, beside each table.
 */
import type pg from 'pg';
import type { TableComparison } from '../shared/report.js';
import { jsonCount } from '../shared/report.js';
import { importSnapshotSql } from './snapshot.js';
import { batches, countBatch, inPool, type CountResult } from './validatePool.js';
import { tkey, type TableMeta } from './validateInventory.js';

/** Takes the dump's snapshot on one more session: false (its transaction rolled back) when it cannot. */
export async function importOn(c: pg.Client, id: string): Promise<boolean> {
  try {
    for (const sql of importSnapshotSql(id)) await c.query(sql);
    return true;
  } catch {
    await c.query('ROLLBACK').catch(() => undefined);
    return false;
  }
}

export async function asOfDumpThenNow(o: {
  /** The source's sessions, each in a transaction on the snapshot. */
  clients: pg.Client[];
  /** fileNodes() read on the snapshot. */
  fileNodesThen?: Map<string, string>;
  tables: TableComparison[];
  /** The source's tables to count now (no partitioned parents). */
  leaves: TableMeta[];
  /** Sums the partitions of the partitioned parents into `counts`. */
  partitionSums: (c: pg.Client, counts: Map<string, CountResult>) => Promise<void>;
  signal?: AbortSignal;
}): Promise<void> {
  // A session the server ended meanwhile is left out of the count of "now" (its transaction is gone anyway).
  const alive = (
    await Promise.all(
      o.clients.map((c) =>
        c.query('COMMIT').then(
          () => c,
          () => undefined,
        ),
      ),
    )
  ).filter((c): c is pg.Client => c !== undefined);
  const nodesNow = alive[0] ? await fileNodes(alive[0]).catch(() => undefined) : undefined;
  const rewritten = new Set<string>();
  if (o.fileNodesThen && nodesNow)
    for (const [k, node] of o.fileNodesThen) if (nodesNow.has(k) && nodesNow.get(k) !== node) rewritten.add(k);
  for (const row of o.tables) {
    if (!rewritten.has(tkey(row.schema, row.name)) || row.status === 'extra_in_target' || row.status === 'missing_in_target') continue;
    // As of the snapshot such a table reads as empty or half-gone: its count says nothing about the copy.
    row.status = 'different';
    row.problems = ['count_failed', ...row.problems.filter((p) => p !== 'row_count' && p !== 'count_failed')];
    row.detail =
      'truncated or rewritten on the source after the dump (TRUNCATE, VACUUM FULL, CLUSTER or an ALTER TABLE that rewrites it): its rows as of the dump cannot be read; validate it again after the cutover';
  }
  const counters = alive.length > 1 ? alive.slice(1) : alive;
  if (!counters.length) return;
  const now = new Map<string, CountResult>();
  await inPool(
    counters,
    batches(o.leaves, 25),
    async (c, b) => {
      for (const [k, v] of await countBatch(c, b, false, o.signal)) now.set(k, v);
    },
    o.signal,
  );
  await o.partitionSums(counters[0]!, now);
  for (const row of o.tables)
    if (row.status !== 'extra_in_target') row.sourceRowsNow = jsonCount(now.get(tkey(row.schema, row.name))?.rows ?? null);
}

/** `tkey(schema, name)` -> relfilenode of every table and materialized view, as the session's snapshot sees them. */
export async function fileNodes(c: pg.Client): Promise<Map<string, string>> {
  const { rows } = await c.query<{ s: string; n: string; f: string }>(
    `SELECT n.nspname AS s, c.relname AS n, c.relfilenode::text AS f FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'`,
  );
  return new Map(rows.map((r) => [tkey(r.s, r.n), r.f]));
}
