/**
 * Turns errors from pg (the node driver) and from libpq tools (psql, pg_dump, pg_restore) into one
 * sentence that says what happened and one that says what to do. Never includes a password:
 * callers pass messages from the server or the driver, which do not carry it, and `redact` is
 * applied to anything that might.
 */

export type ConnectionProblem =
  | 'auth_failed'
  | 'no_password'
  | 'refused'
  | 'unknown_host'
  | 'database_missing'
  | 'ssl_required'
  | 'ssl_unsupported'
  | 'ssl_certificate'
  | 'timeout'
  | 'no_hba_entry'
  | 'too_many_connections'
  | 'server_closed'
  | 'permission_denied'
  | 'version_mismatch'
  | 'disk_full'
  | 'channel_binding'
  | 'unknown';

export interface ExplainedError {
  problem: ConnectionProblem;
  /** What happened, in one sentence. */
  message: string;
  /** What to do about it, in one sentence. */
  hint: string;
  /** The original text from the driver or the tool (redacted). */
  detail: string;
}

export interface ErrorContext {
  host?: string;
  port?: number;
  user?: string;
  database?: string;
  /** The password, so that it can be removed from any text that might echo it. */
  password?: string;
  timeoutSeconds?: number;
}

interface ErrorLike {
  message?: unknown;
  code?: unknown;
}

function textOf(err: unknown): { message: string; code?: string } {
  if (err && typeof err === 'object') {
    const e = err as ErrorLike;
    const message = typeof e.message === 'string' ? e.message : JSON.stringify(err);
    const code = typeof e.code === 'string' ? e.code : undefined;
    return code === undefined ? { message } : { message, code };
  }
  return { message: String(err) };
}

/** Replaces every occurrence of the password (raw and percent-encoded) with ***. */
/** Raw occurrences of passwords shorter than this are not replaced: "***" in place of a word would tell the password. */
const MIN_REDACTED_LENGTH = 8;

/**
 * Removes a password from a text: the password part of any URI (`//user:…@`), the password
 * percent-encoded (either case of hex digits), and the raw password when it is long enough that
 * replacing it cannot reveal it.
 */
export function redact(text: string, password: string | undefined): string {
  // The user info ends at the last '@' of the URI (a raw '@' in a password is common); key=value too.
  let out = text.replace(/(\/\/[^\s:/@]*:)\S*@/g, '$1***@').replace(/(password\s*=\s*)('(?:[^'\\]|\\.)*'|(?:\\.|\S)+)/gi, '$1***');
  if (!password) return out;
  if (password.length >= MIN_REDACTED_LENGTH) out = out.split(password).join('***');
  const encoded = encodeURIComponent(password);
  if (encoded !== password) {
    const pattern = encoded
      .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      .replace(/%([0-9A-F]{2})/g, (_m, hex: string) => `%(?:${hex}|${hex.toLowerCase()})`);
    out = out.replace(new RegExp(pattern, 'g'), '***');
  }
  return out;
}

