/**
 * `hydra-migrate`: the command line over src/core. Exit codes: 0 success, 1 the check failed
 * (e.g. the connection was refused), 2 usage error or could not run.
 */
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { ConnectionStringError, describeTarget, parseConnectionString, type ParsedConnectionString } from '../core/connection.js';
import { pgpassPassword } from '../core/libpqFiles.js';
import { CLEAR_LINE, statusLine } from '../core/present/style.js';
import { flattenPartitions, formatBytes, listDatabases, listSchemas, listTables, type QueryFn } from '../core/catalog.js';
import { connect, ConnectionError, testConnection } from '../core/pg.js';
import { redact } from '../core/errors.js';
import { UsageError, type Io } from './io.js';
import { connectTimeoutOption } from './options.js';
import { runStep, STEP_VERBS } from './verbs.js';

declare const HYDRA_MIGRATE_VERSION: string;
const VERSION = typeof HYDRA_MIGRATE_VERSION === 'string' ? HYDRA_MIGRATE_VERSION : 'dev';

const HELP = `hydra-migrate ${VERSION}: migrate a PostgreSQL-compatible (Hydra) database and prove the copy complete

Usage:
  hydra-migrate test-connection --uri URI [--json]
  hydra-migrate databases --uri URI [--json]
  hydra-migrate schemas --uri URI [--json]
  hydra-migrate tables --uri URI --schema NAME [--json]
  hydra-migrate preflight --source URI --target URI [--no-owner] [--no-acl] [--rehearse]
                     [--plan P] [--jobs N] [--no-analyze] [--dump PATH] [--compress 0-9] [--json]
                     --dump: where migrate would write the archive (the plan says whether it is compressed)
                     --rehearse: restore the schema alone into a throwaway database on the target
                     first (seconds, no data) and list what would fail
                     Also prints the plan a migration would pick and its time estimate.
  hydra-migrate dump --source URI --out PATH [--format custom|directory] [--jobs N] [--no-owner] [--no-acl]
                     [--schema NAME]... [--exclude-schema NAME]... [--table SCHEMA.NAME]... [--exclude-table SCHEMA.NAME]...
                     [--schema-pattern P]... [--table-pattern P]... [--exclude-schema-pattern P]... [--exclude-table-pattern P]...
                     [--compress 0-9] [--lock-wait-timeout S] [--json]
                     --schema/--table take exact names (case, spaces, dots and quotes kept); the -pattern
                     options take pg_dump patterns (folded to lower case, * and ? wildcards). A name or
                     pattern that matches nothing fails the dump, and the archive is checked for every table.
  hydra-migrate create-database --target URI [--like SOURCE_URI [--create-roles] [--create-extensions]] [--owner ROLE] [--json]
  hydra-migrate restore --target URI --in PATH [--jobs N] [--no-owner] [--no-acl] [--no-table-access-method]
                     [--schema NAME]... [--exit-on-error] [--single-transaction] [--confirm-non-empty DBNAME] [--resume] [--json]
                     --resume (with --confirm-non-empty DBNAME) goes on with an interrupted restore into the
                     same database: tables with rows and indexes that exist are kept, the rest is restored.
  hydra-migrate migrate --source URI --target URI --dump PATH [--plan auto|stream|directory|custom] [--jobs N]
                     [--no-owner] [--no-acl] [--no-table-access-method] [--rehearse] [--no-analyze]
                     [--no-validate] [--no-snapshot] [--checksums] [--confirm-non-empty DBNAME] [--resume]
                     [--compress 0-9] [--json]
                     --plan auto (default) picks from the source's sizes: stream (dump and load at
                     the same time, archive kept) when one table dominates or the data is small,
                     directory (-Fd -j N both ways) when many similar tables keep N jobs busy,
                     its archive uncompressed when its disk has room (--compress sets the level).
                     Ends with the validation of every table: row counts, access methods, objects,
                     sequences; --checksums adds every row's content (exit 1 if anything differs).
                     The dump and the validation read the source as of one snapshot, so a source
                     that keeps taking writes still validates exactly (the source's rows now are
                     reported beside); --no-snapshot reads it live.
                     --resume (with --confirm-non-empty DBNAME) goes on with an interrupted migration
                     with the same --dump PATH: its archive, if the dump had finished, is restored
                     again (else the dump starts over) and the target goes on where it stopped.
  hydra-migrate validate --source URI --target URI [--checksums] [--estimate] [--schema NAME]...
                     [--concurrency N] [--all] [--json]
  hydra-migrate sync-sequences --source URI --target URI [--schema NAME]... [--dry-run] [--json]
                     at the cutover: raise every target sequence behind the source to the
                     source's value (never lowers one); exit 1 if a sequence is missing in the target
  hydra-migrate sync-large-object-owners --source URI --target URI [--dry-run] [--json]
                     after a restore with --no-owner: give each large object its source owner's role
                     (matched by OID); exit 1 if a role or a large object is missing in the target
  hydra-migrate sync-columnar-options --source URI --target URI [--dry-run] [--json]
                     re-apply columnar tables' compression, stripe and chunk group sizes, which
                     pg_dump does not carry (for data written from then on); exit 1 if the target
                     cannot take them

Connection:
  --uri URI            postgresql://user@host:port/dbname?sslmode=...  (or libpq key=value)
  The password is read, in order, from: --password-stdin (first line of standard input),
  the PGPASSWORD environment variable, the URI itself (visible to other users in the process
  list: avoid). It is never printed.
  --source/--target: passwords from HYDRA_SOURCE_PASSWORD / HYDRA_TARGET_PASSWORD, then the URI,
  then PGPASSWORD. The target URI names the database to create or restore into.
  Tools: --pg-bin-dir DIR (or HYDRA_PG_BIN_DIR), else PATH, else /usr/lib/postgresql/<newest>/bin.

Options:
  --json               print one JSON document on stdout
  --progress json      dump, restore, migrate: one JSON object per line on stderr as the work goes
                       {"phase","percent","bytesDone","bytesTotal","etaSeconds","table"} (percent by
                       bytes when the tables' sizes are known, never going back, ending at 100);
                       without it, a status line on stderr when stderr is a terminal
  --connect-timeout S  seconds before an unreachable server is given up (default 10)
  --lock-wait-timeout S  dump, migrate, validate: seconds to wait for a table another session
                       has locked (default 30); then the dump fails / the table is reported unread
  -h, --help           this help
  -v, --version        the version

Exit codes: 0 success, 1 the step failed (preflight: blocking problems; validate: differences),
2 bad usage or could not run (preflight/validate: a server could not be reached).
Defaults: --jobs = CPU cores; dump --format directory; migrate --plan auto.`;

