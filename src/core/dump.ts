/**
 * Dump: pg_dump into `OUT.partial`, read back with pg_restore -l, then renamed to OUT with its
 * size, sha256 and entry count. A failed or cancelled dump leaves nothing behind.
 */
import { DATA_FILE_SUFFIXES } from './archiveSizes.js';
import { chmodSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ByteProgress, TableEvents, watchCopies, type TableWeight } from './progress.js';
import { archiveSha256, archiveSize, readArchive, sha256File, type Toc } from './archive.js';
import { budgetedJobs, countTablesToDump, selectedTables } from './inspect.js';
import { displayCommand, runTool, type ToolRun } from './run.js';
import type { Side } from './side.js';
import { cancelledFailure, explainToolFailure, type StepCallbacks, type StepFailure } from './step.js';

export type ArchiveFormat = 'custom' | 'directory';

export interface DumpSelection {
  format: ArchiveFormat;
  /** Parallel jobs (directory format only). */
  jobs?: number;
  noOwner?: boolean;
  noAcl?: boolean;
  /** Exact schema names (quoted for pg_dump: case, spaces, dots, quotes and wildcards are literal). */
  schemas?: string[];
  excludeSchemas?: string[];
  /** Exact table names, `schema.table` (split at the first dot) or a bare name. */
  tables?: string[];
  excludeTables?: string[];
  /** pg_dump patterns as pg_dump reads them (case folding, `*` and `?` wildcards), for who wants them. */
  schemaPatterns?: string[];
  excludeSchemaPatterns?: string[];
  tablePatterns?: string[];
  excludeTablePatterns?: string[];
  /** 0-9 */
  compress?: number;
  /** How long pg_dump waits for a table lock another session holds (default 30 s), then fails. */
  lockWaitTimeoutSeconds?: number;
  /** The schema only, no data (the schema rehearsal). */
  schemaOnly?: boolean;
  /** Read the source as of this exported snapshot (pg_dump --snapshot), which a session holds. */
  snapshot?: string;
  noSubscriptions?: boolean;
}

/** Progress by bytes instead of tables: each table's size (see progress.ts). */
export interface ByteWeights {
  weights?: Map<string, TableWeight>;
}

export const DEFAULT_LOCK_WAIT_TIMEOUT_SECONDS = 30;

export interface DumpOptions extends StepCallbacks, DumpSelection, ByteWeights {
  source: Side;
  pgDump: string;
  /** pg_restore, to verify the archive after the dump. */
  pgRestore: string;
  out: string;
  /** Replace an existing archive at `out`. */
  overwrite?: boolean;
}

export interface ArchiveInfo {
  path: string;
  format: ArchiveFormat;
  sizeBytes: number;
  sha256: string;
  entries: number;
  toc: Toc;
}

interface DumpRun {
  cancelled: boolean;
  command: string;
  durationMs: number;
  exitCode?: number;
  run?: ToolRun;
}

export type DumpResult =
  | (DumpRun & { ok: true; archive: ArchiveInfo; failure?: undefined })
  | (DumpRun & { ok: false; failure: StepFailure; archive?: undefined });

/**
 * gzip level 1 instead of pg_dump's default 6: measured on pgbench scale 20 (PG15 tools, 2 cores),
 * dump + restore took 4.2 s instead of 4.6 s for an archive 2% larger (5.5 vs 5.4 MB); level 0
 * was no faster and 34 times larger.
 */
export const DEFAULT_COMPRESSION = 1;

