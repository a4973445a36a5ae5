/**
 * Validation: compares a source database with a target database table by table (exact row counts
 * over a bounded pool of connections on both servers at once, access methods, columns, optional
 * order-independent checksums narrowed down to key ranges) and object by object (schemas, views,
 * functions, indexes, constraints, triggers, sequences, types, extensions, large objects, table
 * access methods).
 */
import type pg from 'pg';
import {
  jsonCount,
  reportOk,
  summarize,
  type CompareStatus,
  type ObjectComparison,
  type SequenceComparison,
  type TableComparison,
  type TableProblem,
  type ValidationReport,
} from '../shared/report.js';
import { qualifiedName } from './catalog.js';
import { describeTarget } from './connection.js';
import { importSnapshotSql, type SourceSnapshot } from './snapshot.js';
import { asOfDumpThenNow, fileNodes, importOn } from './validateSnapshot.js';
import { budgetOn } from './inspect.js';
import { ConnectionError, serverInfo } from './pg.js';
import { sideDatabase, type Side } from './side.js';
import type { StepProgress } from './step.js';
import {
  lockedTables,
  objectInventory,
  sequenceValues,
  tableInventory,
  tkey,
  ValidationError,
  type NamedObject,
  type TableMeta,
  objectDetail,
  compareByKey,
} from './validateInventory.js';
import {
  batches,
  cancelRunning,
  countBatch,
  DEFAULT_LOCK_TIMEOUT_SECONDS,
  differingRanges,
  guardedQuery,
  inPool,
  countSessions,
  moreSessions,
  openPool,
  validationSessionSql,
  type CountResult,
} from './validatePool.js';

export interface ValidateOptions {
  source: Side;
  target: Side;
  checksums?: boolean;
  estimate?: boolean;
  /** Only these schemas (default: every non-system schema). */
  schemas?: string[];
  /** Connections per server (default 4). */
  concurrency?: number;
  /** Only these tables ("schema.name"), for re-checking one table. */
  tables?: Array<{ schema: string; name: string }>;
  signal?: AbortSignal;
  onProgress?: (p: StepProgress) => void;
  /** How long a query waits for a lock another session holds on a table (default 30 s): then that table is reported unreadable. */
  lockTimeoutSeconds?: number;
  /**
   * Count the source as of this snapshot (the one the dump read; its exporting session must still
   * hold it), then also the source's rows now. Without it, or when it is no longer held, the source is read live.
   */
  sourceSnapshot?: Pick<SourceSnapshot, 'id' | 'takenAt' | 'sequences'>;
}