export function explainConnectionError(err: unknown, ctx: ErrorContext = {}): ExplainedError {
  const { message: raw, code } = textOf(err);
  const detail = redact(raw.trim(), ctx.password);
  const where = ctx.host !== undefined ? `${ctx.host}${ctx.port !== undefined ? `:${ctx.port}` : ''}` : 'the server';
  const who = ctx.user !== undefined ? `"${ctx.user}"` : 'this user';
  const db = ctx.database !== undefined ? `"${ctx.database}"` : 'the database';
  const m = detail;
  const make = (problem: ConnectionProblem, message: string, hint: string): ExplainedError => ({ problem, message, hint, detail });

  if (code === '28P01' || /password authentication failed/i.test(m)) {
    return make(
      'auth_failed',
      `The server at ${where} rejected the password for user ${who} (or the user does not exist).`,
      'Check the user name and password (Edit Connection), or ask the server administrator to reset them.',
    );
  }
  if (/no password supplied|password is required|client password must be a string/i.test(m)) {
    return make(
      'no_password',
      `The server at ${where} asks for a password and none is stored for this connection.`,
      'Set the password with Edit Connection; it is kept in the system keychain.',
    );
  }
  if (code === '3D000' || /database ".*" does not exist/i.test(m)) {
    return make(
      'database_missing',
      `The database ${db} does not exist on ${where}.`,
      'Check the database name (Edit Connection), or connect to "postgres" and create it first.',
    );
  }
  if (/server does not support SSL|does not support SSL connections/i.test(m)) {
    return make(
      'ssl_unsupported',
      `The server at ${where} does not accept SSL connections, but this connection requires SSL.`,
      'Set sslmode to "prefer" or "disable" for this server, or enable ssl on the server.',
    );
  }
  if (
    /self[- ]signed certificate|unable to verify the first certificate|certificate verify failed|unable to get local issuer|Hostname\/IP does not match|root certificate file/i.test(
      m,
    )
  ) {
    return make(
      'ssl_certificate',
      `The SSL certificate of ${where} could not be verified.`,
      'Give the server\'s CA certificate file (sslrootcert), or use sslmode "require" to encrypt without verifying.',
    );
  }
  if (code === '28000' && /(no pg_hba\.conf entry|pg_hba\.conf rejects connection)/i.test(m) && /(no encryption|SSL off)/i.test(m)) {
    return make(
      'ssl_required',
      `The server at ${where} only accepts SSL connections for user ${who}.`,
      'Set sslmode to "require" (or verify-full with the server\'s CA file) for this connection.',
    );
  }
  if (code === '28000' || /no pg_hba\.conf entry/i.test(m)) {
    return make(
      'no_hba_entry',
      `The server at ${where} does not allow connections from this machine for user ${who} to ${db} (pg_hba.conf).`,
      "Ask the administrator to allow this client address (pg_hba.conf or the provider's IP allow-list).",
    );
  }
  if (code === 'ECONNREFUSED' || /connection refused|ECONNREFUSED/i.test(m)) {
    return make(
      'refused',
      `Nothing accepts connections at ${where}: the connection was refused.`,
      'Check that the server is running, the host and port are right, and it listens on TCP (listen_addresses).',
    );
  }
  if (
    code === 'ENOTFOUND' ||
    code === 'EAI_AGAIN' ||
    /could not translate host name|getaddrinfo|ENOTFOUND|EAI_AGAIN|Name or service not known/i.test(m)
  ) {
    return make(
      'unknown_host',
      `The host name "${ctx.host ?? '?'}" could not be resolved.`,
      'Check the spelling of the host, or use its IP address.',
    );
  }
  if (/channel binding/i.test(m)) {
    return make(
      'channel_binding',
      `The login to ${where} could not be bound to the TLS channel (channel_binding=require): ${m.replace(/^.*?(channel binding)/i, '$1')}.`,
      'The server must use scram-sha-256 over TLS (PostgreSQL 11+ with SSL). If it does, something between you and it terminates TLS: do not connect until that is explained.',
    );
  }
  if (code === 'ETIMEDOUT' || /timeout expired|timed out|connection timeout|ETIMEDOUT/i.test(m)) {
    const secs = ctx.timeoutSeconds !== undefined ? ` within ${ctx.timeoutSeconds} s` : '';
    return make(
      'timeout',
      `The server at ${where} did not answer${secs}.`,
      'Check the host and port, a firewall or IP allow-list between here and the server, or raise hydraMigrate.connectTimeoutSeconds.',
    );
  }
  if (code === '53300' || /too many (clients|connections)|remaining connection slots/i.test(m)) {
    return make(
      'too_many_connections',
      `The server at ${where} has no free connection slots.`,
      'Close idle sessions or raise max_connections, then try again.',
    );
  }
  if (/No space left on device|could not extend file|disk full/i.test(m)) {
    return make(
      'disk_full',
      `A disk is full: ${firstLine(m.split('\n').find((l) => /No space left|could not extend|disk full/i.test(l)) ?? m)}`,
      'Free space on that disk (or choose an output folder on another disk), then run the step again.',
    );
  }
  if (/aborting because of server version mismatch/i.test(m)) {
    const v = /server version: ([\d.]+); pg_dump version: ([\d.]+)/.exec(m);
    return make(
      'version_mismatch',
      v ? `pg_dump ${v[2]} is older than the source server (${v[1]}).` : 'pg_dump is older than the source server.',
      "Install pg_dump of the server's major version or newer and set hydraMigrate.pgBinDir to its bin folder.",
    );
  }
  if (code === '42501' || /permission denied/i.test(m)) {
    return make(
      'permission_denied',
      `User ${who} lacks a privilege this step needs: ${firstLine(m)}`,
      'Grant the privilege (e.g. SELECT on the tables, CONNECT on the database) or use a role that has it.',
    );
  }
  if (code === 'ECONNRESET' || code === '57P01' || /Connection terminated|server closed the connection|terminating connection/i.test(m)) {
    return make(
      'server_closed',
      `The server at ${where} closed the connection.`,
      'The server may have restarted or an idle timeout cut the session; try again.',
    );
  }
  return make('unknown', firstLine(m) || 'The connection failed for an unknown reason.', 'See the Hydra Migrate output for details.');
}

function firstLine(text: string): string {
  return (
    text
      .split(/\r?\n/)
      .find((l) => l.trim() !== '')
      ?.trim() ?? ''
  );
}
