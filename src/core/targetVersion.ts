/**
 * What changes when the target is a newer major than the source, for a dump restored into it:
 * PostgreSQL 18 runs AFTER triggers as the role that queued the event (not the one current when
 * they fire), and deprecates MD5 passwords (a warning on every MD5 login and password set).
 */
import type pg from 'pg';
import type { PreflightCheck } from './preflight.js';
import type { ServerInfo } from './pg.js';

export async function newerTargetCheck(
  src: pg.Client,
  tgt: pg.Client,
  source: ServerInfo,
  target: ServerInfo,
): Promise<PreflightCheck | undefined> {
  const from = Math.floor(source.serverVersionNum / 10000);
  const to = Math.floor(target.serverVersionNum / 10000);
  if (to < 18 || from >= 18) return undefined;
  const notes: string[] = [];
  const items: string[] = [];
  // tgtype bit 2: BEFORE, bit 64: INSTEAD OF; neither: AFTER. Internal (constraint) triggers left out.
  const { rows: after } = await src.query<{ name: string }>(
    `SELECT format('%I.%I: %I', n.nspname, c.relname, t.tgname) AS name FROM pg_trigger t
       JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT t.tgisinternal AND (t.tgtype & 2) = 0 AND (t.tgtype & 64) = 0
        AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  if (after.length) {
    notes.push(
      `${after.length} AFTER trigger(s) of the source will run as the role that queued the event, not the role current when they fire (a change of PostgreSQL 18): review those that depend on current_user or SET ROLE.`,
    );
    items.push(...after.map((r) => r.name));
  }
  const { rows: enc } = await tgt.query<{ v: string }>(`SELECT current_setting('password_encryption') AS v`);
  if (enc[0]?.v === 'md5')
    notes.push(
      'The target stores new passwords as MD5, which PostgreSQL 18 deprecates: set password_encryption = scram-sha-256 before creating login roles.',
    );
  return {
    id: 'target-version',
    title: `PostgreSQL ${to} target`,
    status: notes.length ? 'warning' : 'ok',
    detail: notes.length
      ? notes.join(' ')
      : `Restoring a PostgreSQL ${from} dump into ${to} is a supported upgrade; no AFTER triggers whose role changes, passwords stored as SCRAM.`,
    ...(notes.length ? { fix: 'Nothing blocks the migration; check these after it.' } : {}),
    ...(items.length ? { items: items.slice(0, 50) } : {}),
  };
}