export async function validate(o: ValidateOptions): Promise<ValidationReport> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const wanted = Math.max(1, Math.min(16, o.concurrency ?? 4));
  // Each side's pool within half of that server's free connections (a live source serves its application too).
  const n = o.estimate ? 1 : wanted;
  let srcClients: pg.Client[] = [];
  let tgtClients: pg.Client[] = [];
  let onAbort: (() => void) | undefined;
  try {
    const sessionSql = validationSessionSql(o.lockTimeoutSeconds ?? DEFAULT_LOCK_TIMEOUT_SECONDS);
    // One session per side first; the others open once the tables say how many the counts need.
    const opened = await Promise.allSettled([openPool(o.source, 1, sessionSql), openPool(o.target, 1, sessionSql)]);
    if (opened[0].status === 'fulfilled') srcClients = opened[0].value;
    if (opened[1].status === 'fulfilled') tgtClients = opened[1].value;
    const failed = opened.find((x): x is PromiseRejectedResult => x.status === 'rejected');
    if (failed) {
      const err: unknown = failed.reason;
      const side = opened[0].status === 'rejected' ? 'the source' : 'the target';
      if (err instanceof ConnectionError)
        throw new ValidationError(`Could not connect to ${side}: ${err.explained.message} ${err.explained.hint}`);
      throw err instanceof Error ? err : new Error(String(err));
    }
    // The connection budgets for the counting sessions, read before any transaction (a failed query would end the snapshot's).
    const budgetOf = (c: pg.Client, side: Side) => budgetOn(c, side.profile.user).catch(() => undefined);
    const budgets = n > 1 ? await Promise.all([budgetOf(srcClients[0]!, o.source), budgetOf(tgtClients[0]!, o.target)]) : [];
    // On the dump's snapshot: every source session reads as of it (all or none: a mix would compare nonsense).
    let onSnapshot = false;
    let basisNote: string | undefined;
    // Each table's storage as the snapshot sees it: TRUNCATE and table rewrites are not MVCC-safe.
    let fileNodesThen: Map<string, string> | undefined;
    if (o.sourceSnapshot && !o.estimate) {
      try {
        // The first session only: the others open later and take it then (importOn).
        for (const sql of importSnapshotSql(o.sourceSnapshot.id)) await srcClients[0]!.query(sql);
        onSnapshot = true;
        fileNodesThen = await fileNodes(srcClients[0]!);
      } catch (err) {
        // Rolled back: read live from here on, and said so (a failure after the import left it set).
        onSnapshot = false;
        await srcClients[0]!.query('ROLLBACK').catch(() => undefined);
        basisNote = `The dump's snapshot could not be used (${err instanceof Error ? err.message : String(err)}); the source was read live, so tables written since the dump differ.`;
      }
    }
    onAbort = () => void Promise.all([cancelRunning(o.source, srcClients), cancelRunning(o.target, tgtClients)]);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    // Tables locked by another session on either side: their index definitions are not read on both.
    const locked = [...new Set((await Promise.all([lockedTables(srcClients[0]!), lockedTables(tgtClients[0]!)])).flat())];
    const [srcInfo, tgtInfo, srcTables, tgtTables] = await Promise.all([
      serverInfo(srcClients[0]!),
      serverInfo(tgtClients[0]!),
      tableInventory(srcClients[0]!, o.schemas),
      tableInventory(tgtClients[0]!, o.schemas),
    ]);
    const wanted = o.tables ? new Set(o.tables.map((t) => tkey(t.schema, t.name))) : undefined;
    const pairs = compareByKey(srcTables, tgtTables, (t) => tkey(t.schema, t.name)).filter((p) => !wanted || wanted.has(p.key));
    // A table's checksum is comparable only when both sides hash its rows the same way.
    for (const p of pairs) if (p.source && p.target) p.source.binaryHash = p.target.binaryHash = p.source.binaryHash && p.target.binaryHash;
    const batchSize = o.checksums ? 1 : 25;
    const srcList = pairs.filter((p) => p.source && p.source.kind !== 'partitioned table').map((p) => p.source!);
    const tgtList = pairs.filter((p) => p.target && p.target.kind !== 'partitioned table').map((p) => p.target!);
    if (n > 1 && !o.signal?.aborted) {
      const k = countSessions(n, Math.ceil(Math.max(srcList.length, tgtList.length) / batchSize));
      const [moreSrc, moreTgt] = await Promise.all([
        moreSessions(o.source, budgets[0], k, sessionSql),
        moreSessions(o.target, budgets[1], k, sessionSql),
      ]);
      tgtClients.push(...moreTgt);
      // On the snapshot like the first; one that cannot take it is closed, not used live.
      const taken = onSnapshot ? await Promise.all(moreSrc.map((c) => importOn(c, o.sourceSnapshot!.id))) : moreSrc.map(() => true);
      srcClients.push(...moreSrc.filter((_, i) => taken[i]));
      await Promise.all(moreSrc.filter((_, i) => !taken[i]).map((c) => c.end().catch(() => undefined)));
    }

    // Objects and sequences on the first connection of each side while the others count rows.
    const inventories = (): Promise<[NamedObject[], NamedObject[], Map<string, bigint | null>, Map<string, bigint | null>]> =>
      Promise.all([
        objectInventory(srcClients[0]!, o.schemas, locked),
        objectInventory(tgtClients[0]!, o.schemas, locked),
        sequenceValues(srcClients[0]!, o.schemas, 'source'),
        sequenceValues(tgtClients[0]!, o.schemas, 'target'),
      ]);
    const early = srcClients.length > 1 && tgtClients.length > 1 ? inventories() : undefined;
    early?.catch(() => undefined); // awaited below; a failure must not be an unhandled rejection meanwhile
    const countSrc = srcClients.length > 1 ? srcClients.slice(1) : srcClients;
    const countTgt = tgtClients.length > 1 ? tgtClients.slice(1) : tgtClients;

    // Row counts (and checksums) on both servers at once.
    const srcCounts = new Map<string, CountResult>();
    const tgtCounts = new Map<string, CountResult>();
    const total = pairs.length * (o.estimate ? 0 : 1);
    let done = 0;
    if (!o.estimate) {
      const progress = (k: number): void => {
        done += k;
        o.onProgress?.({ done: Math.min(done, total * 2), total: total * 2 });
      };
      const countAll = (clients: pg.Client[], list: TableMeta[], into: Map<string, CountResult>, inTransaction = false): Promise<void> =>
        inPool(
          clients,
          batches(list, batchSize),
          async (c, b) => {
            for (const [k, v] of await countBatch(c, b, !!o.checksums, o.signal, inTransaction)) into.set(k, v);
            progress(b.length);
          },
          o.signal,
        );
      await Promise.all([countAll(countSrc, srcList, srcCounts, onSnapshot), countAll(countTgt, tgtList, tgtCounts)]);
    }

    // Partitioned parents: the sum of their partitions' rows (count(*) on the parent would read them again).
    const partitionSums = async (
      c: pg.Client,
      counts: Map<string, CountResult>,
      metas: TableMeta[],
      inTransaction = false,
    ): Promise<void> => {
      const parents = metas.filter((t) => t.kind === 'partitioned table');
      if (!parents.length) return;
      const { rows: raw } = await c.query<{ ps: string; pn: string; cs: string; cn: string }>(
        `WITH RECURSIVE tree AS (
           SELECT i.inhparent AS root, i.inhrelid AS rel FROM pg_inherits i
           UNION ALL SELECT tree.root, i.inhrelid FROM tree JOIN pg_inherits i ON i.inhparent = tree.rel)
         SELECT pn.nspname AS ps, p.relname AS pn, cn.nspname AS cs, ch.relname AS cn
           FROM tree JOIN pg_class p ON p.oid = tree.root JOIN pg_namespace pn ON pn.oid = p.relnamespace
           JOIN pg_class ch ON ch.oid = tree.rel JOIN pg_namespace cn ON cn.oid = ch.relnamespace WHERE ch.relkind = 'r'`,
      );
      const rows = raw.map((r) => ({ parent: tkey(r.ps, r.pn), child: tkey(r.cs, r.cn) }));
      for (const parent of parents) {
        const key = tkey(parent.schema, parent.name);
        const children = rows.filter((r) => r.parent === key).map((r) => counts.get(r.child));
        const failed = children.find((ch) => ch?.error !== undefined);
        if (failed) {
          // A partition could not be read (locked, no privilege): so is its parent; no second wait.
          counts.set(key, { rows: null, error: failed.error! });
        } else if (children.some((ch) => !ch || ch.rows === null)) {
          try {
            const { rows: r } = await guardedQuery<{ n: string }>(
              c,
              `SELECT count(*)::text AS n FROM ${qualifiedName(parent.schema, parent.name)}`,
              inTransaction,
            );
            counts.set(key, { rows: BigInt(r[0]!.n) });
          } catch (err) {
            if (o.signal?.aborted) throw new ValidationError('Validation was cancelled.');
            counts.set(key, { rows: null, error: err instanceof Error ? err.message : String(err) });
          }
        } else {
          counts.set(key, { rows: children.reduce((s, ch) => s + (ch!.rows ?? 0n), 0n) });
        }
      }
    };
    if (!o.estimate)
      await Promise.all([partitionSums(countSrc[0]!, srcCounts, srcTables, onSnapshot), partitionSums(countTgt[0]!, tgtCounts, tgtTables)]);

    const tables: TableComparison[] = [];
    for (const p of pairs) {
      const s = p.source;
      const t = p.target;
      const base = (s ?? t)!;
      const sc = s ? (o.estimate ? { rows: s.estimate === null ? null : BigInt(s.estimate) } : srcCounts.get(p.key)) : undefined;
      const tc = t ? (o.estimate ? { rows: t.estimate === null ? null : BigInt(t.estimate) } : tgtCounts.get(p.key)) : undefined;
      const row: TableComparison = {
        schema: base.schema,
        name: base.name,
        kind: base.kind,
        unlogged: base.unlogged,
        sourceRows: jsonCount(sc?.rows),
        targetRows: jsonCount(tc?.rows),
        status: 'match',
        problems: [],
        sourceAccessMethod: s?.am ?? null,
        targetAccessMethod: t?.am ?? null,
      };
      const notes: string[] = [];
      if (!s) {
        row.status = 'extra_in_target';
      } else if (!t) {
        row.status = 'missing_in_target';
      } else {
        const problems: TableProblem[] = [];
        if (sc?.error || tc?.error) {
          problems.push('count_failed');
          const error = sc?.error ?? tc?.error ?? '';
          const side = sc?.error ? 'source' : 'target';
          notes.push(
            /lock timeout/i.test(error)
              ? `not read: another session holds a lock on it on the ${side} (waited ${o.lockTimeoutSeconds ?? DEFAULT_LOCK_TIMEOUT_SECONDS} s)`
              : `count failed on the ${side}: ${error}`,
          );
        } else if (sc?.rows !== tc?.rows && !(o.estimate && (sc?.rows === null || tc?.rows === null))) {
          problems.push('row_count');
          const diff = (tc?.rows ?? 0n) - (sc?.rows ?? 0n);
          notes.push(`${diff > 0n ? '+' : ''}${diff} rows in the target`);
        }
        if ((s.am ?? null) !== (t.am ?? null)) {
          problems.push('access_method');
          notes.push(`access method ${s.am} on the source, ${t.am} on the target`);
        }
        if (s.columns !== t.columns) {
          problems.push('columns');
          notes.push(`columns differ: source (${s.columns}) target (${t.columns})`);
        }
        if (o.checksums && !o.estimate && sc?.checksum !== undefined && tc?.checksum !== undefined) {
          row.sourceChecksum = sc.checksum;
          row.targetChecksum = tc.checksum;
          if (sc.checksum !== tc.checksum) {
            problems.push('checksum');
            if (s.intKey && s.intKey === t.intKey && !problems.includes('columns')) {
              row.differingRanges = await differingRanges(countSrc[0]!, countTgt[0]!, s, o.signal);
              if (row.differingRanges.length)
                notes.push(
                  `rows with ${s.intKey} ${row.differingRanges.map((r) => (r.from === r.to ? r.from : `${r.from}–${r.to}`)).join(', ')} differ`,
                );
            } else {
              notes.push('content differs (no single integer primary key to locate the rows)');
            }
          }
        }
        row.problems = problems;
        row.status = problems.length ? 'different' : 'match';
      }
      if (notes.length) row.detail = notes.join('; ');
      tables.push(row);
    }

    // Objects and sequences.
    const [srcObjs, tgtObjs, srcSeq, tgtSeq] = await (early ?? inventories());

    // As of the dump, then now: the source's rows outside the snapshot, what the cutover must still move.
    if (onSnapshot)
      await asOfDumpThenNow({
        clients: srcClients,
        ...(fileNodesThen ? { fileNodesThen } : {}),
        tables,
        leaves: pairs.filter((p) => p.source && p.source.kind !== 'partitioned table').map((p) => p.source!),
        partitionSums: (c, counts) => partitionSums(c, counts, srcTables),
        ...(o.signal ? { signal: o.signal } : {}),
      });
    const objects: ObjectComparison[] = compareByKey(srcObjs, tgtObjs, (x) => `${x.kind}\u0000${x.schema}\u0000${x.name}`).map((p) => {
      const base = (p.source ?? p.target)!;
      const status: CompareStatus = !p.target
        ? 'missing_in_target'
        : !p.source
          ? 'extra_in_target'
          : p.source.def !== p.target.def
            ? 'different'
            : 'match';
      const c: ObjectComparison = { kind: base.kind, schema: base.schema, name: base.name, status };
      const detail = objectDetail(base.kind, status, p.source?.def, p.target?.def);
      if (detail) c.detail = detail;
      return c;
    });
    const sequences: SequenceComparison[] = [...new Set([...srcSeq.keys(), ...tgtSeq.keys()])].sort().map((key) => {
      const dot = key.indexOf('\u0000');
      const sv = srcSeq.has(key) ? srcSeq.get(key)! : undefined;
      const tv = tgtSeq.has(key) ? tgtSeq.get(key)! : undefined;
      // Sequences are outside any snapshot: on a live source one moves on after the dump read it. The
      // target must then hold at least what the source held at the snapshot (read right after it):
      // a target left behind that (reset, never set) still differs.
      const then = onSnapshot ? o.sourceSnapshot?.sequences : undefined;
      const atSnapshot = then?.has(key) ? then.get(key)! : undefined;
      const advanced =
        then !== undefined &&
        then.has(key) &&
        typeof sv === 'bigint' &&
        (typeof tv === 'bigint'
          ? sv > tv && (atSnapshot === null || (atSnapshot !== undefined && atSnapshot <= tv))
          : tv === null && atSnapshot === null);
      const status: CompareStatus =
        tv === undefined ? 'missing_in_target' : sv === undefined ? 'extra_in_target' : sv === tv || advanced ? 'match' : 'different';
      return {
        schema: key.slice(0, dot),
        name: key.slice(dot + 1),
        sourceValue: jsonCount(sv ?? null),
        targetValue: jsonCount(tv ?? null),
        status,
        ...(advanced
          ? {
              advancedSinceDump: true,
              detail: `moved on on the source since the dump (${tv ?? 'never used'} in the target, ${sv} on the source now): set it from the source at the cutover`,
            }
          : {}),
      };
    });

    const report: ValidationReport = {
      ok: false,
      mode: o.estimate ? 'estimate' : 'exact',
      checksums: !!o.checksums && !o.estimate,
      source: {
        server: describeTarget(o.source.profile, sideDatabase(o.source)),
        version: srcInfo.serverVersion,
        database: srcInfo.database,
      },
      target: {
        server: describeTarget(o.target.profile, sideDatabase(o.target)),
        version: tgtInfo.serverVersion,
        database: tgtInfo.database,
      },
      startedAt,
      durationMs: 0,
      summary: summarize(tables, objects, sequences),
      tables,
      objects,
      sequences,
    };
    if (o.schemas?.length) report.schemas = o.schemas;
    if (!o.estimate) report.sourceBasis = onSnapshot ? 'snapshot' : 'live';
    if (onSnapshot && o.sourceSnapshot) report.sourceSnapshotAt = o.sourceSnapshot.takenAt;
    if (basisNote) report.sourceBasisNote = basisNote;
    report.ok = reportOk(report.summary);
    report.durationMs = Math.round(performance.now() - started);
    return report;
  } finally {
    if (onAbort) o.signal?.removeEventListener('abort', onAbort);
    await Promise.all([...srcClients, ...tgtClients].map((c) => c.end().catch(() => undefined)));
  }
}
