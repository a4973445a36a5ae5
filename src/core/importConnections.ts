/**
 * Connections operators already have elsewhere, turned into profiles (never a password: those stay
 * where they are, in .pgpass or asked for on first use, and are never read from another
 * extension's settings or secret store): the sections of a pg_service.conf, the lines of a .pgpass,
 * the saved connections of Microsoft's PostgreSQL extension (`pgsql.connections`) and of SQLTools
 * (`sqltools.connections`, PostgreSQL driver). And back: profiles as pg_service.conf sections.
 */
import {
  ConnectionStringError,
  parseConnectionString,
  parsePort,
  SSL_MODES,
  defaultSslMode,
  type ConnectionTarget,
  type SslMode,
} from './connection.js';
import { parsePgpass, parseServiceFile } from './libpqFiles.js';

export type ImportSource = 'serviceFile' | 'pgpass' | 'pgsql' | 'sqltools';

export interface ImportCandidate {
  name: string;
  target: ConnectionTarget;
  /** Why an entry could not be taken (shown, not imported). */
  problem?: string;
}

const quote = (v: string): string => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** Each service of a pg_service.conf (its parameters resolved as a connection string would be). */
export function fromServiceFile(text: string): ImportCandidate[] {
  return [...parseServiceFile(text)].map(([name, params]) => {
    try {
      const { password: _password, ...rest } = params;
      const parsed = parseConnectionString(
        Object.entries(rest)
          .map(([k, v]) => `${k}=${quote(v)}`)
          .join(' ') || `service=${name}`,
      );
      return { name, target: { ...parsed.target, service: name } };
    } catch (err) {
      return { name, target: emptyTarget(), problem: err instanceof ConnectionStringError ? err.message : String(err) };
    }
  });
}

/** Each line of a .pgpass that names one server and one user (lines with `*` for those are rules, not connections). */
export function fromPgpass(text: string): ImportCandidate[] {
  const out: ImportCandidate[] = [];
  for (const e of parsePgpass(text)) {
    if (e.host === '*' || e.user === '*' || e.host.startsWith('\u0000') || e.user.startsWith('\u0000')) continue;
    const port = e.port === '*' ? 5432 : Number(e.port);
    const database = e.database === '*' || e.database.startsWith('\u0000') ? 'postgres' : e.database;
    if (!Number.isInteger(port) || port < 1 || port > 65535) continue;
    out.push({
      name: `${e.user}@${e.host}:${port}`,
      target: { host: e.host, port, database, user: e.user, sslmode: defaultSslMode(e.host) },
    });
  }
  return out;
}

/** Microsoft's PostgreSQL extension: `pgsql.connections` (server or host, port, database or dbname, user, sslmode, profileName). */
export function fromPgsqlSettings(value: unknown): ImportCandidate[] {
  return records(value).map((r) =>
    candidate(str(r.profileName) ?? str(r.name), {
      host: str(r.server) ?? str(r.host),
      port: r.port,
      database: str(r.database) ?? str(r.dbname),
      user: str(r.user) ?? str(r.username),
      sslmode: str(r.sslmode),
    }),
  );
}

/** SQLTools: `sqltools.connections` of the PostgreSQL driver (server, port, database, username, pgOptions.ssl). */
export function fromSqltoolsSettings(value: unknown): ImportCandidate[] {
  return records(value)
    .filter((r) => /^(pg|postgres|postgresql)$/i.test(str(r.driver) ?? ''))
    .map((r) => {
      const ssl = (r.pgOptions as { ssl?: unknown } | undefined)?.ssl;
      return candidate(str(r.name), {
        host: str(r.server),
        port: r.port,
        database: str(r.database),
        user: str(r.username),
        sslmode: ssl === true || (ssl && typeof ssl === 'object') ? 'require' : ssl === false ? 'disable' : undefined,
      });
    });
}

/** Profiles as pg_service.conf sections (no passwords), for psql and every libpq tool. */
export function toServiceFile(profiles: Array<ConnectionTarget & { name: string }>): string {
  const used = new Set<string>();
  const sections = profiles.map((p) => {
    let name = p.service ?? p.name.replace(/[^\w.-]+/g, '_').replace(/^_+|_+$/g, '');
    if (!name) name = 'connection';
    for (let i = 2; used.has(name); i++) name = `${name.replace(/_\d+$/, '')}_${i}`;
    used.add(name);
    return [
      `[${name}]`,
      `host=${p.host}`,
      `port=${p.port}`,
      `dbname=${p.database}`,
      `user=${p.user}`,
      `sslmode=${p.sslmode}`,
      ...(p.sslrootcert ? [`sslrootcert=${p.sslrootcert}`] : []),
      ...(p.channelBinding ? [`channel_binding=${p.channelBinding}`] : []),
    ].join('\n');
  });
  return `# Exported by Hydra Migrate (no passwords: keep them in ~/.pgpass, mode 0600)\n\n${sections.join('\n\n')}\n`;
}

function records(value: unknown): Array<Record<string, unknown>> {
  return Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v)) : [];
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

function emptyTarget(): ConnectionTarget {
  return { host: '', port: 5432, database: '', user: '', sslmode: 'prefer' };
}

function candidate(
  name: string | undefined,
  f: { host: string | undefined; port: unknown; database: string | undefined; user: string | undefined; sslmode: string | undefined },
): ImportCandidate {
  const label = name ?? `${f.user ?? '?'}@${f.host ?? '?'}`;
  if (!f.host || !f.user) return { name: label, target: emptyTarget(), problem: 'It names no host or no user.' };
  let port = 5432;
  try {
    if (typeof f.port === 'number' || (typeof f.port === 'string' && f.port !== '')) port = parsePort(String(f.port));
    else if (f.port !== undefined && f.port !== null) throw new Error('Its port is neither a number nor text.');
  } catch (err) {
    return { name: label, target: emptyTarget(), problem: err instanceof Error ? err.message : String(err) };
  }
  const sslmode: SslMode = (SSL_MODES as readonly string[]).includes(f.sslmode ?? '') ? (f.sslmode as SslMode) : defaultSslMode(f.host);
  return { name: label, target: { host: f.host, port, database: f.database ?? 'postgres', user: f.user, sslmode } };
}
