/**
 * How a migration moves the data, chosen from what the catalog says about the source:
 * - `stream`: pg_dump's custom-format output piped into pg_restore while the same bytes go to the
 *   archive file, then indexes and constraints from that file in parallel. Dump and load overlap,
 *   which is what pays when one table holds most of the data (parallel jobs cannot split a table).
 * - `directory`: pg_dump -Fd -j N, then pg_restore -j N: pays when many tables of similar size
 *   keep N jobs busy.
 * - `custom`: the guide's pg_dump -Fc, then pg_restore -j N (chosen only when asked for).
 */
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatBytes } from './catalog.js';
import { userSchemaSql } from './inspect.js';
import { withSide, type Side } from './side.js';

export type PlanKind = 'stream' | 'directory' | 'custom';
export type PlanRequest = PlanKind | 'auto';

export const PLAN_REQUESTS: readonly PlanRequest[] = ['auto', 'stream', 'directory', 'custom'];

export interface DataShape {
  /** Ordinary tables and materialized views outside system schemas. */
  tables: number;
  /** Their heap + TOAST size (pg_table_size), bytes. */
  dataBytes: number;
  /** Their indexes (pg_indexes_size), bytes. */
  indexBytes: number;
  /** The largest of them by data size; `sql` its quoted name, `rows` the catalog's estimate (-1: never analyzed). */
  largest?: { name: string; bytes: number; sql?: string; rows?: number; oid?: number; heap?: boolean };
  /** The table with the largest indexes, and their size. */
  largestIndexes?: { name: string; bytes: number };
}

export interface MigrationPlan {
  kind: PlanKind;
  /** Parallel jobs of the directory dump and restore. */
  jobs: number;
  /**
   * The streamed plan: 1 builds indexes and constraints in the load's own pass (one table holds
   * most of them: parallel jobs cannot split an index build), N afterwards from the archive with N jobs.
   */
  indexJobs: number;
  /** The streamed plan: the dominant table whose rows this many sessions load at once. */
  split?: { name: string; oid: number; sessions: number };
  /** The directory plan: the archive's zlib level (pg_dump --compress), when chosen by uncompressedArchive. */
  compress?: number;
  /** One sentence for the terminal: what was chosen and why. */
  reason: string;
  shape?: DataShape;
}

/**
 * One catalog round trip: table count, data and index sizes, the largest table. pg_table_size
 * takes a lock that waits behind a session holding a table exclusively: after 2 s the sizes are
 * taken from the catalog's estimates (relpages, no lock) instead, and a table never analyzed counts as empty.
 */
export async function readDataShape(side: Side, signal?: AbortSignal): Promise<DataShape> {
  return withSide(
    side,
    async (client) => {
      const query = (bytes: string, idx: string) =>
        client.query<{
          tables: string;
          data: string;
          idx: string;
          name: string | null;
          largest: string | null;
          lsql: string | null;
          lrows: string | null;
          loid: string | null;
          lheap: boolean | null;
          iname: string | null;
          ibytes: string | null;
        }>(
          `WITH t AS (
           SELECT format('%s.%s', n.nspname, c.relname) AS name, format('%I.%I', n.nspname, c.relname) AS sql,
                  c.reltuples::float8 AS rows, ${bytes} AS bytes, ${idx} AS idx, c.oid,
                  c.relkind = 'r' AND c.relam = (SELECT oid FROM pg_am WHERE amname = 'heap') AS heap
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'm') AND ${userSchemaSql()})
         SELECT (SELECT count(*) FROM t) AS tables, (SELECT coalesce(sum(bytes), 0) FROM t) AS data,
                (SELECT coalesce(sum(idx), 0) FROM t) AS idx, l.name, l.bytes AS largest, l.sql AS lsql, l.rows AS lrows, l.oid AS loid, l.heap AS lheap, li.name AS iname, li.idx AS ibytes
           FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT name, sql, rows, bytes, oid, heap FROM t ORDER BY bytes DESC LIMIT 1) l ON true
           LEFT JOIN LATERAL (SELECT name, idx FROM t ORDER BY idx DESC LIMIT 1) li ON true`,
        );
      await client.query(`SET lock_timeout = '2s'`);
      const { rows } = await query('pg_table_size(c.oid)', 'pg_indexes_size(c.oid)').catch(async (err: { code?: string }) => {
        if (err.code !== '55P03') throw err; // lock_not_available
        const pages = `current_setting('block_size')::bigint`;
        return query(
          `(c.relpages::bigint + coalesce((SELECT relpages FROM pg_class tc WHERE tc.oid = c.reltoastrelid), 0)) * ${pages}`,
          `(SELECT coalesce(sum(ic.relpages), 0) FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid) * ${pages}`,
        );
      });
      const r = rows[0]!;
      return {
        tables: Number(r.tables),
        dataBytes: Number(r.data),
        indexBytes: Number(r.idx),
        ...(r.name !== null && r.largest !== null
          ? {
              largest: {
                name: r.name,
                bytes: Number(r.largest),
                ...(r.lsql !== null ? { sql: r.lsql } : {}),
                rows: Number(r.lrows ?? -1),
                ...(r.loid !== null ? { oid: Number(r.loid), heap: r.lheap === true } : {}),
              },
            }
          : {}),
        ...(r.iname !== null && r.ibytes !== null ? { largestIndexes: { name: r.iname, bytes: Number(r.ibytes) } } : {}),
      };
    },
    signal ? { signal } : {},
  );
}

