/**
 * Connections with the `pg` driver: libpq-like sslmode handling, explained failures, and a small
 * cache of pools for the explorer (one pool per connection and database).
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type pg from 'pg';
import type { ConnectionTarget } from './connection.js';
import { explainConnectionError, type ExplainedError } from './errors.js';

export interface ConnectOptions {
  password?: string | undefined;
  /** Connect to this database instead of the profile's. */
  database?: string;
  connectTimeoutSeconds?: number;
  applicationName?: string;
  /** Abort a running query after this many milliseconds (statement_timeout). */
  statementTimeoutMs?: number;
  /** TCP keepalives: a session idle for hours (a held snapshot) is not dropped by a NAT or load balancer. */
  keepAlive?: boolean;
}

/** A connection failure explained for people; `cause` keeps the driver's error. */
export class ConnectionError extends Error {
  readonly explained: ExplainedError;
  constructor(explained: ExplainedError, options?: { cause?: unknown }) {
    super(`${explained.message} ${explained.hint}`, options);
    this.name = 'ConnectionError';
    this.explained = explained;
  }
}

type SslAttempt = false | ConnectionOptions;

let driver: Promise<typeof pg> | undefined;
/** The pg driver, loaded on first use (it costs ~40 ms to load; activation must stay fast). */
function loadDriver(): Promise<typeof pg> {
  driver ??= import('pg').then((m) => (m as unknown as { default?: typeof pg }).default ?? (m as unknown as typeof pg));
  return driver;
}

function sslAttempts(target: ConnectionTarget): SslAttempt[] {
  // Channel binding needs TLS: never fall back to plain TCP.
  if (target.channelBinding === 'require') return sslModeAttempts(target).filter((a) => a !== false);
  return sslModeAttempts(target);
}

function sslModeAttempts(target: ConnectionTarget): SslAttempt[] {
  const ca = (): string => {
    if (!target.sslrootcert) {
      throw new Error(`sslmode=${target.sslmode} needs the server's CA certificate: set the CA file (sslrootcert) of this connection.`);
    }
    try {
      return readFileSync(target.sslrootcert, 'utf8');
    } catch (e) {
      throw new Error(
        `The CA certificate file ${target.sslrootcert} could not be read (${(e as NodeJS.ErrnoException).code ?? 'error'}). Check the path in the connection.`,
      );
    }
  };
  const encryptOnly: ConnectionOptions = target.sslrootcert
    ? { ca: ca(), rejectUnauthorized: true, checkServerIdentity: () => undefined }
    : { rejectUnauthorized: false };
  switch (target.sslmode) {
    case 'disable':
      return [false];
    case 'allow':
      return [false, { rejectUnauthorized: false }];
    case 'prefer':
      return [{ rejectUnauthorized: false }, false];
    case 'require':
      return [encryptOnly];
    case 'verify-ca':
      return [{ ca: ca(), rejectUnauthorized: true, checkServerIdentity: () => undefined }];
    case 'verify-full':
      return [{ ca: ca(), rejectUnauthorized: true, servername: target.host }];
  }
}

export function clientConfig(target: ConnectionTarget, options: ConnectOptions, ssl: SslAttempt): pg.ClientConfig {
  const config: pg.ClientConfig = {
    host: target.host,
    port: target.port,
    user: target.user,
    database: options.database ?? target.database,
    ssl,
    connectionTimeoutMillis: (options.connectTimeoutSeconds ?? 10) * 1000,
    application_name: options.applicationName ?? 'hydra-migrate',
  };
  // Never the driver's own fallbacks (the process's PGPASSWORD, its own reading of ~/.pgpass): the
  // password is ours or none, so the keychain, .pgpass (libpq's rules, 0600) and the tooltip agree.
  config.password = options.password ?? ((() => undefined) as unknown as () => string);
  // SCRAM-SHA-256-PLUS when the server offers it over TLS (what libpq calls channel_binding=prefer/require).
  if (target.channelBinding && target.channelBinding !== 'disable')
    (config as { enableChannelBinding?: boolean }).enableChannelBinding = true;
  if (options.statementTimeoutMs !== undefined) config.statement_timeout = options.statementTimeoutMs;
  if (options.keepAlive) {
    config.keepAlive = true;
    config.keepAliveInitialDelayMillis = 30_000;
  }
  return config;
}

