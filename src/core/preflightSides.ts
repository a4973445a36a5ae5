/**
 * The readiness checks' first step: both servers reached (at the same time) and what each says of
 * itself, as the "reachable" checks.
 */
import type pg from 'pg';
import { databaseContents, type DatabaseContents } from './inspect.js';
import { ConnectionError, serverInfo, type ServerInfo } from './pg.js';
import type { PreflightCheck } from './preflight.js';
import { connectSide, onDatabase, type Side } from './side.js';
import { explainSideError } from './step.js';

/** A connection with its server's facts; closed again if they cannot be read. */
export async function opened(connecting: Promise<pg.Client>): Promise<{ client: pg.Client; info: ServerInfo }> {
  const client = await connecting;
  try {
    return { client, info: await serverInfo(client) };
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}

/** The target's database if it exists (and what it holds), else its maintenance database: one connection either way. */
export async function openTarget(side: Side): Promise<{ client: pg.Client; info: ServerInfo; contents: DatabaseContents }> {
  let connecting: Promise<pg.Client>;
  let exists = true;
  try {
    connecting = Promise.resolve(await connectSide(side));
  } catch (err) {
    if (explainSideError(err, side).problem !== 'database_missing') throw err;
    exists = false;
    connecting = connectSide(onDatabase(side, 'postgres'));
  }
  const { client, info } = await opened(connecting);
  try {
    return { client, info, contents: exists ? await databaseContents(client) : { exists: false, objects: 0, schemas: 0 } };
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
}

const reachableTitle = (role: 'source' | 'target'): string => `${role === 'source' ? 'Source' : 'Target'} server reachable`;

export function reachableCheck(role: 'source' | 'target', info: ServerInfo): PreflightCheck {
  const who = `${info.currentUser}${info.superuser ? ' (superuser)' : ''}`;
  return {
    id: role,
    title: reachableTitle(role),
    status: 'ok',
    detail: `PostgreSQL ${info.serverVersion} as ${who}, SSL ${info.ssl ? 'on' : 'off'}.`,
  };
}

export function unreachableCheck(role: 'source' | 'target', err: unknown): PreflightCheck {
  const e = err instanceof ConnectionError ? err.explained : undefined;
  return { id: role, title: reachableTitle(role), status: 'blocker', detail: e?.message ?? String(err), fix: e?.hint ?? '' };
}
