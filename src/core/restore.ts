/**
 * Restore: pg_restore into an empty target database (refused otherwise unless that exact name is
 * confirmed), progress from the table of contents, every error grouped by cause; a restore that
 * reported errors is a failure, never a success.
 */
import { firstDataStatement, planResume, type ResumeDecision } from './resume.js';
import { archiveWeights } from './archiveSizes.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupRestoreErrors, readArchive, type RestoreErrorGroup, type Toc } from './archive.js';
import { entriesForSchemas, schemasInArchive, useListForSchemas } from './restoreList.js';
import { budgetedJobs, inspectDatabase, type DatabaseContents } from './inspect.js';
import { ByteProgress, TableEvents, watchCopies, type TableWeight } from './progress.js';
import { displayCommand, runTool, type ToolRun } from './run.js';
import type { ByteWeights } from './dump.js';
import { onDatabase, sideDatabase, withSide, type Side } from './side.js';
import {
  cancelledFailure,
  conninfoDbname,
  explainSideError,
  explainToolFailure,
  failureOf,
  type StepCallbacks,
  type StepFailure,
  type StepProgress,
} from './step.js';

export interface RestoreFlags {
  jobs?: number;
  noOwner?: boolean;
  noAcl?: boolean;
  noTableAccessMethod?: boolean;
  exitOnError?: boolean;
  singleTransaction?: boolean;
  /** A -L list file for a selective restore. */
  useList?: string;
  /** Only these sections (pg_restore --section); all by default. */
  sections?: Array<'pre-data' | 'data' | 'post-data'>;
}

export interface RestoreOptions extends StepCallbacks, RestoreFlags, ByteWeights {
  /** With weights: the bytes of the indexes and constraints it builds after the data (shared out over those entries). */
  indexBytes?: number;
  target: Side;
  pgRestore: string;
  archive: string;
  /** Restore only these schemas (a -L list is written from the archive's table of contents). */
  schemas?: string[];
  /** Called with the archive's table of contents once it has been read, before anything is restored. */
  onToc?: (toc: Toc) => void;
  /**
   * Restoring into a database that already holds objects duplicates rows and fails on every
   * object: refused unless this names exactly the target database.
   */
  confirmNonEmptyDatabase?: string;
  /** Settings of the restore sessions (given to pg_restore through PGOPTIONS). */
  restoreSettings?: Record<string, string>;
  /** Go on with an interrupted restore into this database: only what is left (see resume.ts). */
  resume?: boolean;
}

interface RestoreRun {
  cancelled: boolean;
  command: string;
  durationMs: number;
  exitCode?: number;
  toc?: Toc;
  errors: RestoreErrorGroup[];
  errorCount: number;
  run?: ToolRun;
}

export type RestoreResult = (RestoreRun & { ok: true; failure?: undefined }) | (RestoreRun & { ok: false; failure: StepFailure });

/** pg_restore's arguments; without `archive` it reads the archive from its stdin (a streamed migration). */
export function buildRestoreArgs(o: RestoreFlags & { archive?: string }, database: string): string[] {
  const args = ['--verbose', '--no-password', `--dbname=${conninfoDbname(database)}`];
  if (o.jobs && o.jobs > 1 && !o.singleTransaction) args.push(`--jobs=${o.jobs}`);
  if (o.noOwner) args.push('--no-owner');
  if (o.noAcl) args.push('--no-acl');
  if (o.noTableAccessMethod) args.push('--no-table-access-method');
  if (o.exitOnError) args.push('--exit-on-error');
  if (o.singleTransaction) args.push('--single-transaction');
  if (o.useList) args.push(`--use-list=${o.useList}`);
  for (const section of o.sections ?? []) args.push(`--section=${section}`);
  if (o.archive !== undefined) args.push(o.archive);
  return args;
}

export { entriesForSchemas, schemasInArchive, useListForSchemas };

/** A failed restore's result: what ran, since when, why (and what was known by then). */
export function restoreFailure(command: string, started: number) {
  return (failure: StepFailure, extra: Partial<RestoreRun> = {}): RestoreResult => ({
    ok: false,
    cancelled: false,
    command,
    durationMs: performance.now() - started,
    errors: [],
    errorCount: 0,
    failure,
    ...extra,
  });
}

