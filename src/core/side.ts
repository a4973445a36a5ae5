/**
 * One side of a migration: its role, the connection profile, the password (from SecretStorage or
 * the CLI's environment, never argv) and the database to work on. Every connection a step,
 * readiness check or validation opens goes through connectSide(), so the user's connect timeout
 * holds everywhere.
 */
import type pg from 'pg';
import type { ConnectionTarget } from './connection.js';
import { pgpassPassword, type Env } from './libpqFiles.js';
import { connect } from './pg.js';

export type SideRole = 'source' | 'target';

export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 10;

export interface Side {
  role: SideRole;
  profile: ConnectionTarget;
  password: string | undefined;
  /**
   * The password came from this libpq password file (~/.pgpass, PGPASSFILE): the tools get
   * PGPASSFILE and match it themselves, as libpq does, never the password in their environment.
   */
  passfile?: string;
  /** The database to work on (default: the profile's). */
  database?: string;
  /** hydraMigrate.connectTimeoutSeconds / --connect-timeout (default 10). */
  connectTimeoutSeconds?: number;
}

export function sideDatabase(side: Side): string {
  return side.database ?? side.profile.database;
}

/** The same side on another database of its server. */
export function onDatabase(side: Side, database: string): Side {
  return { ...side, database };
}

export function connectTimeoutOf(side: Side): number {
  return side.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_SECONDS;
}

export interface ConnectSideOptions {
  /** Another database of the same server (default: the side's). */
  database?: string;
  applicationName?: string;
  statementTimeoutMs?: number;
  keepAlive?: boolean;
}

export function connectSide(side: Side, options: ConnectSideOptions = {}): Promise<pg.Client> {
  return connect(side.profile, {
    password: side.password,
    database: options.database ?? sideDatabase(side),
    connectTimeoutSeconds: connectTimeoutOf(side),
    ...(options.applicationName ? { applicationName: options.applicationName } : {}),
    ...(options.statementTimeoutMs !== undefined ? { statementTimeoutMs: options.statementTimeoutMs } : {}),
    ...(options.keepAlive ? { keepAlive: true } : {}),
  });
}

/**
 * `work` on a session of its own, ended after it whatever happened. `signal` ends it at once (a query
 * waiting on a lock rejects with "Connection terminated"): a reader no longer needed holds nothing open.
 */
export async function withSide<T>(
  side: Side,
  work: (client: pg.Client) => Promise<T>,
  options: ConnectSideOptions & { signal?: AbortSignal } = {},
): Promise<T> {
  const { signal, ...connectOptions } = options;
  const client = await connectSide(side, connectOptions);
  const close = (): void => void client.end().catch(() => undefined);
  if (signal?.aborted) {
    // Stopped while it connected: nothing runs.
    await client.end().catch(() => undefined);
    throw new Error('Connection terminated');
  }
  signal?.addEventListener('abort', close, { once: true });
  try {
    return await work(client);
  } finally {
    signal?.removeEventListener('abort', close);
    await client.end().catch(() => undefined);
  }
}

/**
 * The side with its password from the libpq password file when it has none of its own (from the
 * keychain, the caller's environment, the URI). A file that group or others may read is refused
 * with the reason and the fix, as libpq ignores it.
 */
export function withPgpass(side: Side, env: Env = process.env): Side {
  if (side.password !== undefined) return side;
  const found = pgpassPassword(
    { host: side.profile.host, port: side.profile.port, database: sideDatabase(side), user: side.profile.user },
    env,
  );
  if (!found) return side;
  if ('error' in found) throw new PgpassError(found.error);
  return { ...side, password: found.password, passfile: found.file };
}

export class PgpassError extends Error {}
