/**
 * Connection profiles: what is stored about a server (never its password), parsing of libpq
 * connection URIs and keyword/value strings, and the libpq environment for child processes.
 */
import { LIBPQ_ENV_KEYS } from './libpqEnv.js';
import { resolveService, type Env } from './libpqFiles.js';

export type ConnectionRole = 'source' | 'target';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** Everything about a connection except its password. Safe to persist. */
export interface ConnectionProfile {
  id: string;
  name: string;
  role: ConnectionRole;
  host: string;
  port: number;
  database: string;
  user: string;
  sslmode: SslMode;
  /** Path of a CA certificate file (libpq sslrootcert). */
  sslrootcert?: string;
  /**
   * libpq channel_binding: `require` binds the SCRAM login to the TLS channel, so a man in the
   * middle with a certificate of its own cannot relay the login. Needs TLS.
   */
  channelBinding?: 'require' | 'prefer' | 'disable';
  /** The pg_service.conf service it was made from (its parameters are resolved into the fields above). */
  service?: string;
}

/** The fields of a profile that a URI or a form provides (no id, name or role yet). */
export type ConnectionTarget = Omit<ConnectionProfile, 'id' | 'name' | 'role'>;

export interface ParsedConnectionString {
  target: ConnectionTarget;
  /** The password found in the string, if any. Callers move it to secret storage and drop it. */
  password?: string;
  /** Parameters that were present but are not kept (named so the caller can say so). */
  ignored: string[];
}

export class ConnectionStringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionStringError';
  }
}

export const DEFAULT_PORT = 5432;

/**
 * Parses `postgresql://user:pass@host:port/db?sslmode=require` (also `postgres://`) or a libpq
 * keyword/value string (`host=... port=... dbname=...`). Percent-encoded parts are decoded.
 * Throws ConnectionStringError with a message that says what is wrong and what to do.
 */
export function parseConnectionString(input: string, env: Env = process.env): ParsedConnectionString {
  const text = input.trim();
  if (text === '') {
    throw new ConnectionStringError('The connection string is empty. Paste a URI such as postgresql://user@host:5432/dbname.');
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    return withService(parseUriKeywords(text), env);
  }
  if (/^\s*[a-z_]+\s*=/i.test(text)) {
    return withService(parseKeywordValue(text), env);
  }
  throw new ConnectionStringError(
    'This is not a PostgreSQL connection string. Use postgresql://user@host:5432/dbname or host=... port=... dbname=... user=...',
  );
}

function safeDecode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConnectionStringError(
      `The ${what} in the URI has a broken percent-encoding (%xx). Encode special characters, e.g. @ as %40.`,
    );
  }
}

/**
 * `service=NAME` (or `?service=NAME`): the service's parameters from the service files, those
 * given with it taking precedence (libpq's order).
 */
function withService(kv: Record<string, string>, env: Env): ParsedConnectionString {
  const name = kv.service;
  if (name === undefined) return fromKeywords(kv);
  let params: Record<string, string>;
  try {
    ({ params } = resolveService(name, env));
  } catch (err) {
    throw new ConnectionStringError(err instanceof Error ? err.message : String(err));
  }
  const { service: _service, ...given } = kv;
  const parsed = fromKeywords({ ...params, ...given });
  parsed.target.service = name;
  return parsed;
}

