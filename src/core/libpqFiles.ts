/**
 * The files libpq, psql and every PostgreSQL tool already honour, read the way libpq reads them:
 * - the connection service file (`service=NAME`): PGSERVICEFILE or ~/.pg_service.conf, then the
 *   system file (PGSYSCONFDIR/pg_service.conf, Debian: /etc/postgresql-common/pg_service.conf);
 *   the first file that defines the service wins, and parameters given with it override its own;
 * - the password file: PGPASSFILE or ~/.pgpass, `host:port:database:user:password` lines, `*`
 *   for any, `\:` and `\\` escaped, the first matching line wins; ignored when group or others may
 *   read it, as libpq does (and said, when it holds the line for the connection at hand).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export type Env = Record<string, string | undefined>;

/** The user's service file, then the system's, in the order libpq reads them. */
export function serviceFiles(env: Env = process.env): string[] {
  const user = env.PGSERVICEFILE || join(env.HOME || homedir(), '.pg_service.conf');
  const system = join(env.PGSYSCONFDIR || '/etc/postgresql-common', 'pg_service.conf');
  return [user, system];
}

/** `[name]` sections of `key=value` lines (`#` comments). */
export function parseServiceFile(text: string): Map<string, Record<string, string>> {
  const services = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      const name = section[1]!.trim();
      // A service defined twice in one file: libpq reads the first.
      current = services.has(name) ? undefined : {};
      if (current) services.set(name, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || !current) continue;
    current[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return services;
}

export class LibpqFileError extends Error {}

/** The parameters of service `name` and the file that defines it; a clear error when no file does. */
export function resolveService(name: string, env: Env = process.env): { params: Record<string, string>; file: string } {
  const files = serviceFiles(env);
  for (const file of files) {
    if (!existsSync(file)) continue;
    const params = parseServiceFile(readFileSync(file, 'utf8')).get(name);
    if (params) {
      if ('service' in params)
        throw new LibpqFileError(`The service "${name}" in ${file} names another service: nested services are not allowed (as in libpq).`);
      return { params, file };
    }
  }
  throw new LibpqFileError(
    `The connection service "${name}" is not defined in ${files.join(' or ')}. Add a [${name}] section there (host=, port=, dbname=, user=), set PGSERVICEFILE to the file that has it, or give the connection as a URI.`,
  );
}

/** The password file libpq would read. */
export function passwordFile(env: Env = process.env): string {
  return env.PGPASSFILE || join(env.HOME || homedir(), '.pgpass');
}

export interface PgpassEntry {
  host: string;
  port: string;
  database: string;
  user: string;
  password: string;
}

/** The lines of a password file (comments and malformed lines skipped, as libpq does). */
export function parsePgpass(text: string): PgpassEntry[] {
  const out: PgpassEntry[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields: string[] = [];
    const wild: boolean[] = [];
    let field = '';
    let escaped = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i]!;
      if (ch === '\\' && i + 1 < line.length) {
        field += line[++i];
        escaped = true;
      } else if (ch === ':') {
        // libpq: the password ends at its first unescaped colon too.
        if (fields.length === 4) break;
        wild.push(field === '*' && !escaped);
        fields.push(field);
        field = '';
        escaped = false;
      } else field += ch;
    }
    fields.push(field);
    if (fields.length !== 5) continue;
    const [host, port, database, user, password] = fields as [string, string, string, string, string];
    // A field `*` matches anything; `\*` is a literal star (libpq looks at the field before unescaping).
    const any = (i: number, v: string): string => (wild[i] ? '*' : v === '*' ? '\u0000*' : v);
    out.push({ host: any(0, host), port: any(1, port), database: any(2, database), user: any(3, user), password });
  }
  return out;
}

/** libpq's match: each field equal or `*`; `localhost` also matches a Unix-socket connection. */
export function matchPgpass(
  entries: PgpassEntry[],
  want: { host: string; port: number; database: string; user: string },
): PgpassEntry | undefined {
  // libpq matches a Unix-socket connection in the default socket directory to `localhost`.
  const socket = ['/var/run/postgresql', '/run/postgresql', '/tmp'].includes(want.host.replace(/\/+$/, ''));
  const eq = (field: string, value: string): boolean => field === '*' || field === value || (field === '\u0000*' && value === '*');
  return entries.find(
    (e) =>
      (eq(e.host, want.host) || (socket && e.host === 'localhost')) &&
      eq(e.port, String(want.port)) &&
      eq(e.database, want.database) &&
      eq(e.user, want.user),
  );
}

export type PgpassLookup = { password: string; file: string } | { error: string; file: string } | undefined;

/**
 * The password for this connection from the password file: undefined when there is no file (or
 * not a plain file: /dev/null turns it off) or no line matches. A file that group or others may
 * read is ignored, as libpq ignores it; when it holds a line for this very connection, that is
 * said (an error with the fix, never the password) rather than failing later for want of one.
 */
export function pgpassPassword(want: { host: string; port: number; database: string; user: string }, env: Env = process.env): PgpassLookup {
  const file = passwordFile(env);
  let mode: number;
  let text: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) return undefined;
    mode = st.mode & 0o777;
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const entry = matchPgpass(parsePgpass(text), want);
  if (!entry) return undefined;
  if (mode & 0o077)
    return {
      file,
      error: `${file} holds the password for ${want.user}@${want.host}:${want.port}, but others may read the file (mode ${mode.toString(8).padStart(4, '0')}); libpq ignores such a password file, and so does hydra-migrate. Run: chmod 0600 ${file}`,
    };
  return { password: entry.password, file };
}