/** PGOPTIONS for the restore sessions: the caller's own PGOPTIONS first, ours after. */
export function restoreEnvironment(settings: Record<string, string> | undefined): Record<string, string> {
  const ours = Object.entries(settings ?? {}).map(([k, v]) => `-c ${k}=${v}`);
  if (!ours.length) return {};
  return { PGOPTIONS: [process.env.PGOPTIONS, ...ours].filter(Boolean).join(' ') };
}

/** The entry a pg_restore --verbose line reports as started (serial) or finished (parallel). */
/** pg_restore --verbose building an index or constraint: with one job "creating INDEX …", with jobs "finished item N INDEX …". */
const POST_DATA_CREATING = /^pg_restore: creating (?:INDEX|CONSTRAINT|FK CONSTRAINT|INDEX ATTACH) /;
const POST_DATA_FINISHED = /finished item \d+ (?:INDEX|CONSTRAINT|FK CONSTRAINT|INDEX ATTACH) /;

/** Progress by bytes for a restore: the archive's tables weighed by the source's sizes, the indexes shared out over their entries. */
function byteProgressOf(
  weights: Map<string, TableWeight>,
  toc: Toc,
  indexBytes: number,
  onProgress: (p: StepProgress) => void,
): { progress: ByteProgress; byId: Map<number, string>; perIndex: number } {
  const byId = new Map<number, string>();
  const inArchive = new Map<string, TableWeight>();
  for (const e of toc.entries) {
    if (e.desc !== 'TABLE DATA') continue;
    const name = `${e.schema}.${e.tag}`;
    byId.set(e.dumpId, name);
    inArchive.set(name, weights.get(name) ?? { name, bytes: 0, rows: 0 });
  }
  const builds = toc.entries.filter((e) => /^(?:INDEX|CONSTRAINT|FK CONSTRAINT|INDEX ATTACH)$/.test(e.desc)).length;
  const extra = builds ? indexBytes : 0;
  return { progress: new ByteProgress('restore', inArchive, onProgress, extra), byId, perIndex: builds ? extra / builds : 0 };
}

export function restoredEntry(line: string, parallel: boolean): string | undefined {
  const m = parallel
    ? /finished item \d+ (.+)$/.exec(line)
    : /^pg_restore: (?:creating|processing data for table|executing|processing item \d+) (.+)$/.exec(line);
  return m?.[1];
}

const SERVER_GONE =
  /server closed the connection unexpectedly|terminating connection|could not connect to server|connection to server .* failed|SSL SYSCALL error|no connection to the server/i;

