/**
 * Create the target database like the source (encoding, locale, from template0), and prepare it
 * with what a dump needs but does not carry: roles (NOLOGIN) and extensions.
 */
import { quoteIdent } from './catalog.js';
import { availableExtensions, installedExtensions, ownerAndGranteeRoles, type DatabaseLocale } from './inspect.js';
import { connectSide, withSide, type Side } from './side.js';
import { explainSideError, failureOf, type StepFailure } from './step.js';

export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

export function createDatabaseSql(name: string, locale: DatabaseLocale | undefined, owner?: string): string {
  const parts = [`CREATE DATABASE ${quoteIdent(name)} WITH TEMPLATE template0`];
  if (locale) {
    parts.push(`ENCODING ${literal(locale.encoding)}`);
    if (locale.provider === 'icu' && locale.icuLocale) parts.push(`LOCALE_PROVIDER icu ICU_LOCALE ${literal(locale.icuLocale)}`);
    parts.push(`LC_COLLATE ${literal(locale.collate)}`, `LC_CTYPE ${literal(locale.ctype)}`);
  }
  if (owner) parts.push(`OWNER ${quoteIdent(owner)}`);
  return parts.join(' ');
}

interface CreateDatabaseRun {
  sql: string;
  alreadyExisted?: boolean;
}

export type CreateDatabaseResult =
  (CreateDatabaseRun & { ok: true; failure?: undefined }) | (CreateDatabaseRun & { ok: false; failure: StepFailure });

/** The failure of CREATE DATABASE explained. */
export function explainCreateFailure(err: unknown, user: string): StepFailure {
  const message = err instanceof Error ? err.message : String(err);
  if ((err as { code?: string }).code === '42501') {
    return {
      problem: 'permission_denied',
      message: `User "${user}" may not create databases on the target.`,
      hint: 'Use a role with CREATEDB (managed services: the admin user), or have the database created for you.',
    };
  }
  if (/invalid locale name|collation.*not|locale.*not available|is incompatible with the encoding/i.test(message)) {
    return {
      problem: 'locale_unavailable',
      message: `The target server cannot create a database with this encoding/locale: ${message}`,
      hint: 'Install the locale on the target server, or choose a locale it has (e.g. C.UTF-8) knowing that sort order may change.',
    };
  }
  return { problem: 'create_failed', message, hint: 'See the message from the server.' };
}

/** Creates `name` on the target server (connecting to the maintenance database `postgres` unless the side names one). */
export async function createDatabase(
  server: Side,
  name: string,
  locale: DatabaseLocale | undefined,
  options: { owner?: string; ifNotExists?: boolean } = {},
): Promise<CreateDatabaseResult> {
  const sql = createDatabaseSql(name, locale, options.owner);
  const maintenance: Side = { ...server, database: server.database ?? 'postgres' };
  let client;
  try {
    client = await connectSide(maintenance);
  } catch (err) {
    return { ok: false, sql, failure: failureOf(explainSideError(err, maintenance)) };
  }
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount) {
      if (options.ifNotExists) return { ok: true, sql, alreadyExisted: true };
      return {
        ok: false,
        sql,
        alreadyExisted: true,
        failure: {
          problem: 'database_exists',
          message: `The database "${name}" exists already on the target; it was left untouched.`,
          hint: 'Choose another name, or restore into it only if it is empty.',
        },
      };
    }
    await client.query(sql);
    return { ok: true, sql };
  } catch (err) {
    return { ok: false, sql, failure: explainCreateFailure(err, server.profile.user) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface PreparedTarget {
  created: string[];
  skipped: string[];
  failures: string[];
}

/**
 * Prepares a new target database with what the dump needs but does not carry: the roles that own
 * objects or hold grants on the source (created NOLOGIN, without passwords) and the source's
 * extensions (CREATE EXTENSION IF NOT EXISTS in the new database, when the target offers them).
 */
export async function prepareTarget(source: Side, target: Side, what: { roles?: boolean; extensions?: boolean }): Promise<PreparedTarget> {
  const out: PreparedTarget = { created: [], skipped: [], failures: [] };
  const { roles, extensions } = await withSide(source, async (src) => ({
    roles: what.roles ? await ownerAndGranteeRoles(src) : [],
    extensions: what.extensions ? await installedExtensions(src) : [],
  }));
  const attempt = async (label: string, run: () => Promise<unknown>): Promise<void> => {
    try {
      await run();
      out.created.push(label);
    } catch (err) {
      out.failures.push(`${label.replace(/ \(NOLOGIN\)$/, '')}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  if (roles.length) {
    await withSide(target, async (admin) => {
      const existing = new Set((await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles')).rows.map((r) => r.rolname));
      for (const role of roles.filter((r) => !existing.has(r))) {
        await attempt(`role ${role} (NOLOGIN)`, () => admin.query(`CREATE ROLE ${quoteIdent(role)} NOLOGIN`));
      }
    });
  }
  if (extensions.length) {
    await withSide(target, async (db) => {
      const available = await availableExtensions(db);
      for (const ext of extensions) {
        if (!available.has(ext)) out.skipped.push(`extension ${ext} (not offered by the target server)`);
        else await attempt(`extension ${ext}`, () => db.query(`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(ext)}`));
      }
    });
  }
  return out;
}