export async function main(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        uri: { type: 'string' },
        schema: { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
        'password-stdin': { type: 'boolean', default: false },
        'connect-timeout': { type: 'string' },
        'lock-wait-timeout': { type: 'string' },
        source: { type: 'string' },
        target: { type: 'string' },
        out: { type: 'string' },
        in: { type: 'string' },
        dump: { type: 'string' },
        like: { type: 'string' },
        owner: { type: 'string' },
        format: { type: 'string' },
        jobs: { type: 'string' },
        compress: { type: 'string' },
        'no-owner': { type: 'boolean', default: false },
        'no-acl': { type: 'boolean', default: false },
        'no-table-access-method': { type: 'boolean', default: false },
        'exit-on-error': { type: 'boolean', default: false },
        'single-transaction': { type: 'boolean', default: false },
        'confirm-non-empty': { type: 'string' },
        resume: { type: 'boolean', default: false },
        'exclude-schema': { type: 'string', multiple: true },
        table: { type: 'string', multiple: true },
        'exclude-table': { type: 'string', multiple: true },
        'schema-pattern': { type: 'string', multiple: true },
        'exclude-schema-pattern': { type: 'string', multiple: true },
        'table-pattern': { type: 'string', multiple: true },
        'exclude-table-pattern': { type: 'string', multiple: true },
        'pg-bin-dir': { type: 'string' },
        overwrite: { type: 'boolean', default: false },
        'create-roles': { type: 'boolean', default: false },
        checksums: { type: 'boolean', default: false },
        estimate: { type: 'boolean', default: false },
        concurrency: { type: 'string' },
        all: { type: 'boolean', default: false },
        'create-extensions': { type: 'boolean', default: false },
        rehearse: { type: 'boolean', default: false },
        plan: { type: 'string' },
        'no-validate': { type: 'boolean', default: false },
        'no-snapshot': { type: 'boolean', default: false },
        'dry-run': { type: 'boolean', default: false },
        progress: { type: 'string' },
        'no-analyze': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
  } catch (e) {
    io.stderr(`hydra-migrate: ${(e as Error).message}. Run hydra-migrate --help for the usage.`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    io.stdout(VERSION);
    return 0;
  }
  const verb = positionals[0];
  if (values.help || verb === undefined || verb === 'help') {
    io.stdout(HELP);
    return verb === undefined && !values.help ? 2 : 0;
  }
  let password: string | undefined;
  try {
    if (STEP_VERBS.includes(verb)) return await runStep(verb, values, io);
    if (!['test-connection', 'databases', 'schemas', 'tables'].includes(verb)) {
      throw new UsageError(`unknown command "${verb}". Run hydra-migrate --help for the commands.`);
    }
    if (!values.uri) throw new UsageError(`${verb} needs --uri postgresql://user@host:port/dbname.`);
    let conn: ParsedConnectionString;
    try {
      conn = parseConnectionString(values.uri, io.env);
    } catch (e) {
      if (e instanceof ConnectionStringError) throw new UsageError(`--uri: ${e.message}`);
      throw e;
    }
    password = values['password-stdin'] ? io.readStdin().split(/\r?\n/)[0] : (io.env.PGPASSWORD ?? conn.password);
    if (password === undefined) {
      // Then, as libpq: the password file (PGPASSFILE or ~/.pgpass), refused when others may read it.
      const found = pgpassPassword({ ...conn.target }, io.env);
      if (found && 'error' in found) throw new UsageError(`--uri: ${found.error}`);
      if (found) password = found.password;
    }
    const options = { password, connectTimeoutSeconds: connectTimeoutOption(values), applicationName: 'hydra-migrate cli' };

    if (verb === 'test-connection') {
      const result = await testConnection(conn.target, options);
      if (values.json) {
        io.stdout(
          JSON.stringify(
            result.ok
              ? { ok: true, target: describeTarget(conn.target), elapsedMs: Math.round(result.elapsedMs), ...result.info }
              : { ok: false, target: describeTarget(conn.target), elapsedMs: Math.round(result.elapsedMs), error: result.error },
            null,
            2,
          ),
        );
      } else if (result.ok) {
        const i = result.info;
        io.stdout(
          `Connected to ${describeTarget(conn.target)} in ${Math.round(result.elapsedMs)} ms\n` +
            `  server:     PostgreSQL ${i.serverVersion}\n  user:       ${i.currentUser}${i.superuser ? ' (superuser)' : ''}\n` +
            `  SSL:        ${i.ssl ? `on (${i.sslVersion ?? 'TLS'})` : 'off'}\n  table AMs:  ${i.tableAccessMethods.join(', ')}`,
        );
      } else {
        io.stderr(`${result.error.message}\n${result.error.hint}\n(${result.error.detail})`);
      }
      return result.ok ? 0 : 1;
    }

    const client = await connect(conn.target, options);
    try {
      const query: QueryFn = async <R extends Record<string, unknown>>(text: string, vals?: unknown[]) =>
        (await client.query<R>(text, vals)).rows;
      if (verb === 'databases') {
        const dbs = await listDatabases(query);
        io.stdout(
          values.json
            ? JSON.stringify(dbs, null, 2)
            : table(
                ['database', 'size', 'encoding', 'collate', 'ctype'],
                dbs.map((d) => [d.name, d.sizeBytes !== undefined ? formatBytes(d.sizeBytes) : '-', d.encoding, d.collate, d.ctype]),
              ),
        );
      } else if (verb === 'schemas') {
        const schemas = await listSchemas(query);
        io.stdout(
          values.json
            ? JSON.stringify(schemas, null, 2)
            : table(
                ['schema', 'owner', 'tables'],
                schemas.map((s) => [s.name, s.owner, String(s.tableCount)]),
              ),
        );
      } else {
        const schema = values.schema?.[0];
        if (!schema) throw new UsageError('tables needs --schema NAME.');
        const tables = await listTables(query, schema);
        io.stdout(
          values.json
            ? JSON.stringify(tables, null, 2)
            : table(
                ['table', 'kind', 'access method', 'est. rows', 'size'],
                flattenPartitions(tables).map(({ table: t, depth }) => [
                  `${'  '.repeat(depth)}${t.name}`,
                  t.kind + (t.unlogged ? ', unlogged' : ''),
                  t.accessMethod ?? '-',
                  t.estimatedRows !== undefined ? String(t.estimatedRows) : '?',
                  formatBytes(t.sizeBytes),
                ]),
              ),
        );
      }
      return 0;
    } finally {
      await client.end().catch(() => undefined);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`hydra-migrate: ${e.message}`);
      return 2;
    }
    if (e instanceof ConnectionError) {
      io.stderr(`${e.explained.message}\n${e.explained.hint}\n(${e.explained.detail})`);
      return 1;
    }
    io.stderr(`hydra-migrate: ${redact(e instanceof Error ? e.message : String(e), password)}`);
    return 2;
  }
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + (rows.length === 0 ? '\n(none)' : '');
}