function parseUriKeywords(text: string): Record<string, string> {
  const scheme = text.slice(0, text.indexOf('://')).toLowerCase();
  if (scheme !== 'postgresql' && scheme !== 'postgres') {
    throw new ConnectionStringError(`Unsupported URI scheme "${scheme}://". Use postgresql:// or postgres://.`);
  }
  let rest = text.slice(scheme.length + 3);
  // The user info first, before '/' and '?' split anything: a password pasted raw may hold '/', '?',
  // '#' or '@'. It ends at the last '@', unless that '@' sits in the query (after "?key=").
  let userinfo: string | undefined;
  let at = rest.lastIndexOf('@');
  const queryStart = /\?[^?@]*=/.exec(rest);
  if (at >= 0 && queryStart && queryStart.index < at) at = rest.lastIndexOf('@', queryStart.index);
  if (at >= 0) {
    userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  let query = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  let path = '';
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    path = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
  }
  const kv: Record<string, string> = {};
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    if (colon >= 0) {
      kv.user = safeDecode(userinfo.slice(0, colon), 'user name');
      kv.password = safeDecode(userinfo.slice(colon + 1), 'password');
    } else {
      kv.user = safeDecode(userinfo, 'user name');
    }
  }
  if (rest !== '') {
    if (rest.includes(',')) {
      throw new ConnectionStringError('URIs with several hosts are not supported. Keep one host:port in the URI.');
    }
    let host = rest;
    let port: string | undefined;
    if (host.startsWith('[')) {
      const end = host.indexOf(']');
      if (end < 0) throw new ConnectionStringError('The IPv6 address in the URI has no closing "]".');
      port = host.slice(end + 1).startsWith(':') ? host.slice(end + 2) : undefined;
      host = host.slice(1, end);
    } else {
      const colon = host.lastIndexOf(':');
      if (colon >= 0) {
        port = host.slice(colon + 1);
        host = host.slice(0, colon);
      }
      // "host:5432:/db" (a stray colon) would become the host "host:5432" and fail much later.
      if (host.includes(':')) {
        throw new ConnectionStringError(
          `The host "${host}" in the URI has a stray ":". Write host:port/dbname (IPv6 addresses in brackets: [::1]:5432).`,
        );
      }
    }
    if (host !== '') kv.host = safeDecode(host, 'host');
    if (port !== undefined && port !== '') {
      // Never echo it: when a URI is malformed, what stands here may be part of a password.
      if (!/^\d{1,5}$/.test(port))
        throw new ConnectionStringError(
          'The port in the URI is not a number. Use host:port with a port from 1 to 65535, usually 5432; percent-encode special characters of the password (e.g. / as %2F).',
        );
      kv.port = port;
    }
  }
  if (path !== '') kv.dbname = safeDecode(path, 'database name');
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const key = safeDecode(eq >= 0 ? pair.slice(0, eq) : pair, 'parameter name');
    const value = safeDecode((eq >= 0 ? pair.slice(eq + 1) : '').replace(/\+/g, ' '), `value of ${key}`);
    kv[key] = value;
  }
  return kv;
}

/** libpq keyword/value syntax: key=value pairs, values optionally single-quoted with \' and \\. */
export function parseKeywordValue(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && /\s/.test(text[i]!)) i++;
    if (i >= n) break;
    let key = '';
    while (i < n && /[A-Za-z0-9_]/.test(text[i]!)) key += text[i++];
    while (i < n && /\s/.test(text[i]!)) i++;
    if (key === '' || text[i] !== '=') {
      throw new ConnectionStringError(
        `Could not read the connection string at character ${i + 1}. Write key=value pairs, e.g. host=db.example.com port=5432, and quote values with spaces: password='a b'.`,
      );
    }
    i++;
    while (i < n && /\s/.test(text[i]!)) i++;
    let value = '';
    if (text[i] === "'") {
      i++;
      let closed = false;
      while (i < n) {
        const c = text[i]!;
        if (c === '\\' && i + 1 < n) {
          value += text[i + 1];
          i += 2;
        } else if (c === "'") {
          i++;
          closed = true;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) throw new ConnectionStringError(`The quoted value of ${key} has no closing quote.`);
    } else {
      while (i < n && !/\s/.test(text[i]!)) {
        if (text[i] === '\\' && i + 1 < n) {
          value += text[i + 1];
          i += 2;
        } else {
          value += text[i++];
        }
      }
    }
    out[key] = value;
  }
  return out;
}

const KEPT = new Set(['host', 'hostaddr', 'port', 'dbname', 'user', 'password', 'sslmode', 'sslrootcert', 'channel_binding']);

/** This machine: a Unix socket, localhost, 127.0.0.0/8 or ::1. */
export function isLocalHost(host: string): boolean {
  return host.startsWith('/') || host === 'localhost' || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1';
}

/**
 * The sslmode when none is given: `prefer` falls back to plain text, which an attacker on the
 * network can force (strip TLS), so only this machine gets it; every other host `require`
 * (managed services require TLS anyway).
 */
export function defaultSslMode(host: string): SslMode {
  return isLocalHost(host) ? 'prefer' : 'require';
}

function fromKeywords(kv: Record<string, string>): ParsedConnectionString {
  const ignored = Object.keys(kv).filter((k) => !KEPT.has(k));
  const host = kv.host ?? kv.hostaddr ?? 'localhost';
  if (host.includes(',')) {
    throw new ConnectionStringError('Several hosts are not supported. Keep one host in the connection string.');
  }
  const portText = kv.port ?? String(DEFAULT_PORT);
  const port = parsePort(portText);
  const sslmode = parseSslMode(kv.sslmode ?? defaultSslMode(host));
  const user = kv.user ?? '';
  if (user === '') {
    throw new ConnectionStringError('The connection string names no user. Add one, e.g. postgresql://migrator@host/dbname.');
  }
  const target: ConnectionTarget = {
    host,
    port,
    database: kv.dbname !== undefined && kv.dbname !== '' ? kv.dbname : user,
    user,
    sslmode,
  };
  if (kv.sslrootcert) target.sslrootcert = kv.sslrootcert;
  if (kv.channel_binding !== undefined) {
    const cb = kv.channel_binding;
    if (cb !== 'require' && cb !== 'prefer' && cb !== 'disable') {
      throw new ConnectionStringError(`"${cb}" is not a channel_binding. Use require, prefer or disable.`);
    }
    if (cb === 'require' && (sslmode === 'disable' || sslmode === 'allow')) {
      throw new ConnectionStringError(`channel_binding=require needs TLS: use sslmode=require (or verify-full), not sslmode=${sslmode}.`);
    }
    target.channelBinding = cb;
  }
  const parsed: ParsedConnectionString = { target, ignored };
  if (kv.password !== undefined && kv.password !== '') parsed.password = kv.password;
  return parsed;
}

