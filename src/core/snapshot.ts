/**
 * A live source validated as of the dump: one REPEATABLE READ transaction on the source exports
 * its snapshot (pg_export_snapshot), pg_dump reads through it (--snapshot), and the validation
 * counts the source through it too, so the comparison is exact while the application keeps
 * writing. While it is held, vacuum on the source cannot remove rows changed after it: it is
 * released when the validation ends, fails or is cancelled (and if this process dies, the
 * server ends the transaction with the connection).
 */
import type pg from 'pg';
import { connectSide, type Side } from './side.js';
import { tkey } from './validateInventory.js';

export interface SourceSnapshot {
  /** The id pg_dump --snapshot and SET TRANSACTION SNAPSHOT take. */
  id: string;
  /** When it was taken (the source server's clock, ISO 8601). */
  takenAt: string;
  /**
   * The source's sequences read right after the snapshot (`tkey(schema, name)` -> last_value, null
   * when never used): sequences are outside any snapshot, so this is a lower bound of what the
   * dump read. Absent when they could not be read.
   */
  sequences?: Map<string, bigint | null>;
  /** Whether it is still held (false once released, or when its session ended). */
  readonly held: boolean;
  /** Ends the transaction that holds it; safe to call twice. */
  release(): Promise<void>;
}

/** Exports a snapshot of the source and holds it (a session of its own, idle in its transaction). */
export async function exportSnapshot(side: Side): Promise<SourceSnapshot> {
  const client: pg.Client = await connectSide(side, { applicationName: 'hydra-migrate snapshot', keepAlive: true });
  let held = true;
  client.on('error', () => (held = false));
  client.on('end', () => (held = false));
  try {
    // A server or role setting must not end the holding transaction while pg_dump and the validation need it.
    for (const sql of HOLD_SETTINGS) await client.query(sql);
    await client.query('SET statement_timeout = 0');
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await client.query<{ id: string; at: Date }>('SELECT pg_export_snapshot() AS id, clock_timestamp() AS at');
    const row = rows[0]!;
    const sequences = await sequencesNow(client);
    return {
      id: row.id,
      takenAt: row.at.toISOString(),
      ...(sequences ? { sequences } : {}),
      get held() {
        return held;
      },
      release: async () => {
        if (!held) return;
        held = false;
        await client.query('ROLLBACK').catch(() => undefined);
        await client.end().catch(() => undefined);
      },
    };
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}

/**
 * Sessions that stay in one transaction for hours (the holder; the validation's sessions on the
 * snapshot, idle while others count): no idle-in-transaction or (PG17) transaction timeout of the
 * server or role may end them.
 */
export const HOLD_SETTINGS = [
  'SET idle_in_transaction_session_timeout = 0',
  `SELECT set_config('transaction_timeout', '0', false) WHERE current_setting('server_version_num')::int >= 170000`,
];

/** The sequences' values now, under a savepoint (no privilege on pg_sequences must not end the transaction); undefined when unreadable. */
async function sequencesNow(client: pg.Client): Promise<Map<string, bigint | null> | undefined> {
  await client.query('SAVEPOINT hm_sequences');
  try {
    const { rows } = await client.query<{ s: string; n: string; v: string | null }>(
      `SELECT schemaname AS s, sequencename AS n, last_value::text AS v FROM pg_sequences WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`,
    );
    await client.query('RELEASE SAVEPOINT hm_sequences');
    return new Map(rows.map((r) => [tkey(r.s, r.n), r.v === null ? null : BigInt(r.v)]));
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT hm_sequences');
    return undefined;
  }
}

/** The SQL that puts a session's next transaction on the snapshot (REPEATABLE READ, read only), held as long as needed. */
export function importSnapshotSql(id: string): string[] {
  if (!/^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$/i.test(id)) throw new Error(`Not a snapshot id: ${id}`);
  return [...HOLD_SETTINGS, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', `SET TRANSACTION SNAPSHOT '${id}'`];
}
