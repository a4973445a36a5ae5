/**
 * The connections and queries of a validation: a pool per side with pinned session settings and a
 * lock timeout, row counts and checksums in batches, cancellation on the server, and the
 * bisection that narrows a checksum difference down to key ranges.
 */
import type pg from 'pg';
import { qualifiedName, quoteIdent } from './catalog.js';
import { withinBudget, type ConnectionBudget } from './inspect.js';
import { connectSide, withSide, type Side } from './side.js';
import { tkey, ValidationError, type TableMeta } from './validateInventory.js';

export const DEFAULT_LOCK_TIMEOUT_SECONDS = 30;

/**
 * Session settings of every validation connection. Checksums hash each row's text, which depends
 * on these settings: a target that runs another TimeZone (managed services often do) would make
 * every timestamptz row differ. Pinned to the same values on both sides.
 */
export function validationSessionSql(lockTimeoutSeconds: number): string {
  return [
    "SET TimeZone = 'UTC'",
    "SET DateStyle = 'ISO, MDY'",
    "SET IntervalStyle = 'postgres'",
    'SET extra_float_digits = 3',
    "SET bytea_output = 'hex'",
    `SET lock_timeout = ${Math.max(1, Math.round(lockTimeoutSeconds * 1000))}`,
    // Counts and row hashes gain nothing from JIT: compiling costs each process (and parallel worker)
    // tens of ms per query on servers built with LLVM (PG15: the CLI's counts of 5 M rows 5% faster
    // without). Through pg_settings: a server without JIT (before PostgreSQL 11) has no such setting.
    "SELECT set_config(name, 'off', false) FROM pg_settings WHERE name = 'jit'",
  ].join('; ');
}