export async function restore(options: RestoreOptions): Promise<RestoreResult> {
  const started = performance.now();
  // The archive's list is read while the jobs are budgeted (no connection: the budget sees only others' sessions).
  const reading = readArchive(options.pgRestore, options.archive, options.signal);
  reading.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
  const o = await restoreJobsWithinBudget(options);
  const database = sideDatabase(o.target);
  const args = buildRestoreArgs(o, database);
  const command = displayCommand([o.pgRestore, ...args], o.target);
  o.onCommand?.(command);
  const fail = restoreFailure(command, started);

  const read = await reading;
  if (!read.ok) return fail(read.failure);
  let toc = read.value;
  let listDir: string | undefined;
  if (o.schemas?.length) {
    const present = schemasInArchive(toc);
    const absent = o.schemas.filter((s) => !present.has(s));
    if (absent.length) {
      return fail(
        {
          problem: 'schema_not_in_archive',
          message: `The archive holds no schema named ${absent.map((a) => `"${a}"`).join(', ')}.`,
          hint: `Schemas in the archive: ${[...present].filter((s) => s !== '-').join(', ')}.`,
        },
        { toc },
      );
    }
    listDir = mkdtempSync(join(tmpdir(), 'hm-list-'));
    const listFile = join(listDir, 'restore.list');
    writeFileSync(listFile, useListForSchemas(toc, o.schemas));
    args.splice(args.length - 1, 0, `--use-list=${listFile}`);
    toc = { ...toc, entries: entriesForSchemas(toc, o.schemas) };
  }
  try {
    if (o.resume) {
      // Going on in a database that holds data: only the one named (an interrupted restore's), and never in one transaction.
      if (o.confirmNonEmptyDatabase !== database)
        return fail(
          {
            problem: 'target_not_empty',
            message: `Resuming goes on in "${database}" as it is (its empty tables are loaded, its sequences set): confirm this exact database name.`,
            hint: `hydra-migrate restore --resume --confirm-non-empty ${database}`,
          },
          { toc },
        );
      if (o.singleTransaction)
        return fail(
          { problem: 'not_resumable', message: 'A restore in one transaction left nothing to resume: restore it again.', hint: '' },
          { toc },
        );
      let decision: ResumeDecision;
      try {
        decision = await withSide(o.target, (c) => planResume(c, toc, (e) => firstDataStatement(o.pgRestore, o.archive, e)));
      } catch (err) {
        return fail(failureOf(explainSideError(err, o.target)), { toc });
      }
      if (!decision.ok) return fail({ problem: 'not_resumable', message: decision.reason, hint: 'Nothing was restored.' }, { toc });
      const p = decision.plan;
      o.onLine?.(
        `resume: ${p.loaded.length} table(s) loaded already, ${p.toLoad.length} to load${p.toLoad.length ? ` (${p.toLoad.slice(0, 5).join(', ')}${p.toLoad.length > 5 ? ', …' : ''})` : ''}, ${p.built} index(es) and constraint(s) built already; ${p.entries.length} entries left`,
      );
      listDir ??= mkdtempSync(join(tmpdir(), 'hm-list-'));
      const listFile = join(listDir, 'resume.list');
      writeFileSync(listFile, p.entries.map((e) => e.line).join('\n') + '\n');
      const at = args.findIndex((x) => x.startsWith('--use-list='));
      if (at >= 0) args.splice(at, 1);
      args.splice(args.length - 1, 0, `--use-list=${listFile}`);
      toc = { ...toc, entries: p.entries };
      o.onToc?.(toc);
      return await runRestore(o, toc, args, command, started, fail);
    }
    o.onToc?.(toc);
    let contents: DatabaseContents;
    try {
      contents = await inspectDatabase(o.target);
    } catch (err) {
      return fail(failureOf(explainSideError(err, o.target)), { toc });
    }
    const refused = refuseTarget(contents, database, o.confirmNonEmptyDatabase);
    if (refused) return fail(refused, { toc });
    return await runRestore(o, toc, args, command, started, fail);
  } finally {
    if (listDir) rmSync(listDir, { recursive: true, force: true });
  }
}

/** pg_restore -j N holds N connections to the target: at most half of its free ones. */
export async function restoreJobsWithinBudget<T extends Pick<RestoreOptions, 'jobs' | 'singleTransaction' | 'target' | 'onLine'>>(
  o: T,
): Promise<T> {
  if (!o.jobs || o.jobs <= 1 || o.singleTransaction) return o;
  return { ...o, jobs: await budgetedJobs(onDatabase(o.target, 'postgres'), o.jobs, 0, o.onLine) };
}

/** Why the target database must not be restored into, or undefined when it may. */
export function refuseTarget(contents: DatabaseContents, database: string, confirmed: string | undefined): StepFailure | undefined {
  if (!contents.exists) {
    return {
      problem: 'database_missing',
      message: `The target database "${database}" does not exist.`,
      hint: "Create it first (Create Database… / hydra-migrate create-database), with the source's encoding and locale from template0.",
    };
  }
  if ((contents.objects > 0 || contents.schemas > 0) && confirmed !== database) {
    return {
      problem: 'target_not_empty',
      message: `The target database "${database}" is not empty (${contents.objects} objects, ${contents.schemas} schemas); nothing was restored.`,
      hint:
        'Restore into a new, empty database. Restoring on top of existing objects fails on each of them and duplicates the rows of ' +
        'tables without a primary key. To do it anyway, confirm this exact database name.',
    };
  }
  return undefined;
}