/** pg_dump's arguments; without `file` it writes the archive (custom format) to its stdout. */
export function buildDumpArgs(o: DumpSelection, file?: string): string[] {
  const args = ['--verbose', '--no-password', `--format=${o.format === 'directory' ? 'directory' : 'custom'}`];
  if (file !== undefined) args.push(`--file=${file}`);
  if (o.format === 'directory' && o.jobs && o.jobs > 1) args.push(`--jobs=${o.jobs}`);
  if (o.schemaOnly) args.push('--schema-only');
  if (o.noSubscriptions) args.push('--no-subscriptions');
  if (o.noOwner) args.push('--no-owner');
  if (o.noAcl) args.push('--no-acl');
  for (const s of o.schemas ?? []) args.push(`--schema=${exactPattern(s)}`);
  for (const s of o.schemaPatterns ?? []) args.push(`--schema=${s}`);
  for (const s of o.excludeSchemas ?? []) args.push(`--exclude-schema=${exactPattern(s)}`);
  for (const s of o.excludeSchemaPatterns ?? []) args.push(`--exclude-schema=${s}`);
  for (const t of o.tables ?? []) args.push(`--table=${exactTablePattern(t)}`);
  for (const t of o.tablePatterns ?? []) args.push(`--table=${t}`);
  for (const t of o.excludeTables ?? []) args.push(`--exclude-table=${exactTablePattern(t)}`);
  for (const t of o.excludeTablePatterns ?? []) args.push(`--exclude-table=${t}`);
  // A schema or table asked for that matches nothing is an error, never silently dropped.
  if ([o.schemas, o.schemaPatterns, o.tables, o.tablePatterns].some((l) => l?.length)) args.push('--strict-names');
  if (o.snapshot) args.push(`--snapshot=${o.snapshot}`);
  args.push(`--compress=${o.compress ?? DEFAULT_COMPRESSION}`);
  args.push(`--lock-wait-timeout=${Math.round((o.lockWaitTimeoutSeconds ?? DEFAULT_LOCK_WAIT_TIMEOUT_SECONDS) * 1000)}`);
  return args;
}

/** Why pg_dump failed, in plain words; a table locked by another session is said so. */
export function explainDumpFailure(run: ToolRun, o: Pick<DumpOptions, 'source' | 'lockWaitTimeoutSeconds'>): StepFailure {
  // pg_dump enforces --lock-wait-timeout with a statement_timeout around LOCK TABLE.
  const locked = run.stderrLines.find((l) => /lock timeout|could not obtain lock|canceling statement due to statement timeout/i.test(l));
  if (!locked) return explainToolFailure(run, o.source);
  return {
    problem: 'lock_timeout',
    message: `A source table is locked by another session; pg_dump waited ${o.lockWaitTimeoutSeconds ?? DEFAULT_LOCK_WAIT_TIMEOUT_SECONDS} s and gave up: ${locked.replace(/^pg_dump: (error|detail): /, '')}. The partial archive was removed.`,
    hint: 'Find the session holding the lock (pg_locks, pg_stat_activity) or dump when it is released; or wait longer (--lock-wait-timeout / hydraMigrate.lockWaitTimeoutSeconds).',
  };
}

/** Splits `schema.table` at the first dot; undefined for a bare name. */
function qualified(name: string): [string, string] | undefined {
  const dot = name.indexOf('.');
  return dot < 0 ? undefined : [name.slice(0, dot), name.slice(dot + 1)];
}

/**
 * After a dump of chosen schemas or tables (exact names): the tables of the source that the
 * selection holds but the archive does not. The archive's listing prints names unquoted, so an
 * entry is matched by the text that follows its kind ("TABLE <schema> <name> <owner>").
 */
async function missingFromArchive(o: DumpOptions, toc: Toc): Promise<string[]> {
  const tables = (o.tables ?? []).map(qualified);
  if (!o.schemas?.length && !tables.length) return [];
  // Patterns are pg_dump's to resolve: only exact-name selections are checked.
  if ([o.schemaPatterns, o.excludeSchemaPatterns, o.tablePatterns, o.excludeTablePatterns].some((l) => l?.length)) return [];
  // A bare table name (to include or exclude): pg_dump resolves it by search_path.
  if (tables.some((t) => t === undefined) || (o.excludeTables ?? []).some((t) => qualified(t) === undefined)) return [];
  // With tables named, pg_dump dumps exactly those (-t makes -n/-N have no effect).
  const expected = await selectedTables(o.source, {
    ...(o.schemas?.length && !tables.length ? { schemas: o.schemas } : {}),
    ...(o.excludeSchemas?.length && !tables.length ? { excludeSchemas: o.excludeSchemas } : {}),
    ...(tables.length ? { tables: tables as Array<[string, string]> } : {}),
    excludeTables: (o.excludeTables ?? []).map(qualified).filter((t): t is [string, string] => t !== undefined),
  }).catch(() => undefined);
  if (!expected) return []; // the source cannot be asked now; pg_dump --strict-names has checked the names
  const listed = toc.entries.filter((e) => e.desc === 'TABLE').map((e) => e.line.slice(e.line.indexOf(' TABLE ') + 7));
  return expected.filter(([s, n]) => !listed.some((l) => l === `${s} ${n}` || l.startsWith(`${s} ${n} `))).map(([s, n]) => `${s}.${n}`);
}