/**
 * libpq's channel_binding=require for the pg driver, which on its own only prefers
 * SCRAM-SHA-256-PLUS: refuses a cleartext or MD5 password request and a SCRAM exchange without
 * channel binding (a man in the middle with a certificate of its own would ask for exactly that).
 * Returns whether the login was bound, to refuse a server that asked for no password at all.
 */
function requireChannelBinding(client: pg.Client): () => boolean {
  type AuthHooks = {
    _handleAuthCleartextPassword: () => void;
    _handleAuthMD5Password: () => void;
    _handleAuthSASL: (msg: { mechanisms: string[] }) => void;
    connection: { emit: (event: string, err: Error) => void };
  };
  const c = client as unknown as AuthHooks;
  let bound = false;
  const refuse = (what: string) => (): void =>
    c.connection.emit('error', new Error(`channel binding required, but the server asked for ${what}`));
  c._handleAuthCleartextPassword = refuse('a cleartext password');
  c._handleAuthMD5Password = refuse('an MD5 password');
  const sasl = c._handleAuthSASL.bind(client);
  c._handleAuthSASL = (msg) => {
    if (!msg.mechanisms.includes('SCRAM-SHA-256-PLUS')) {
      refuse('SCRAM without channel binding (SCRAM-SHA-256-PLUS not offered)')();
      return;
    }
    bound = true;
    sasl({ ...msg, mechanisms: ['SCRAM-SHA-256-PLUS'] });
  };
  return () => bound;
}

/** Whether a failed attempt should be retried with the next sslmode fallback (libpq prefer/allow). */
function shouldFallBack(err: unknown, attempt: SslAttempt): boolean {
  const message = err instanceof Error ? err.message : String(err);
  if (attempt !== false) return /does not support SSL/i.test(message);
  return /no pg_hba\.conf entry.*(no encryption|SSL off)/is.test(message);
}

/**
 * Opens a client, following libpq's sslmode semantics. Throws ConnectionError with an explained
 * message on failure.
 */
export async function connect(target: ConnectionTarget, options: ConnectOptions = {}): Promise<pg.Client> {
  return (await open(target, options)).client;
}

async function open(target: ConnectionTarget, options: ConnectOptions): Promise<{ client: pg.Client; ssl: SslAttempt }> {
  const ctx = {
    host: target.host,
    port: target.port,
    user: target.user,
    database: options.database ?? target.database,
    password: options.password,
    timeoutSeconds: options.connectTimeoutSeconds ?? 10,
  };
  let attempts: SslAttempt[];
  try {
    attempts = sslAttempts(target);
  } catch (e) {
    throw new ConnectionError({
      problem: 'ssl_certificate',
      message: (e as Error).message,
      hint: 'Edit the connection to fix the CA file.',
      detail: (e as Error).message,
    });
  }
  let lastError: unknown;
  const { Client } = await loadDriver();
  for (let i = 0; i < attempts.length; i++) {
    const attempt = attempts[i]!;
    const client = new Client(clientConfig(target, options, attempt));
    // A connection that dies later must not crash the process: the next query reports it.
    client.on('error', () => undefined);
    const bound = target.channelBinding === 'require' ? requireChannelBinding(client) : undefined;
    try {
      await client.connect();
      if (bound && !bound()) throw new Error('channel binding required, but server authenticated client without channel binding');
      return { client, ssl: attempt };
    } catch (err) {
      lastError = err;
      await client.end().catch(() => undefined);
      if (i + 1 < attempts.length && shouldFallBack(err, attempt)) continue;
      break;
    }
  }
  throw new ConnectionError(explainConnectionError(lastError, ctx), { cause: lastError });
}

export interface ServerInfo {
  /** e.g. "17.10" */
  serverVersion: string;
  /** e.g. 170010 */
  serverVersionNum: number;
  /** The full version() string. */
  versionString: string;
  currentUser: string;
  database: string;
  superuser: boolean;
  ssl: boolean;
  sslVersion?: string;
  /** Table access methods of the database (heap, columnar, ...). */
  tableAccessMethods: string[];
}