async function runRestore(
  o: RestoreOptions,
  toc: Toc,
  args: string[],
  command: string,
  started: number,
  fail: (failure: StepFailure, extra?: Partial<RestoreRun>) => RestoreResult,
): Promise<RestoreResult> {
  const total = toc.entries.length;
  let done = 0;
  const parallel = !!o.jobs && o.jobs > 1 && !o.singleTransaction;
  // By bytes: the source's sizes when given, else the archive's own (see archiveSizes.ts).
  const fromArchive = !o.weights && o.onProgress ? archiveWeights(o.archive, toc) : undefined;
  const weights = o.weights ?? fromArchive?.weights;
  const indexBytes = o.weights ? (o.indexBytes ?? 0) : (fromArchive?.indexBytes ?? 0);
  const bytes = weights && o.onProgress ? byteProgressOf(weights, toc, indexBytes, o.onProgress) : undefined;
  const tables = bytes ? new TableEvents(bytes.progress, parallel, bytes.byId) : undefined;
  const watcher = bytes ? watchCopies(o.target, (sample) => bytes.progress.sample(sample)) : undefined;
  if (!bytes) o.onProgress?.({ done, total });
  const run = await runTool(o.pgRestore, args, {
    connection: o.target,
    env: restoreEnvironment(o.restoreSettings),
    ...(o.signal ? { signal: o.signal } : {}),
    onLine: (line) => {
      o.onLine?.(line);
      const entry = restoredEntry(line, parallel);
      if (bytes && tables) {
        tables.line(line);
        // An index or constraint built: its share of the indexes' bytes (jobs: the "finished" line only, each is also "created").
        if ((parallel ? POST_DATA_FINISHED : POST_DATA_CREATING).test(line)) bytes.progress.extraDone(bytes.perIndex);
        return;
      }
      if (entry !== undefined) {
        done++;
        o.onProgress?.({ done: Math.min(done, total), total, label: entry });
      }
    },
  });
  await watcher?.stop();
  const outcome = restoreOutcome(o.target, run, toc, command, started, fail);
  if (outcome.ok) {
    if (bytes) bytes.progress.finish();
    else o.onProgress?.({ done: total, total });
  }
  return outcome;
}

/**
 * A restore's verdict from what pg_restore wrote (one run, or the runs of a streamed migration
 * merged): cancelled, ok only with no error at all, the server gone, or the errors grouped.
 */
export function restoreOutcome(
  target: Side,
  run: ToolRun,
  toc: Toc,
  command: string,
  started: number,
  fail: (failure: StepFailure, extra?: Partial<RestoreRun>) => RestoreResult,
): RestoreResult {
  const database = sideDatabase(target);
  const grouped = groupRestoreErrors(run.stderrLines);
  const base = {
    run,
    toc,
    errors: grouped.groups,
    errorCount: grouped.ignoredReported ?? grouped.total,
    durationMs: performance.now() - started,
    ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}),
  };
  if (run.cancelled) {
    const failure = cancelledFailure(
      `The restore was cancelled; "${database}" is partially restored.`,
      `Drop and recreate "${database}" before restoring again.`,
    );
    return fail(failure, { ...base, cancelled: true });
  }
  if (run.exitCode === 0 && grouped.total === 0) return { ok: true, cancelled: false, command, ...base };
  if (grouped.total === 0) return fail(explainToolFailure(run, target), base);
  // The server went away (restart, crash, network): say that, not "N errors".
  const lost = run.stderrLines.find((l) => SERVER_GONE.test(l));
  if (lost) {
    const e = explainToolFailure({ ...run, stderrLines: [lost] }, target);
    return fail(
      {
        problem: e.problem === 'tool_failed' ? 'server_closed' : e.problem,
        message: `The target server went away during the restore: ${e.message} "${database}" is partially restored.`,
        hint: `When the server is back, drop and recreate "${database}" and restore again.`,
      },
      base,
    );
  }
  const first = grouped.groups[0]!;
  return fail(
    {
      problem: 'restore_errors',
      message: `pg_restore reported ${base.errorCount} error(s); the restore is incomplete. ${first.title}.`,
      hint: first.fix,
    },
    base,
  );
}