export function parsePort(text: string): number {
  if (!/^\d{1,5}$/.test(text.trim())) {
    throw new ConnectionStringError(`"${text}" is not a port number. Use a number from 1 to 65535, usually 5432.`);
  }
  const port = Number(text);
  if (port < 1 || port > 65535) {
    throw new ConnectionStringError(`Port ${port} is out of range. Use a number from 1 to 65535, usually 5432.`);
  }
  return port;
}

export function parseSslMode(text: string): SslMode {
  const mode = text.trim().toLowerCase();
  if ((SSL_MODES as readonly string[]).includes(mode)) return mode as SslMode;
  throw new ConnectionStringError(`"${text}" is not an sslmode. Use one of: ${SSL_MODES.join(', ')}.`);
}

function encodeHost(host: string): string {
  if (host.includes(':')) return `[${host}]`;
  return encodeURIComponent(host);
}

/**
 * The URI of a profile, WITHOUT its password (safe to copy, log or show). Pass a database to
 * point at another database of the same server.
 */
export function formatConnectionUri(target: ConnectionTarget, database = target.database): string {
  const params: string[] = [];
  // Explicit unless it is libpq's own default for this machine: the URI is pasted into other tools too.
  if (target.sslmode !== 'prefer' || !isLocalHost(target.host)) params.push(`sslmode=${target.sslmode}`);
  if (target.sslrootcert) params.push(`sslrootcert=${encodeURIComponent(target.sslrootcert)}`);
  if (target.channelBinding) params.push(`channel_binding=${target.channelBinding}`);
  const host = target.host.startsWith('/') ? '' : encodeHost(target.host);
  if (target.host.startsWith('/')) params.unshift(`host=${encodeURIComponent(target.host)}`);
  const port = target.host.startsWith('/') ? `` : `:${target.port}`;
  if (target.host.startsWith('/') && target.port !== DEFAULT_PORT) params.push(`port=${target.port}`);
  return (
    `postgresql://${encodeURIComponent(target.user)}@${host}${port}/${encodeURIComponent(database)}` +
    (params.length ? `?${params.join('&')}` : '')
  );
}

/** A short label such as `migrator@db.example.com:5432/app`. */
export function describeTarget(target: ConnectionTarget, database = target.database): string {
  return `${target.user}@${target.host}:${target.port}/${database}`;
}

/**
 * Environment variables that make libpq tools (psql, pg_dump, pg_restore) connect to the profile.
 * The password travels here, never in argv. Inherited PG* variables are cleared so that a
 * stray PGPASSWORD or PGSERVICE of the caller cannot redirect the tool.
 */
export function libpqEnvironment(
  target: ConnectionTarget,
  password: string | undefined,
  options: { database?: string; connectTimeoutSeconds?: number; applicationName?: string } = {},
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const key of LIBPQ_ENV_KEYS) env[key] = undefined;
  env.PGHOST = target.host;
  env.PGPORT = String(target.port);
  env.PGUSER = target.user;
  env.PGDATABASE = options.database ?? target.database;
  env.PGSSLMODE = target.sslmode;
  if (target.sslrootcert) env.PGSSLROOTCERT = target.sslrootcert;
  if (target.channelBinding) env.PGCHANNELBINDING = target.channelBinding;
  if (password !== undefined) env.PGPASSWORD = password;
  env.PGCONNECT_TIMEOUT = String(options.connectTimeoutSeconds ?? 10);
  env.PGAPPNAME = options.applicationName ?? 'hydra-migrate';
  return env;
}

export { LIBPQ_ENV_KEYS };

/** Checks a profile made by a form; returns the problems as sentences (empty when valid). */
export function validateTarget(target: Partial<ConnectionTarget>): string[] {
  const problems: string[] = [];
  if (!target.host || target.host.trim() === '') problems.push('Enter a host name or IP address.');
  if (!target.user || target.user.trim() === '') problems.push('Enter a user name.');
  if (!target.database || target.database.trim() === '') problems.push('Enter a database name.');
  if (target.port === undefined || !Number.isInteger(target.port) || target.port < 1 || target.port > 65535) {
    problems.push('Enter a port from 1 to 65535.');
  }
  return problems;
}
