/**
 * Drop a target database, or drop it and create it again empty with the same encoding, locale and
 * owner (the answer to "restore into a database that is not empty"). Both connect to the maintenance
 * database `postgres`, never to the database itself, and end the other sessions in it (WITH (FORCE),
 * PostgreSQL 13+) so a forgotten psql does not hold the drop up.
 */
import { quoteIdent } from './catalog.js';
import { createDatabaseSql } from './createDatabase.js';
import { readDatabaseLocale, type DatabaseLocale } from './inspect.js';
import { withSide, type Side } from './side.js';
import { explainSideError, failureOf, type StepFailure } from './step.js';

export type DropResult = { ok: true; sql: string[] } | { ok: false; sql: string[]; failure: StepFailure };

function explainDrop(err: unknown, name: string, user: string): StepFailure {
  const e = err as { code?: string; message?: string };
  const message = e.message ?? String(err);
  if (e.code === '42501')
    return {
      problem: 'permission_denied',
      message: `The role "${user}" may not drop "${name}": only its owner or a superuser may.`,
      hint: `Connect as the owner of "${name}", or ask the server's administrator to drop it.`,
    };
  if (e.code === '55006')
    return {
      problem: 'database_in_use',
      message: `"${name}" is in use by other sessions: ${message}`,
      hint: 'Close the other sessions (psql, applications) and try again.',
    };
  return { problem: 'drop_failed', message: `Could not drop "${name}": ${message}`, hint: 'See the message from the server.' };
}

/** Refused before any statement ran. */
const refused = (message: string, hint: string): DropResult => ({
  ok: false,
  sql: [],
  failure: { problem: 'permission_denied', message, hint },
});

async function drop(server: Side, name: string, recreate: boolean, force = true): Promise<DropResult> {
  const sql: string[] = [];
  const maintenance: Side = { ...server, database: 'postgres' };
  if (name === 'postgres' || name === 'template0' || name === 'template1')
    return {
      ok: false,
      sql,
      failure: {
        problem: 'protected_database',
        message: `"${name}" is a database the server needs; it is never dropped.`,
        hint: 'Choose another database.',
      },
    };
  let locale: DatabaseLocale | undefined;
  let owner: string | undefined;
  try {
    if (recreate) {
      locale = await readDatabaseLocale({ ...server, database: name });
      const may = await withSide(maintenance, async (c) => {
        const r = await c.query<{ owner: string; me: string; create: boolean; own: boolean }>(
          `SELECT pg_get_userbyid(d.datdba) AS owner, current_user AS me,
                  (SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user) AS create,
                  pg_has_role(current_user, d.datdba, 'MEMBER') AS own
             FROM pg_database d WHERE d.datname = $1`,
          [name],
        );
        return r.rows[0];
      });
      // Checked before anything is dropped: an owner without CREATEDB could drop it but never create it again.
      if (may && !may.create)
        return refused(
          `The role "${server.profile.user}" may not create databases (no CREATEDB): "${name}" was left as it is, since it could not be created again.`,
          `Drop and recreate it as a role with CREATEDB, or restore into another empty database.`,
        );
      if (may && !may.own)
        return refused(
          `The role "${server.profile.user}" is not a member of "${may.owner}", the owner of "${name}": it was left as it is.`,
          `Drop and recreate it as its owner or a superuser.`,
        );
      owner = may && may.owner !== may.me ? may.owner : undefined;
    }
  } catch (err) {
    return { ok: false, sql, failure: failureOf(explainSideError(err, { ...server, database: name })) };
  }
  try {
    return await withSide(maintenance, async (c) => {
      const version = Number((await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v);
      const statement = `DROP DATABASE ${quoteIdent(name)}${force && version >= 130000 ? ' WITH (FORCE)' : ''}`;
      sql.push(statement);
      try {
        await c.query(statement);
      } catch (err) {
        return { ok: false as const, sql, failure: explainDrop(err, name, server.profile.user) };
      }
      if (recreate) {
        const create = createDatabaseSql(name, locale, owner);
        sql.push(create);
        try {
          await c.query(create);
        } catch (err) {
          // Dropped but not created again: say so plainly (the data is gone either way).
          const message = err instanceof Error ? err.message : String(err);
          return {
            ok: false as const,
            sql,
            failure: {
              problem: 'create_failed',
              message: `"${name}" was dropped but could not be created again: ${message}`,
              hint: `Create it with: ${create}`,
            },
          };
        }
      }
      return { ok: true as const, sql };
    });
  } catch (err) {
    return { ok: false, sql, failure: failureOf(explainSideError(err, maintenance)) };
  }
}

/** Drops `name` on the server (all its data); `force: false` leaves it when others are connected to it. */
export function dropDatabase(server: Side, name: string, options: { force?: boolean } = {}): Promise<DropResult> {
  return drop(server, name, false, options.force ?? true);
}

/** Drops `name` and creates it again, empty, with the same encoding, locale and owner, from template0. */
export function dropAndRecreateDatabase(server: Side, name: string): Promise<DropResult> {
  return drop(server, name, true);
}
