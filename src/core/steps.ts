/**
 * The migration steps over the real tools: dump (pg_dump), restore (pg_restore), create the target
 * database, analyze (vacuumdb). Each builds an argv, runs it with the password only in the
 * environment, reports progress, and returns a result that never calls a failure a success.
 */
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, tmpdir } from 'node:os';
import { archiveSha256, archiveSize, groupRestoreErrors, parseToc, type RestoreErrorGroup, type Toc } from './archive.js';
import { quoteIdent } from './catalog.js';
import type { ConnectionTarget } from './connection.js';
import { explainConnectionError, redact, type ExplainedError } from './errors.js';
import { connect } from './pg.js';
import { displayCommand, runTool, type ToolRun } from './run.js';

export interface StepProgress {
  done: number;
  total: number;
  /** What is being worked on, e.g. a table name. */
  label?: string;
}

export interface StepCallbacks {
  signal?: AbortSignal;
  onLine?: (line: string) => void;
  onProgress?: (p: StepProgress) => void;
  /** Called once with the command line to show (password never included). */
  onCommand?: (command: string) => void;
}

export interface StepFailure {
  message: string;
  hint: string;
  /** Problem code (auth_failed, refused, not_an_archive, target_not_empty, ...). */
  problem: string;
}

export interface SideConnection {
  target: ConnectionTarget;
  password: string | undefined;
  /** The database to work on (default: the profile's). */
  database?: string;
}

function dbOf(c: SideConnection): string {
  return c.database ?? c.target.database;
}