/**
 * pg_dump -j N holds N + 1 connections to the source: at most half of its free ones (a live
 * source serves its application too). Says so in the output when it lowers the jobs.
 */
async function jobsWithinBudget(o: DumpOptions): Promise<DumpOptions> {
  if (o.format !== 'directory' || !o.jobs || o.jobs <= 1) return o;
  return { ...o, jobs: await budgetedJobs(o.source, o.jobs, 1, o.onLine) };
}

/** A pg_dump pattern that matches exactly this name: inside double quotes everything is literal. */
export function exactPattern(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `schema.table` (split at the first dot) or a bare table name, as an exact pattern. */
export function exactTablePattern(name: string): string {
  const dot = name.indexOf('.');
  return dot < 0 ? exactPattern(name) : `${exactPattern(name.slice(0, dot))}.${exactPattern(name.slice(dot + 1))}`;
}

/** The table a pg_dump --verbose line starts or finishes dumping, if it is such a line. */
export function dumpedTable(line: string, parallel = false): string | undefined {
  // With --jobs pg_dump prints both lines for every table: count only the finished ones.
  return (parallel ? /finished item \d+ TABLE DATA (.+)$/ : /dumping contents of table "(.+)"$/).exec(line)?.[1];
}

/**
 * An archive holds every row of the database: only its owner may read it. The folder it goes into
 * is created 0700; a custom-format file is created 0600 before pg_dump writes into it (pg_dump
 * keeps the mode of a file it truncates); pg_dump creates a directory archive 0700 itself.
 */
export function preparePrivateOutput(out: string, partial: string, format: ArchiveFormat): void {
  privateFolder(dirname(out));
  if (format === 'custom') writeFileSync(partial, '', { mode: 0o600 });
}

/** Creates a folder for archives (and its missing parents) readable by its owner only. */
export function privateFolder(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
}

/** Every file of an archive 0600, a directory archive 0700. */
export function makePrivate(path: string): void {
  if (statSync(path).isDirectory()) {
    chmodSync(path, 0o700);
    for (const f of readdirSync(path)) chmodSync(join(path, f), 0o600);
  } else {
    chmodSync(path, 0o600);
  }
}

export async function dump(options: DumpOptions): Promise<DumpResult> {
  const started = performance.now();
  const o = await jobsWithinBudget(options);
  const partial = `${o.out}.partial`;
  const args = buildDumpArgs(o, partial);
  const command = displayCommand([o.pgDump, ...buildDumpArgs(o, o.out)], o.source);
  o.onCommand?.(command);
  const fail = (failure: StepFailure, extra: Partial<DumpRun> = {}): DumpResult => ({
    ok: false,
    cancelled: false,
    command,
    durationMs: performance.now() - started,
    failure,
    ...extra,
  });

  if (existsSync(o.out) && !o.overwrite) {
    return fail({
      problem: 'output_exists',
      message: `${o.out} exists already; it was left untouched.`,
      hint: 'Choose another output path, or allow overwriting it explicitly.',
    });
  }
  rmSync(partial, { recursive: true, force: true });
  preparePrivateOutput(o.out, partial, o.format);
  // Counted only for progress by entries (without the tables' sizes); after the budget, which must not see this session.
  const total = (o.weights && o.onProgress ? undefined : await countTablesToDump(o.source, o.schemas, o.excludeSchemas)) ?? 0;
  let done = 0;
  let shownTotal = total;
  o.onProgress?.({ done, total });
  const parallel = o.format === 'directory' && !!o.jobs && o.jobs > 1;
  // A parallel dump reports each table's data file finished (written and closed): hashed then,
  // while the other tables are still dumping, rather than all at the end.
  const sums = new Map<string, Promise<string | undefined>>();
  const hashFinished = (line: string): void => {
    const id = /finished item (\d+) TABLE DATA /.exec(line)?.[1];
    if (!id) return;
    // One data file per table; its suffix says its compression (none, gzip, lz4, zstd): the first found is it.
    const name = DATA_FILE_SUFFIXES.map((x) => `${id}.dat${x}`).find((n) => existsSync(join(partial, n)));
    if (name)
      sums.set(
        name,
        sha256File(join(partial, name)).catch(() => undefined),
      );
  };
  const bytes = o.weights && o.onProgress ? new ByteProgress('dump', o.weights, o.onProgress) : undefined;
  const tables = bytes ? new TableEvents(bytes, parallel) : undefined;
  const watcher = bytes ? watchCopies(o.source, (sample) => bytes.sample(sample)) : undefined;
  const run = await runTool(o.pgDump, args, {
    connection: o.source,
    ...(o.signal ? { signal: o.signal } : {}),
    onLine: (line) => {
      o.onLine?.(line);
      if (parallel) hashFinished(line);
      if (tables) return tables.line(line);
      const table = dumpedTable(line, parallel);
      if (table !== undefined) {
        done++;
        // Never backwards: the total only grows when more tables come than were counted.
        shownTotal = Math.max(shownTotal, done);
        o.onProgress?.({ done, total: shownTotal, label: table });
      }
    },
  });
  await watcher?.stop();
  const known = new Map<string, string>();
  for (const [name, sum] of sums) {
    const hex = await sum;
    if (hex) known.set(name, hex);
  }
  const base = { run, durationMs: performance.now() - started, ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}) };
  if (run.cancelled || run.exitCode !== 0) {
    rmSync(partial, { recursive: true, force: true }); // never leave a partial archive that looks complete
    if (run.cancelled) {
      return fail(cancelledFailure('The dump was cancelled; the partial archive was removed.', 'Run the dump again when ready.'), {
        ...base,
        cancelled: true,
      });
    }
    return fail(explainDumpFailure(run, o), base);
  }
  const verified = await readArchive(o.pgRestore, partial, o.signal);
  if (!verified.ok) {
    rmSync(partial, { recursive: true, force: true });
    return fail({ ...verified.failure, message: `pg_dump finished but the archive does not read back: ${verified.failure.message}` }, base);
  }
  const missing = await missingFromArchive(o, verified.value);
  if (missing.length) {
    rmSync(partial, { recursive: true, force: true });
    return fail(
      {
        problem: 'incomplete_archive',
        message: `The archive lacks ${missing.length} table(s) of the selection: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}. It was removed.`,
        hint: 'Check the schema and table names (they are exact names, case and spaces included), and that the source user can read these tables.',
      },
      base,
    );
  }
  if (o.overwrite) rmSync(o.out, { recursive: true, force: true });
  makePrivate(partial);
  renameSync(partial, o.out);
  const archive: ArchiveInfo = {
    path: o.out,
    format: o.format,
    sizeBytes: archiveSize(o.out),
    sha256: await archiveSha256(o.out, known),
    entries: verified.value.entries.length,
    toc: verified.value,
  };
  if (bytes) bytes.finish();
  else o.onProgress?.({ done: Math.max(total, done), total: Math.max(total, done) });
  return { ok: true, cancelled: false, command, archive, ...base, durationMs: performance.now() - started };
}

/** The archive's record without its table of contents (a step's record, a report). */
export function withoutToc(archive: ArchiveInfo): Omit<ArchiveInfo, 'toc'> {
  const { toc: _toc, ...rest } = archive;
  return rest;
}