/** Below this much data the fixed cost of parallel workers (a snapshot, N connections, N files) outweighs them. */
export const PARALLEL_MIN_BYTES = 64 * 1024 * 1024;

/**
 * The largest table's share of the data from which streaming beats parallel jobs. A parallel plan
 * dumps, then restores, each phase lasting at least as long as the largest table: about
 * 2 x max(share, 1/jobs) of the data's time, against about 1 + e for a stream (dump and load
 * overlap, e the cost of running them side by side). Measured on bench/migration.ts (2 cores):
 * share 0.87 streams in 0.72 of the parallel time, share 0.52 in 1.11 of it; e = 0.15 fits both.
 */
export const STREAM_SHARE = 0.6;

/**
 * The plan for this shape: streaming when the largest table holds STREAM_SHARE of the data (parallel
 * jobs would wait on it), when there is too little data for jobs to pay, or with one job; else
 * the parallel directory archive.
 */
/**
 * A streamed table at least this large has its rows loaded by `jobs` sessions at once: the
 * target's COPY of one table runs on one core, and on bench/migration.ts (pgbench scale 50, 640 MB
 * in one table, 2 cores) two sessions took the load from 5.1 s to 4.1-4.4 s. Below it the sessions'
 * connections and the inflating in this process weigh more than they save.
 */
export const SPLIT_MIN_BYTES = 256 * 1024 * 1024;

export function choosePlan(
  shape: DataShape | undefined,
  jobs: number,
  requested: PlanRequest = 'auto',
  indexJobsAsked?: number,
  splitMinBytes = SPLIT_MIN_BYTES,
): MigrationPlan {
  const indexJobs = indexJobsAsked ?? streamIndexJobs(shape, jobs);
  const base = { jobs, indexJobs, ...(shape ? { shape } : {}) };
  const l = shape?.largest;
  const split =
    jobs >= 2 && l?.oid !== undefined && l.heap && l.bytes >= splitMinBytes ? { name: l.name, oid: l.oid, sessions: jobs } : undefined;
  const stream = (why: string): MigrationPlan => ({
    kind: 'stream',
    ...base,
    ...(split ? { split } : {}),
    reason: `${describePlan('stream', jobs, indexJobs, split?.sessions)}${why}`,
  });
  if (requested === 'stream') return stream(', as asked.');
  if (requested !== 'auto') return { kind: requested, ...base, reason: `${describePlan(requested, jobs, indexJobs)}, as asked.` };
  if (!shape)
    return { kind: 'directory', ...base, reason: `${describePlan('directory', jobs, indexJobs)}: the source's sizes could not be read.` };
  const total = shape.dataBytes;
  const share = shape.largest && total > 0 ? shape.largest.bytes / total : 0;
  const pct = `${Math.round(share * 100)}%`;
  if (jobs < 2) return stream(': one job, so the dump and the load overlap instead.');
  if (total < PARALLEL_MIN_BYTES) return stream(`: ${formatBytes(total)} of data is too little for parallel jobs to pay.`);
  if (shape.largest && share >= STREAM_SHARE)
    return stream(`: ${shape.largest.name} holds ${pct} of the data, so parallel jobs would wait on it.`);
  return {
    kind: 'directory',
    ...base,
    reason: `${describePlan('directory', jobs, indexJobs)}: ${shape.tables} tables, the largest ${pct} of ${formatBytes(total)}, keep ${jobs} jobs busy.`,
  };
}