/** libpq conninfo for --dbname that is safe for any database name (quotes, spaces, '=', unicode). */
export function conninfoDbname(name: string): string {
  return `dbname='${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The first explained connection/tool failure found in the tool's messages. */
function explainToolFailure(run: ToolRun, c: SideConnection | undefined): StepFailure {
  const errors = run.stderrLines.filter((l) => /error:|FATAL|fatal:/i.test(l));
  const text = (errors.length ? errors : run.stderrLines.slice(-5)).join('\n');
  const explained: ExplainedError = explainConnectionError({ message: text }, c ? {
    host: c.target.host, port: c.target.port, user: c.target.user, database: dbOf(c), password: c.password,
  } : {});
  if (explained.problem !== 'unknown') return { message: explained.message, hint: explained.hint, problem: explained.problem };
  return { message: redact(firstError(run) ?? `${run.argv[0]} exited with code ${run.exitCode}`, c?.password), hint: 'See the full output above.', problem: 'tool_failed' };
}

function firstError(run: ToolRun): string | undefined {
  return run.stderrLines.find((l) => /error:/.test(l))?.replace(/^\S+: error: /, '');
}

// ---------------------------------------------------------------------------------------------
// Dump

export interface DumpOptions extends StepCallbacks {
  source: SideConnection;
  pgDump: string;
  /** pg_restore, to verify the archive after the dump. */
  pgRestore: string;
  out: string;
  format: 'custom' | 'directory';
  /** Parallel jobs (directory format only). */
  jobs?: number;
  noOwner?: boolean;
  noAcl?: boolean;
  schemas?: string[];
  excludeSchemas?: string[];
  tables?: string[];
  excludeTables?: string[];
  /** 0-9 */
  compress?: number;
  /** Replace an existing archive at `out`. */
  overwrite?: boolean;
}

export interface ArchiveInfo {
  path: string;
  format: 'custom' | 'directory';
  sizeBytes: number;
  sha256: string;
  entries: number;
  toc: Toc;
}

export interface DumpResult {
  ok: boolean;
  cancelled: boolean;
  command: string;
  durationMs: number;
  exitCode?: number;
  archive?: ArchiveInfo;
  failure?: StepFailure;
  run?: ToolRun;
}

/**
 * gzip level 1 instead of pg_dump's default 6: measured on pgbench scale 20 (PG15 tools, 2 cores),
 * dump + restore took 4.2 s instead of 4.6 s for an archive 2% larger (5.5 vs 5.4 MB); level 0
 * was no faster and 34 times larger.
 */
export const DEFAULT_COMPRESSION = 1;

export function buildDumpArgs(o: Pick<DumpOptions, 'format' | 'jobs' | 'noOwner' | 'noAcl' | 'schemas' | 'excludeSchemas' | 'tables' | 'excludeTables' | 'compress'>, file: string): string[] {
  const args = ['--verbose', '--no-password', `--format=${o.format === 'directory' ? 'directory' : 'custom'}`, `--file=${file}`];
  if (o.format === 'directory' && o.jobs && o.jobs > 1) args.push(`--jobs=${o.jobs}`);
  if (o.noOwner) args.push('--no-owner');
  if (o.noAcl) args.push('--no-acl');
  for (const s of o.schemas ?? []) args.push(`--schema=${s}`);
  for (const s of o.excludeSchemas ?? []) args.push(`--exclude-schema=${s}`);
  for (const t of o.tables ?? []) args.push(`--table=${t}`);
  for (const t of o.excludeTables ?? []) args.push(`--exclude-table=${t}`);
  args.push(`--compress=${o.compress ?? DEFAULT_COMPRESSION}`);
  return args;
}

/** The default number of parallel jobs: the machine's cores, at most 8. */
export function defaultJobs(): number {
  return Math.max(1, Math.min(8, cpus().length));
}

/** Reads an archive's table of contents with pg_restore -l; explains files that are not archives. */
export async function readArchive(pgRestore: string, path: string, signal?: AbortSignal): Promise<{ toc: Toc } | { failure: StepFailure }> {
  if (!existsSync(path)) return { failure: { problem: 'archive_missing', message: `There is no archive at ${path}.`, hint: 'Check the path, or run the dump first.' } };
  const run = await runTool(pgRestore, ['--list', path], { captureStdout: true, ...(signal ? { signal } : {}) });
  if (run.exitCode !== 0) {
    const text = run.stderrLines.join('\n');
    if (/does not appear to be a valid archive|input file is too short|unsupported version|did not find magic string/.test(text)) {
      return { failure: { problem: 'not_an_archive', message: `${path} is not a pg_dump archive (custom or directory format).`, hint: 'Choose a file made by pg_dump -Fc or a directory made by pg_dump -Fd. Plain SQL dumps are restored with psql.' } };
    }
    if (/could not read from input file|end of file|unexpected end/i.test(text)) {
      return { failure: { problem: 'truncated_archive', message: `${path} is truncated: the archive ends before its table of contents does.`, hint: 'The dump or the copy did not finish. Dump again (or copy again) and compare the sha256.' } };
    }
    return { failure: { problem: 'archive_unreadable', message: `pg_restore could not read ${path}: ${firstError(run) ?? text.trim()}`, hint: 'Check the file and that pg_restore is at least as new as the pg_dump that wrote it.' } };
  }
  return { toc: parseToc(run.stdout) };
}

async function countTablesToDump(c: SideConnection, schemas: string[] | undefined, excluded: string[] | undefined): Promise<number | undefined> {
  try {
    const client = await connect(c.target, { password: c.password, database: dbOf(c), connectTimeoutSeconds: 10 });
    try {
      const { rows } = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
            AND (cardinality($1::text[]) = 0 OR n.nspname = ANY($1)) AND NOT (n.nspname = ANY($2))`,
        [schemas ?? [], excluded ?? []],
      );
      return Number(rows[0]?.n ?? 0);
    } finally {
      await client.end().catch(() => undefined);
    }
  } catch {
    return undefined; // pg_dump will report the connection problem itself
  }
}

