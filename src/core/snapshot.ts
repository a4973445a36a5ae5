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

export interface SourceSnapshot {
  /** The id pg_dump --snapshot and SET TRANSACTION SNAPSHOT take. */
  id: string;
  /** When it was taken (the source server's clock, ISO 8601). */
  takenAt: string;
  /** Whether it is still held (false once released, or when its session ended). */
  readonly held: boolean;
  /** Ends the transaction that holds it; safe to call twice. */
  release(): Promise<void>;
}

/** Exports a snapshot of the source and holds it (a session of its own, idle in its transaction). */
export async function exportSnapshot(side: Side): Promise<SourceSnapshot> {
  const client: pg.Client = await connectSide(side, { applicationName: 'hydra-migrate snapshot' });
  let held = true;
  client.on('error', () => (held = false));
  client.on('end', () => (held = false));
  try {
    // A server or role setting must not end the holding transaction while pg_dump and the validation need it.
    await client.query('SET idle_in_transaction_session_timeout = 0');
    await client.query('SET statement_timeout = 0');
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const { rows } = await client.query<{ id: string; at: Date }>('SELECT pg_export_snapshot() AS id, clock_timestamp() AS at');
    const row = rows[0]!;
    return {
      id: row.id,
      takenAt: row.at.toISOString(),
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

/** The SQL that puts a session's next transaction on the snapshot (REPEATABLE READ, read only). */
export function importSnapshotSql(id: string): string[] {
  if (!/^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$/i.test(id)) throw new Error(`Not a snapshot id: ${id}`);
  return ['BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', `SET TRANSACTION SNAPSHOT '${id}'`];
}