/** Runs tasks over `n` workers; each worker owns one client. */
export async function inPool<T>(
  clients: pg.Client[],
  tasks: T[],
  run: (c: pg.Client, task: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  await Promise.all(
    clients.map(async (c) => {
      while (next < tasks.length) {
        if (signal?.aborted) throw new ValidationError('Validation was cancelled.');
        const task = tasks[next++]!;
        await run(c, task);
      }
    }),
  );
}

export interface CountResult {
  rows: bigint | null;
  checksum?: string;
  error?: string;
}

/**
 * One row's hash, for an order-independent sum: of its binary values where every column's type
 * allows it (twice as fast, see BINARY_HASH_TYPES), else of its text form under the pinned session
 * settings. Both sides of a table must use the same one (validate() sets binaryHash on both).
 */
export function rowHash(t: Pick<TableMeta, 'binaryHash'>, alias = 'x'): string {
  return t.binaryHash ? `hash_record_extended(${alias}, 0)` : `hashtextextended(${alias}::text, 0)`;
}

/** Counts (and checksums) a batch of tables in one round trip; falls back to one by one on error. */
/**
 * The validation was cancelled (its signal fired; the queries were then cancelled with
 * pg_cancel_backend): stop, never count again. A statement_timeout of the server or role raises
 * the same SQLSTATE 57014 but is no cancel: that table is reported as not read.
 */
function cancelledBy(_err: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/**
 * A query that may fail without ending the session's transaction: inside one (the validation on
 * the dump's snapshot) it runs under a savepoint, so the next table is still read on the snapshot.
 */
export async function guardedQuery<R extends pg.QueryResultRow>(
  c: pg.Client,
  sql: string,
  inTransaction: boolean,
): Promise<pg.QueryResult<R>> {
  if (!inTransaction) return c.query<R>(sql);
  await c.query('SAVEPOINT hm_count');
  try {
    const r = await c.query<R>(sql);
    await c.query('RELEASE SAVEPOINT hm_count');
    return r;
  } catch (err) {
    await c.query('ROLLBACK TO SAVEPOINT hm_count').catch(() => undefined);
    throw err;
  }
}

export async function countBatch(
  c: pg.Client,
  batch: TableMeta[],
  checksums: boolean,
  signal?: AbortSignal,
  inTransaction = false,
): Promise<Map<string, CountResult>> {
  const out = new Map<string, CountResult>();
  const one = (t: TableMeta, i: number): string =>
    checksums
      ? `SELECT ${i} AS i, count(*) AS n, coalesce(sum(${rowHash(t)}), 0)::text AS h FROM ${qualifiedName(t.schema, t.name)} x`
      : `SELECT ${i} AS i, count(*) AS n, NULL::text AS h FROM ${qualifiedName(t.schema, t.name)}`;
  try {
    const { rows } = await guardedQuery<{ i: number; n: string; h: string | null }>(c, batch.map(one).join(' UNION ALL '), inTransaction);
    for (const r of rows) {
      const t = batch[r.i]!;
      out.set(tkey(t.schema, t.name), { rows: BigInt(r.n), ...(r.h !== null ? { checksum: r.h } : {}) });
    }
  } catch (batchError) {
    if (cancelledBy(batchError, signal)) throw new ValidationError('Validation was cancelled.');
    // One table of the batch failed (or waited for a lock): count each alone to tell which one.
    // A batch of one has said it already: its error stands, and it is not waited for again.
    if (batch.length === 1) {
      const t = batch[0]!;
      out.set(tkey(t.schema, t.name), { rows: null, error: batchError instanceof Error ? batchError.message : String(batchError) });
      return out;
    }
    for (const [i, t] of batch.entries()) {
      if (signal?.aborted) throw new ValidationError('Validation was cancelled.');
      try {
        const { rows } = await guardedQuery<{ n: string; h: string | null }>(c, one(t, i), inTransaction);
        out.set(tkey(t.schema, t.name), { rows: BigInt(rows[0]!.n), ...(rows[0]!.h !== null ? { checksum: rows[0]!.h } : {}) });
      } catch (err) {
        if (cancelledBy(err, signal)) throw new ValidationError('Validation was cancelled.');
        out.set(tkey(t.schema, t.name), { rows: null, error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  return out;
}

export function batches<T>(list: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/**
 * How many sessions of a side count rows beside its first one (which reads the objects meanwhile):
 * no more than there are batches to count (a database of a few tables needs one, and a live source
 * is spared the others), `wanted - 1` at most, at least one.
 */
export function countSessions(wanted: number, batchCount: number): number {
  return Math.max(1, Math.min(wanted - 1, batchCount));
}

/**
 * `k` more sessions within half of the side's free connections (`budget`, read on the side's first
 * session before its transaction began; unknown: `k`). Sessions that cannot open (the server just
 * ran out of connections) are done without: the work then runs on fewer. Never rejects.
 */
export async function moreSessions(side: Side, budget: ConnectionBudget | undefined, k: number, sessionSql: string): Promise<pg.Client[]> {
  const n = k > 0 && budget ? withinBudget(k + 1, budget).n - 1 : k;
  if (n <= 0) return [];
  const opened = await Promise.allSettled(Array.from({ length: n }, () => openPool(side, 1, sessionSql)));
  return opened.flatMap((o) => (o.status === 'fulfilled' ? o.value : []));
}

export async function openPool(side: Side, n: number, sessionSql: string): Promise<pg.Client[]> {
  // In parallel: each connection costs a round trip and a SCRAM exchange.
  const open = async (): Promise<pg.Client> => {
    const client = await connectSide(side, { applicationName: 'hydra-migrate validate' });
    try {
      await client.query(sessionSql);
      return client;
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  };
  const opened = await Promise.allSettled(Array.from({ length: n }, open));
  const clients = opened.filter((o): o is PromiseFulfilledResult<pg.Client> => o.status === 'fulfilled').map((o) => o.value);
  const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
    throw failed.reason;
  }
  return clients;
}

/**
 * Cancels what the pool's connections are running on the server (a client that just goes away
 * leaves its query running until the server notices): pg_cancel_backend from a new connection.
 */
export async function cancelRunning(side: Side, clients: pg.Client[]): Promise<void> {
  const pids = clients
    .map((c) => (c as unknown as { processID: number | null }).processID)
    .filter((p): p is number => typeof p === 'number');
  if (!pids.length) return;
  await withSide(side, (c) => c.query('SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) AS pid', [pids]), {
    applicationName: 'hydra-migrate cancel',
  }).catch(() => undefined);
}

/** Narrows a checksum difference down to key ranges by bisecting (integer primary key). */
export async function differingRanges(
  src: pg.Client,
  tgt: pg.Client,
  t: TableMeta,
  signal?: AbortSignal,
  maxRanges = 20,
  leafSize = 1000n,
): Promise<Array<{ key: string; from: string; to: string }>> {
  const key = t.intKey!;
  const table = qualifiedName(t.schema, t.name);
  const k = quoteIdent(key);
  const bounds = async (c: pg.Client) =>
    (await c.query<{ lo: string | null; hi: string | null }>(`SELECT min(${k})::text AS lo, max(${k})::text AS hi FROM ${table}`)).rows[0]!;
  const [a, b] = await Promise.all([bounds(src), bounds(tgt)]);
  const vals = [a.lo, a.hi, b.lo, b.hi].filter((v): v is string => v !== null).map((v) => BigInt(v));
  if (vals.length === 0) return [];
  const lo = vals.reduce((x, y) => (y < x ? y : x));
  const hi = vals.reduce((x, y) => (y > x ? y : x));
  const sum = async (c: pg.Client, from: bigint, to: bigint): Promise<string> =>
    (
      await c.query<{ h: string }>(
        `SELECT count(*)::text || ':' || coalesce(sum(${rowHash(t)}), 0)::text AS h FROM ${table} x WHERE ${k} BETWEEN $1 AND $2`,
        [from.toString(), to.toString()],
      )
    ).rows[0]!.h;
  const out: Array<{ key: string; from: string; to: string }> = [];
  const queue: Array<[bigint, bigint]> = [[lo, hi]];
  while (queue.length && out.length < maxRanges) {
    if (signal?.aborted) throw new ValidationError('Validation was cancelled.');
    const [from, to] = queue.shift()!;
    const [x, y] = await Promise.all([sum(src, from, to), sum(tgt, from, to)]);
    if (x === y) continue;
    if (to - from < leafSize) {
      const last = out.at(-1);
      if (last && BigInt(last.to) + 1n === from) last.to = to.toString();
      else out.push({ key, from: from.toString(), to: to.toString() });
      continue;
    }
    const mid = from + (to - from) / 2n;
    queue.push([from, mid], [mid + 1n, to]);
    queue.sort((p, q) => (p[0] < q[0] ? -1 : 1));
  }
  return out;
}