export async function dump(o: DumpOptions): Promise<DumpResult> {
  const started = performance.now();
  const partial = `${o.out}.partial`;
  const args = buildDumpArgs(o, partial);
  const connection = { target: o.source.target, password: o.source.password, database: dbOf(o.source) };
  const command = displayCommand([o.pgDump, ...buildDumpArgs(o, o.out)], connection);
  o.onCommand?.(command);
  const fail = (failure: StepFailure, extra: Partial<DumpResult> = {}): DumpResult => ({ ok: false, cancelled: false, command, durationMs: performance.now() - started, failure, ...extra });

  if (existsSync(o.out) && !o.overwrite) {
    return fail({ problem: 'output_exists', message: `${o.out} exists already; it was left untouched.`, hint: 'Choose another output path, or allow overwriting it explicitly.' });
  }
  rmSync(partial, { recursive: true, force: true });
  const total = (await countTablesToDump(o.source, o.schemas, o.excludeSchemas)) ?? 0;
  let done = 0;
  o.onProgress?.({ done, total });
  const run = await runTool(o.pgDump, args, {
    connection,
    ...(o.signal ? { signal: o.signal } : {}),
    onLine: (line) => {
      o.onLine?.(line);
      const m = /dumping contents of table "(.+)"$/.exec(line) ?? /finished item \d+ TABLE DATA (.+)$/.exec(line);
      if (m) {
        done++;
        o.onProgress?.({ done: Math.min(done, total || done), total: Math.max(total, done), label: m[1]! });
      }
    },
  });
  const base = { run, durationMs: performance.now() - started, ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}) };
  if (run.cancelled || run.exitCode !== 0) {
    rmSync(partial, { recursive: true, force: true }); // never leave a partial archive that looks complete
    if (run.cancelled) return { ...fail({ problem: 'cancelled', message: 'The dump was cancelled; the partial archive was removed.', hint: 'Run the dump again when ready.' }, base), cancelled: true };
    return fail(explainToolFailure(run, o.source), base);
  }
  const verified = await readArchive(o.pgRestore, partial, o.signal);
  if ('failure' in verified) {
    rmSync(partial, { recursive: true, force: true });
    return fail({ ...verified.failure, message: `pg_dump finished but the archive does not read back: ${verified.failure.message}` }, base);
  }
  if (o.overwrite) rmSync(o.out, { recursive: true, force: true });
  renameSync(partial, o.out);
  const archive: ArchiveInfo = {
    path: o.out,
    format: o.format,
    sizeBytes: archiveSize(o.out),
    sha256: await archiveSha256(o.out),
    entries: verified.toc.entries.length,
    toc: verified.toc,
  };
  o.onProgress?.({ done: Math.max(total, done), total: Math.max(total, done) });
  return { ok: true, cancelled: false, command, archive, ...base, durationMs: performance.now() - started };
}

// ---------------------------------------------------------------------------------------------
// Target database state

export interface DatabaseContents {
  exists: boolean;
  /** User tables, views, sequences, functions... outside system schemas. */
  objects: number;
  /** Schemas other than public and system ones. */
  schemas: number;
}