export async function serverInfo(client: pg.Client): Promise<ServerInfo> {
  const { rows } = await client.query<{
    server_version: string;
    server_version_num: string;
    version: string;
    current_user: string;
    db: string;
    rolsuper: boolean;
    ssl: boolean | null;
    ssl_version: string | null;
    ams: string[];
  }>(`SELECT current_setting('server_version') AS server_version,
            current_setting('server_version_num') AS server_version_num,
            version() AS version, current_user AS current_user, current_database() AS db,
            (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS rolsuper,
            (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl,
            (SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS ssl_version,
            ARRAY(SELECT amname::text FROM pg_am WHERE amtype = 't' ORDER BY amname) AS ams`);
  const r = rows[0]!;
  const info: ServerInfo = {
    serverVersion: r.server_version.split(' ')[0] ?? r.server_version,
    serverVersionNum: Number(r.server_version_num),
    versionString: r.version,
    currentUser: r.current_user,
    database: r.db,
    superuser: r.rolsuper === true,
    ssl: r.ssl === true,
    tableAccessMethods: r.ams,
  };
  if (r.ssl_version) info.sslVersion = r.ssl_version;
  return info;
}

export type TestConnectionResult =
  { ok: true; info: ServerInfo; elapsedMs: number } | { ok: false; error: ExplainedError; elapsedMs: number };

/** Connects, reads the server facts and disconnects. Never throws. */
export async function testConnection(target: ConnectionTarget, options: ConnectOptions = {}): Promise<TestConnectionResult> {
  const started = performance.now();
  let client: pg.Client | undefined;
  try {
    client = await connect(target, options);
    const info = await serverInfo(client);
    return { ok: true, info, elapsedMs: performance.now() - started };
  } catch (err) {
    const error =
      err instanceof ConnectionError
        ? err.explained
        : explainConnectionError(err, {
            host: target.host,
            port: target.port,
            user: target.user,
            database: options.database ?? target.database,
            password: options.password,
          });
    return { ok: false, error, elapsedMs: performance.now() - started };
  } finally {
    await client?.end().catch(() => undefined);
  }
}

/**
 * Pools keyed by connection id and database, for the explorer's many small catalog queries.
 * Idle clients close themselves; closeConnection() ends every pool of one connection (after an
 * edit, a password change or removal).
 */
export class PoolCache {
  private readonly pools = new Map<string, { pool: pg.Pool; connectionId: string }>();

  constructor(private readonly idleTimeoutMs = 30_000) {}

  async query<R extends pg.QueryResultRow>(
    connectionId: string,
    target: ConnectionTarget,
    options: ConnectOptions,
    text: string,
    values: unknown[] = [],
  ): Promise<R[]> {
    const database = options.database ?? target.database;
    const key = `${connectionId}\u0000${database}`;
    let entry = this.pools.get(key);
    if (!entry) {
      // Resolve sslmode fallbacks once with a real connection, then pool with the attempt that worked.
      const probe = await open(target, options);
      await probe.client.end().catch(() => undefined);
      const ssl = probe.ssl;
      const { Pool } = await loadDriver();
      const pool = new Pool({
        ...clientConfig(target, options, ssl),
        max: 2,
        idleTimeoutMillis: this.idleTimeoutMs,
        allowExitOnIdle: true,
      });
      pool.on('error', () => undefined);
      entry = { pool, connectionId };
      this.pools.set(key, entry);
    }
    try {
      const result = await entry.pool.query<R>(text, values);
      return result.rows;
    } catch (err) {
      if (
        err &&
        typeof err === 'object' &&
        'severity' in err &&
        !('code' in err && /^(08|57P)/.test(String((err as { code: unknown }).code)))
      ) {
        throw err; // an SQL error: the pool is fine
      }
      this.pools.delete(key);
      await entry.pool.end().catch(() => undefined);
      throw new ConnectionError(
        explainConnectionError(err, { host: target.host, port: target.port, user: target.user, database, password: options.password }),
        { cause: err },
      );
    }
  }

  async closeConnection(connectionId: string): Promise<void> {
    const closing: Promise<void>[] = [];
    for (const [key, entry] of this.pools) {
      if (entry.connectionId === connectionId) {
        this.pools.delete(key);
        closing.push(entry.pool.end().catch(() => undefined));
      }
    }
    await Promise.all(closing);
  }

  async closeAll(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(all.map((e) => e.pool.end().catch(() => undefined)));
  }
}