/**
 * A streamed plan builds the indexes afterwards with N jobs only when they are spread over tables
 * and large enough: a second pass costs a process, N connections and a re-read of the archive's
 * list (0.4 s more than one pass on pgbench scale 50, whose one large index parallel jobs cannot split).
 */
export function streamIndexJobs(shape: DataShape | undefined, jobs: number): number {
  if (jobs < 2 || !shape) return Math.max(1, jobs);
  if (shape.indexBytes < PARALLEL_MIN_BYTES) return 1;
  const share = shape.largestIndexes ? shape.largestIndexes.bytes / shape.indexBytes : 0;
  return share >= STREAM_SHARE ? 1 : jobs;
}

export function describePlan(kind: PlanKind, jobs: number, indexJobs = jobs, splitSessions?: number): string {
  switch (kind) {
    case 'stream':
      if (splitSessions)
        return `Streaming (dump and load at the same time, archive kept; the largest table's rows through ${splitSessions} sessions at once, then the indexes${indexJobs > 1 ? ` with ${indexJobs} jobs` : ''})`;
      return `Streaming (dump and load at the same time, archive kept; ${indexJobs > 1 ? `then the indexes with ${indexJobs} jobs` : 'indexes in the same pass'})`;
    case 'directory':
      return `Parallel directory archive (${jobs} job${jobs === 1 ? '' : 's'} for the dump and the restore)`;
    case 'custom':
      return `Custom-format archive, then a restore with ${jobs} job${jobs === 1 ? '' : 's'}`;
  }
}

/**
 * The directory plan writes its archive uncompressed when the archive's disk has room for it:
 * measured (bench/migration.ts, 400 tables, 439 MB of COPY text, 2 cores, PG15 -> PG17), `-Fd -j2
 * -Z0` dumped in 2.1 s against 3.7 s for `-Z1` and restored in 7.8 s against 9.2 s (zlib costs CPU
 * on both sides of a run that is CPU-bound), for an archive 3.3x larger (439 MB against 132 MB).
 * "Room": twice the source's data size plus 1 GiB free, so the restore's own files (on the same
 * disk when the target is local) still fit. The streamed plan keeps compression: its bytes cross
 * two pipes and this process, where -Z0 measured slower (7.3 s against 6.5 s on pgbench scale 50).
 */
export function uncompressedArchive(plan: MigrationPlan, freeBytes: number | undefined): MigrationPlan {
  const data = plan.shape?.dataBytes;
  if (plan.kind !== 'directory' || data === undefined) return plan;
  if (freeBytes === undefined || freeBytes < 2 * data + 2 ** 30)
    return {
      ...plan,
      reason: `${plan.reason} Archive gzip level 1: ${freeBytes === undefined ? 'the free space where it goes could not be read' : `${formatBytes(freeBytes)} free there, less than an uncompressed one wants (twice the data, ${formatBytes(data)}, plus 1 GiB)`}.`,
    };
  return {
    ...plan,
    compress: 0,
    reason: `${plan.reason} Archive uncompressed (about ${formatBytes(data)}, ${formatBytes(freeBytes)} free there): cheaper than compressing it on both sides; compression level 1 (--compress 1, the hydraMigrate.archiveCompression setting) writes one about a third of the size.`,
  };
}

/**
 * The plan with its archive's compression: a level given (--compress, the archiveCompression
 * setting) is kept as asked; else uncompressedArchive() by the free space where the archive goes.
 */
export function planCompression(plan: MigrationPlan, compress: number | undefined, archiveFolder: string | undefined): MigrationPlan {
  if (compress !== undefined)
    return { ...plan, reason: `${plan.reason} Archive ${compress === 0 ? 'uncompressed' : `gzip level ${compress}`}, as asked.` };
  if (archiveFolder === undefined) return plan;
  return uncompressedArchive(plan, freeSpace(archiveFolder));
}

/** Bytes free to this user on the disk of `dir` (or of its nearest existing parent: it may not exist yet). */
export function freeSpace(dir: string): number | undefined {
  for (let d = dir; ; d = dirname(d)) {
    try {
      const s = statfsSync(d);
      return s.bavail * s.bsize;
    } catch {
      if (dirname(d) === d) return undefined;
    }
  }
}