export async function inspectDatabase(c: SideConnection): Promise<DatabaseContents> {
  let client;
  try {
    client = await connect(c.target, { password: c.password, database: dbOf(c), connectTimeoutSeconds: 10 });
  } catch (err) {
    const explained = (err as { explained?: ExplainedError }).explained;
    if (explained?.problem === 'database_missing') return { exists: false, objects: 0, schemas: 0 };
    throw err;
  }
  try {
    const { rows } = await client.query<{ objects: string; schemas: string }>(
      `SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
                  AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f'))
            + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')) AS objects,
              (SELECT count(*) FROM pg_namespace n WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'public') AND n.nspname NOT LIKE 'pg\\_%'
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')) AS schemas`,
    );
    return { exists: true, objects: Number(rows[0]?.objects ?? 0), schemas: Number(rows[0]?.schemas ?? 0) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Restore

export interface RestoreOptions extends StepCallbacks {
  target: SideConnection;
  pgRestore: string;
  archive: string;
  jobs?: number;
  noOwner?: boolean;
  noAcl?: boolean;
  noTableAccessMethod?: boolean;
  exitOnError?: boolean;
  singleTransaction?: boolean;
  /** A -L list file for a selective restore. */
  useList?: string;
  /** Restore only these schemas (a -L list is written from the archive's table of contents). */
  schemas?: string[];
  /** Called with the archive's table of contents once it has been read, before anything is restored. */
  onToc?: (toc: Toc) => void;
  /**
   * Restoring into a database that already holds objects duplicates rows and fails on every
   * object: refused unless this names exactly the target database.
   */
  confirmNonEmptyDatabase?: string;
}

export interface RestoreResult {
  ok: boolean;
  cancelled: boolean;
  command: string;
  durationMs: number;
  exitCode?: number;
  toc?: Toc;
  errors: RestoreErrorGroup[];
  errorCount: number;
  failure?: StepFailure;
  run?: ToolRun;
}

export function buildRestoreArgs(o: Pick<RestoreOptions, 'jobs' | 'noOwner' | 'noAcl' | 'noTableAccessMethod' | 'exitOnError' | 'singleTransaction' | 'useList' | 'archive'>, database: string): string[] {
  const args = ['--verbose', '--no-password', `--dbname=${conninfoDbname(database)}`];
  if (o.jobs && o.jobs > 1 && !o.singleTransaction) args.push(`--jobs=${o.jobs}`);
  if (o.noOwner) args.push('--no-owner');
  if (o.noAcl) args.push('--no-acl');
  if (o.noTableAccessMethod) args.push('--no-table-access-method');
  if (o.exitOnError) args.push('--exit-on-error');
  if (o.singleTransaction) args.push('--single-transaction');
  if (o.useList) args.push(`--use-list=${o.useList}`);
  args.push(o.archive);
  return args;
}

export async function restore(o: RestoreOptions): Promise<RestoreResult> {
  const started = performance.now();
  const database = dbOf(o.target);
  const connection = { target: o.target.target, password: o.target.password, database };
  const args = buildRestoreArgs(o, database);
  const command = displayCommand([o.pgRestore, ...args], connection);
  o.onCommand?.(command);
  const fail = (failure: StepFailure, extra: Partial<RestoreResult> = {}): RestoreResult => ({ ok: false, cancelled: false, command, durationMs: performance.now() - started, errors: [], errorCount: 0, failure, ...extra });

  const read = await readArchive(o.pgRestore, o.archive, o.signal);
  if ('failure' in read) return fail(read.failure);
  let listDir: string | undefined;
  if (o.schemas?.length) {
    const present = new Set(read.toc.entries.map((e) => e.schema));
    const absent = o.schemas.filter((s) => !present.has(s));
    if (absent.length) return fail({ problem: 'schema_not_in_archive', message: `The archive holds no schema named ${absent.map((a) => `"${a}"`).join(', ')}.`, hint: `Schemas in the archive: ${[...present].filter((s) => s !== '-').join(', ')}.` }, { toc: read.toc });
    listDir = mkdtempSync(join(tmpdir(), 'hm-list-'));
    const listFile = join(listDir, 'restore.list');
    writeFileSync(listFile, useListForSchemas(read.toc, o.schemas));
    args.splice(args.length - 1, 0, `--use-list=${listFile}`);
    read.toc = { ...read.toc, entries: parseToc(readFileSync(listFile, 'utf8')).entries };
  }
  try {
    return await restoreChecked(o, read.toc, args, database, connection, command, started, fail);
  } finally {
    if (listDir) rmSync(listDir, { recursive: true, force: true });
  }
}

async function restoreChecked(
  o: RestoreOptions, toc: Toc, args: string[], database: string, connection: { target: ConnectionTarget; password: string | undefined; database: string },
  command: string, started: number, fail: (failure: StepFailure, extra?: Partial<RestoreResult>) => RestoreResult,
): Promise<RestoreResult> {
  const read = { toc };
  o.onToc?.(toc);
  let contents: DatabaseContents;
  try {
    contents = await inspectDatabase(o.target);
  } catch (err) {
    const e = (err as { explained?: ExplainedError }).explained ?? explainConnectionError(err, { host: o.target.target.host, port: o.target.target.port, user: o.target.target.user, database, password: o.target.password });
    return fail({ problem: e.problem, message: e.message, hint: e.hint }, { toc: read.toc });
  }
  if (!contents.exists) {
    return fail({ problem: 'database_missing', message: `The target database "${database}" does not exist.`, hint: 'Create it first (Create Database… / hydra-migrate create-database), with the source\'s encoding and locale from template0.' }, { toc: read.toc });
  }
  if ((contents.objects > 0 || contents.schemas > 0) && o.confirmNonEmptyDatabase !== database) {
    return fail({
      problem: 'target_not_empty',
      message: `The target database "${database}" is not empty (${contents.objects} objects, ${contents.schemas} schemas); nothing was restored.`,
      hint: 'Restore into a new, empty database. Restoring on top of existing objects fails on each of them and duplicates the rows of tables without a primary key. To do it anyway, confirm this exact database name.',
    }, { toc: read.toc });
  }
  const total = read.toc.entries.length;
  let done = 0;
  o.onProgress?.({ done, total });
  const parallel = !!o.jobs && o.jobs > 1 && !o.singleTransaction;
  const run = await runTool(o.pgRestore, args, {
    connection,
    ...(o.signal ? { signal: o.signal } : {}),
    onLine: (line) => {
      o.onLine?.(line);
      const m = parallel
        ? /finished item \d+ (.+)$/.exec(line)
        : /^pg_restore: (?:creating|processing data for table|executing|processing item \d+) (.+)$/.exec(line);
      if (m) {
        done++;
        o.onProgress?.({ done: Math.min(done, total), total, label: m[1]! });
      }
    },
  });
  const grouped = groupRestoreErrors(run.stderrLines);
  const base = { run, toc: read.toc, errors: grouped.groups, errorCount: grouped.ignoredReported ?? grouped.total, durationMs: performance.now() - started, ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}) };
  if (run.cancelled) {
    return { ...fail({ problem: 'cancelled', message: `The restore was cancelled; "${database}" is partially restored.`, hint: `Drop and recreate "${database}" before restoring again.` }, base), cancelled: true };
  }
  if (run.exitCode !== 0 || grouped.total > 0) {
    if (grouped.total === 0) return fail(explainToolFailure(run, o.target), base);
    // The server went away (restart, crash, network): say that, not "N errors".
    const lost = run.stderrLines.find((l) => /server closed the connection unexpectedly|terminating connection|could not connect to server|connection to server .* failed|SSL SYSCALL error|no connection to the server/i.test(l));
    if (lost) {
      const e = explainToolFailure({ ...run, stderrLines: [lost] }, o.target);
      return fail({ problem: e.problem === 'tool_failed' ? 'server_closed' : e.problem, message: `The target server went away during the restore: ${e.message} "${database}" is partially restored.`, hint: `When the server is back, drop and recreate "${database}" and restore again.` }, base);
    }
    const first = grouped.groups[0]!;
    return fail({
      problem: 'restore_errors',
      message: `pg_restore reported ${base.errorCount} error(s); the restore is incomplete. ${first.title}.`,
      hint: first.fix,
    }, base);
  }
  o.onProgress?.({ done: total, total });
  return { ok: true, cancelled: false, command, ...base };
}

// ---------------------------------------------------------------------------------------------
// Create the target database

export interface DatabaseLocale {
  encoding: string;
  collate: string;
  ctype: string;
  /** 'libc' or 'icu' (PG15+). */
  provider?: string;
  icuLocale?: string;
}

/** Reads the encoding and locale of a database (for CREATE DATABASE ... like the source). */
export async function readDatabaseLocale(c: SideConnection): Promise<DatabaseLocale> {
  const client = await connect(c.target, { password: c.password, database: dbOf(c), connectTimeoutSeconds: 10 });
  try {
    const { rows } = await client.query<{ d: Record<string, unknown>; encoding: string }>(
      `SELECT to_jsonb(d) AS d, pg_encoding_to_char(d.encoding) AS encoding FROM pg_database d WHERE d.datname = current_database()`,
    );
    const d = rows[0]!.d;
    const locale: DatabaseLocale = { encoding: rows[0]!.encoding, collate: String(d.datcollate), ctype: String(d.datctype) };
    if (d.datlocprovider === 'i') {
      locale.provider = 'icu';
      const icu = d.daticulocale ?? d.datlocale;
      if (typeof icu === 'string') locale.icuLocale = icu;
    }
    return locale;
  } finally {
    await client.end().catch(() => undefined);
  }
}

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

export interface CreateDatabaseResult {
  ok: boolean;
  sql: string;
  failure?: StepFailure;
  alreadyExisted?: boolean;
}

/** Creates `name` on the target server (connecting to the maintenance database `postgres`). */
export async function createDatabase(server: SideConnection, name: string, locale: DatabaseLocale | undefined, options: { owner?: string; ifNotExists?: boolean } = {}): Promise<CreateDatabaseResult> {
  const sql = createDatabaseSql(name, locale, options.owner);
  let client;
  try {
    client = await connect(server.target, { password: server.password, database: server.database ?? 'postgres', connectTimeoutSeconds: 10 });
  } catch (err) {
    const e = (err as { explained?: ExplainedError }).explained;
    return { ok: false, sql, failure: e ? { problem: e.problem, message: e.message, hint: e.hint } : { problem: 'unknown', message: String(err), hint: '' } };
  }
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount) {
      if (options.ifNotExists) return { ok: true, sql, alreadyExisted: true };
      return { ok: false, sql, alreadyExisted: true, failure: { problem: 'database_exists', message: `The database "${name}" exists already on the target; it was left untouched.`, hint: 'Choose another name, or restore into it only if it is empty.' } };
    }
    await client.query(sql);
    return { ok: true, sql };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const code = (err as { code?: string }).code;
    if (code === '42501') return { ok: false, sql, failure: { problem: 'permission_denied', message: `User "${server.target.user}" may not create databases on the target.`, hint: 'Use a role with CREATEDB (managed services: the admin user), or have the database created for you.' } };
    if (/invalid locale name|collation.*not|locale.*not available|is incompatible with the encoding/i.test(message)) {
      return { ok: false, sql, failure: { problem: 'locale_unavailable', message: `The target server cannot create a database with this encoding/locale: ${message}`, hint: 'Install the locale on the target server, or choose a locale it has (e.g. C.UTF-8) knowing that sort order may change.' } };
    }
    return { ok: false, sql, failure: { problem: 'create_failed', message, hint: 'See the message from the server.' } };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Prepares a new target database with what the dump needs but does not carry: the roles that own
 * objects or hold grants on the source (created NOLOGIN, without passwords) and the source's
 * extensions (CREATE EXTENSION IF NOT EXISTS in the new database, when the target offers them).
 */
export async function prepareTarget(source: SideConnection, target: SideConnection, what: { roles?: boolean; extensions?: boolean }): Promise<{ created: string[]; skipped: string[]; failures: string[] }> {
  const { ownerAndGranteeRoles } = await import('./preflight.js');
  const out = { created: [] as string[], skipped: [] as string[], failures: [] as string[] };
  const src = await connect(source.target, { password: source.password, database: dbOf(source), connectTimeoutSeconds: 10 });
  try {
    if (what.roles) {
      const wanted = await ownerAndGranteeRoles(src);
      const admin = await connect(target.target, { password: target.password, database: dbOf(target), connectTimeoutSeconds: 10 });
      try {
        const existing = new Set((await admin.query<{ rolname: string }>('SELECT rolname FROM pg_roles')).rows.map((r) => r.rolname));
        for (const role of wanted) {
          if (existing.has(role)) continue;
          try {
            await admin.query(`CREATE ROLE ${quoteIdent(role)} NOLOGIN`);
            out.created.push(`role ${role} (NOLOGIN)`);
          } catch (err) {
            out.failures.push(`role ${role}: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      } finally {
        await admin.end().catch(() => undefined);
      }
    }
    if (what.extensions) {
      const exts = (await src.query<{ extname: string }>(`SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1`)).rows.map((r) => r.extname);
      const db = await connect(target.target, { password: target.password, database: dbOf(target), connectTimeoutSeconds: 10 });
      try {
        const available = new Set((await db.query<{ name: string }>('SELECT name FROM pg_available_extensions')).rows.map((r) => r.name));
        for (const ext of exts) {
          if (!available.has(ext)) {
            out.skipped.push(`extension ${ext} (not offered by the target server)`);
            continue;
          }
          try {
            await db.query(`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(ext)}`);
            out.created.push(`extension ${ext}`);
          } catch (err) {
            out.failures.push(`extension ${ext}: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      } finally {
        await db.end().catch(() => undefined);
      }
    }
  } finally {
    await src.end().catch(() => undefined);
  }
  return out;
}

/**
 * A pg_restore --use-list that keeps only the given schemas: their SCHEMA entries, everything
 * inside them, and the database-wide entries (extensions, access methods, large objects) they
 * may need.
 */
export function useListForSchemas(toc: Toc, schemas: string[]): string {
  const keep = new Set(schemas);
  const global = new Set(['EXTENSION', 'ACCESS METHOD', 'COLLATION', 'ENCODING', 'STDSTRINGS', 'SEARCHPATH', 'DATABASE PROPERTIES']);
  return toc.entries
    .filter((e) => keep.has(e.schema) || (e.desc === 'SCHEMA' && keep.has(e.tag)) || (e.schema === '-' && global.has(e.desc)) || (e.desc === 'COMMENT' && e.schema === '-' && /^(EXTENSION|SCHEMA) /.test(e.tag) && [...keep].some((k) => e.tag.endsWith(` ${k}`))))
    .map((e) => e.line)
    .join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Analyze

export async function analyze(o: StepCallbacks & { target: SideConnection; vacuumdb: string; jobs?: number }): Promise<{ ok: boolean; command: string; durationMs: number; failure?: StepFailure; cancelled: boolean }> {
  const database = dbOf(o.target);
  const args = ['--analyze-only', '--no-password', `--dbname=${conninfoDbname(database)}`];
  if (o.jobs && o.jobs > 1) args.push(`--jobs=${o.jobs}`);
  const connection = { target: o.target.target, password: o.target.password, database };
  const command = displayCommand([o.vacuumdb, ...args], connection);
  o.onCommand?.(command);
  const run = await runTool(o.vacuumdb, args, { connection, ...(o.signal ? { signal: o.signal } : {}), ...(o.onLine ? { onLine: o.onLine } : {}) });
  if (run.exitCode === 0 && !run.cancelled) return { ok: true, command, durationMs: run.durationMs, cancelled: false };
  return { ok: false, command, durationMs: run.durationMs, cancelled: run.cancelled, failure: run.cancelled ? { problem: 'cancelled', message: 'ANALYZE was cancelled.', hint: 'Run it again later; the data is complete.' } : explainToolFailure(run, o.target) };
}