/** Entry point when run as a program. */
export function run(): void {
  // On a terminal: a status line kept below the messages, cleared before each and drawn again after.
  let status = '';
  // A reader that stops early (`| head`) closes the pipe: the work goes on to its end (a migration cut
  // because nobody reads its output would leave a half-made target), only the output is dropped.
  let stdoutOpen = true;
  let stderrOpen = true;
  // Output lost for another reason than a reader gone (a full disk behind a redirection): the exit
  // code says so even when the work itself succeeded.
  let outputLost = false;
  const toStderr = (t: string): void => {
    if (stderrOpen) process.stderr.write(t);
  };
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    stdoutOpen = false;
    if (err.code === 'EPIPE') return;
    outputLost = true;
    toStderr(`hydra-migrate: cannot write the output (${err.message}); the work goes on\n`);
  });
  process.stderr.on('error', () => {
    stderrOpen = false;
  });
  main(process.argv.slice(2), {
    stdout: (t) => {
      if (status) toStderr(CLEAR_LINE);
      if (stdoutOpen) process.stdout.write(t + '\n');
      if (status) toStderr(status);
    },
    stderr: (t) => toStderr((status ? CLEAR_LINE : '') + t + '\n' + status),
    env: process.env,
    readStdin: () => readFileSync(0, 'utf8'),
    ...(process.stderr.isTTY
      ? {
          // Escaped (table names come from the servers) and cut to the terminal's width: a line that wraps cannot be cleared.
          status: (t: string) => {
            status = statusLine(t, process.stderr.columns || 80);
            toStderr(CLEAR_LINE + status);
          },
        }
      : {}),
  }).then(
    (code) => {
      // Ended, failed or cancelled: no status line left for the prompt to land on.
      if (status) toStderr(CLEAR_LINE);
      status = '';
      process.exitCode = code === 0 && outputLost ? 2 : code;
    },
    (e: unknown) => {
      toStderr(`hydra-migrate: unexpected failure: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
