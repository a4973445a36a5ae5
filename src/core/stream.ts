/**
 * A streamed migration. Phase 1: pg_dump writes a custom-format archive to a pipe; every byte goes
 * to the archive file (its sha256 computed on the way) and into pg_restore --section=pre-data
 * --section=data at the same time, so the load runs while the dump does. Phase 2: the indexes,
 * constraints and triggers from the finished archive, pg_restore --section=post-data -j N.
 * The archive is a custom-format file, read back and verified like a plain dump's and synced to
 * disk; written through a pipe it carries no data offsets, so pg_restore reads it front to back
 * (a selective or parallel data restore from it rescans the file). If the load fails the dump
 * still completes, so the archive is there to restore from.
 */
import { createHash } from 'node:crypto';
import { createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { drained, mergeRuns, outputExists, POST_DATA, syncToDisk } from './streamParts.js';
import { readArchive, type Toc } from './archive.js';
import {
  buildDumpArgs,
  explainDumpFailure,
  dumpedTable,
  makePrivate,
  preparePrivateOutput,
  type ArchiveInfo,
  type ByteWeights,
  type DumpResult,
} from './dump.js';
import { ByteProgress, TableEvents, watchCopies } from './progress.js';
import { countTablesToDump, inspectDatabase } from './inspect.js';
import {
  buildRestoreArgs,
  refuseTarget,
  restoreEnvironment,
  restoreFailure,
  restoreJobsWithinBudget,
  restoredEntry,
  restoreOutcome,
  type RestoreFlags,
  type RestoreResult,
} from './restore.js';
import { displayCommand, runTool, shellQuote, type ToolRun } from './run.js';
import { sideDatabase, type Side } from './side.js';
import { cancelledFailure, explainSideError, failureOf, type StepCallbacks, type StepFailure } from './step.js';
import { StreamSplit, type SplitOutcome, type SplitRequest } from './streamSplit.js';

export interface StreamOptions extends Pick<RestoreFlags, 'noOwner' | 'noAcl' | 'noTableAccessMethod'>, ByteWeights {
  source: Side;
  target: Side;
  pgDump: string;
  pgRestore: string;
  /** The archive file (custom format). */
  out: string;
  overwrite?: boolean;
  compress?: number;
  lockWaitTimeoutSeconds?: number;
  /** Read the source as of this exported snapshot (pg_dump --snapshot). */
  snapshot?: string;
  /** Jobs for phase 2 (indexes and constraints); 1: they are built in phase 1's own pass, no phase 2. */
  jobs: number;
  confirmNonEmptyDatabase?: string;
  /** Settings of the restore sessions (given to pg_restore through PGOPTIONS). */
  restoreSettings?: Record<string, string>;
  /** The dominant table whose rows N sessions load from the stream (pg_restore skips them). */
  split?: SplitRequest;
  /**
   * The target database being created by the caller meanwhile (new, so empty: not inspected):
   * pg_dump starts at once and reads the catalog while it is created; its bytes wait (the pipe
   * holds pg_dump) until this resolves true; false (not created) stops the dump and removes the partial archive.
   */
  targetReady?: Promise<boolean>;
  signal?: AbortSignal;
}

export interface StreamResult {
  dump: DumpResult;
  /** Phase 1's load, when the dump completed. */
  load?: StreamLoad;
  /** The load ran against the target (it may hold part of the data); false: the target was not touched. */
  touched?: boolean;
}

export interface StreamLoad {
  /** Phase 1's pg_restore. */
  run: ToolRun;
  command: string;
  toc: Toc;
  startedAt: number;
  /** The dominant table's parallel load, when the stream had it. */
  split?: SplitOutcome;
}

/** Phase 1: the dump, piped into the load and into the archive file. */
export async function streamDumpAndLoad(o: StreamOptions, dumpCb: StepCallbacks): Promise<StreamResult> {
  // Whatever goes wrong in here (a bug throwing), both tools are stopped and no partial archive stays.
  const guard = new AbortController();
  const forward = (): void => guard.abort();
  if (o.signal?.aborted) guard.abort();
  else o.signal?.addEventListener('abort', forward, { once: true });
  try {
    return await dumpAndLoad({ ...o, signal: guard.signal }, dumpCb);
  } catch (err) {
    guard.abort();
    rmSync(`${o.out}.partial`, { force: true });
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', forward);
  }
}

async function dumpAndLoad(o: StreamOptions, dumpCb: StepCallbacks): Promise<StreamResult> {
  const started = performance.now();
  const database = sideDatabase(o.target);
  const partial = `${o.out}.partial`;
  const dumpArgs = buildDumpArgs({
    format: 'custom',
    ...(o.noOwner ? { noOwner: true } : {}),
    ...(o.noAcl ? { noAcl: true } : {}),
    ...(o.compress !== undefined ? { compress: o.compress } : {}),
    ...(o.lockWaitTimeoutSeconds !== undefined ? { lockWaitTimeoutSeconds: o.lockWaitTimeoutSeconds } : {}),
    ...(o.snapshot ? { snapshot: o.snapshot } : {}),
  });
  const loadArgs = buildRestoreArgs(
    {
      ...o,
      archive: undefined,
      jobs: 1,
      ...(o.jobs > 1 || o.split ? { sections: ['pre-data', 'data'] as Array<'pre-data' | 'data'> } : {}),
    },
    database,
  );
  const env = restoreEnvironment(o.restoreSettings);
  const loadCommand = displayCommand([o.pgRestore, ...loadArgs], o.target);
  const splitNote = o.split
    ? `  # ${o.split.name}'s rows: ${o.split.sessions} COPY sessions fed from the stream (--use-list skips them)`
    : '';
  const command = `${displayCommand([o.pgDump, ...dumpArgs], o.source)} | tee ${shellQuote(o.out)} | ${env.PGOPTIONS ? `PGOPTIONS=${shellQuote(env.PGOPTIONS)} ` : ''}${loadCommand}${splitNote}`;
  dumpCb.onCommand?.(command);
  const fail = (failure: StepFailure, extra: { run?: ToolRun; cancelled?: boolean } = {}): { dump: DumpResult } => ({
    dump: { ok: false, cancelled: false, command, durationMs: performance.now() - started, failure, ...extra },
  });
  const exists = outputExists(o);
  if (exists) return fail(exists);
  // Tables are counted only for progress by entries (without the tables' sizes), while the target is looked at.
  const counting = o.weights && dumpCb.onProgress ? Promise.resolve(undefined) : countTablesToDump(o.source, undefined, undefined);
  if (!o.targetReady)
    try {
      const refused = refuseTarget(await inspectDatabase(o.target), database, o.confirmNonEmptyDatabase);
      if (refused) return fail(refused);
    } catch (err) {
      return fail(failureOf(explainSideError(err, o.target)));
    }
  rmSync(partial, { recursive: true, force: true });
  preparePrivateOutput(o.out, partial, 'custom');

  const total = (await counting) ?? 0;
  let done = 0;
  // By bytes when the tables' sizes are known: what the load has copied into the target (the slower side; the pipe keeps the dump just ahead).
  const bytes = o.weights && dumpCb.onProgress ? new ByteProgress('load', o.weights, dumpCb.onProgress) : undefined;
  const tables = bytes ? new TableEvents(bytes, false) : undefined;
  // Watches the target database's COPY progress: once it exists.
  let watcher: ReturnType<typeof watchCopies> | undefined;
  const watch = (): void => void (watcher = bytes ? watchCopies(o.target, (sample) => bytes.sample(sample)) : undefined);
  if (!o.targetReady) watch();
  if (!bytes) dumpCb.onProgress?.({ done, total });
  // One controller stops both tools: the user's cancel, or the archive file failing (disk full).
  const inner = new AbortController();
  const abort = (): void => inner.abort();
  if (o.signal?.aborted) abort();
  o.signal?.addEventListener('abort', abort, { once: true });
  let fileError: Error | undefined;
  let loadIn: Writable | undefined;
  const hash = createHash('sha256');
  const file = createWriteStream(partial, { flags: 'w', mode: 0o600 });
  file.on('error', (err) => {
    fileError ??= err;
    abort();
  });
  const split = o.split ? new StreamSplit(o.split, o.target, o.restoreSettings) : undefined;
  inner.signal.addEventListener('abort', () => void split?.abort(), { once: true });
  const pending: Buffer[] = [];
  const toLoad = (chunk: Buffer, waits: Array<Promise<void>>): void => {
    // A load that stopped (pg_restore gone) no longer takes bytes; the archive is still completed.
    if (loadIn && loadIn.writable && !loadIn.write(chunk)) waits.push(drained(loadIn));
  };
  // With the target still being created, the first bytes wait for it (and pg_dump for them). A target
  // that cannot be made stops pg_dump at once, wherever it is (reading the catalog, waiting on a lock).
  const stopped = new Promise<boolean>((resolve) => inner.signal.addEventListener('abort', () => resolve(false), { once: true }));
  let gate = o.targetReady && Promise.race([o.targetReady.catch(() => false), inner.signal.aborted ? false : stopped]);
  let targetMissing = false;
  void gate?.then((ready) => {
    if (ready || inner.signal.aborted) return;
    targetMissing = true;
    abort();
  });
  const tee = async (src: Readable): Promise<void> => {
    for await (const chunk of src as AsyncIterable<Buffer>) {
      if (gate) {
        const ready = await gate;
        gate = undefined;
        if (!ready || inner.signal.aborted) return; // stopped by the gate's own handler above, or the cancel
        watch();
        if (!split) await startLoad();
      }
      hash.update(chunk);
      const waits: Array<Promise<void>> = [];
      if (!fileError && !file.write(chunk)) waits.push(drained(file));
      if (split && !loading) {
        // With a parallel load, pg_restore starts once the table of contents has passed (its --use-list comes from it).
        pending.push(chunk);
        await split.push(chunk);
        if (split.decided) await startLoad(await split.list);
        for (const p of loading ? pending.splice(0) : []) toLoad(p, waits);
        if (split.active && loading) await split.push(Buffer.alloc(0));
      } else {
        toLoad(chunk, waits);
        if (split?.active) await split.push(chunk); // after pg_restore has the bytes: it must never wait on the sessions
      }
      if (waits.length) await Promise.all(waits);
    }
  };
  let teeDone: Promise<void> = Promise.resolve();
  let loadStarted: () => void = () => undefined;
  const loadReady = new Promise<void>((resolve) => (loadStarted = resolve));
  let loading: Promise<ToolRun> | undefined;
  const startLoad = async (list?: string): Promise<void> => {
    if (list && split)
      dumpCb.onLine?.(`${o.split!.name}: its rows go into the target through ${split.sessions} sessions at once, fed from the stream.`);
    loading = runTool(o.pgRestore, list ? [...loadArgs, `--use-list=${list}`] : loadArgs, {
      connection: o.target,
      env,
      signal: inner.signal,
      onStdin: (stdin) => {
        loadIn = stdin;
        stdin.on('error', () => undefined); // EPIPE when pg_restore has stopped: its own output says why
        loadStarted();
      },
      onLine: (line) => {
        dumpCb.onLine?.(line);
        tables?.line(line);
        // The schema is created before the first entry of the data section: the parallel sessions may COPY
        // (data entries, large objects, sequence values: each comes after the whole pre-data section).
        if (/^pg_restore: (processing|executing) /.test(line)) split?.schemaReady();
      },
    });
    void loading.then(
      () => split?.schemaReady(),
      () => undefined,
    );
    // pg_dump starts once pg_restore takes input (or could not start: then only the file is written, and the load's verdict says why).
    await Promise.race([loadReady, loading]);
  };
  if (!split && !o.targetReady) await startLoad();
  const run = await runTool(o.pgDump, dumpArgs, {
    connection: o.source,
    signal: inner.signal,
    onStdout: (stdout) => {
      teeDone = tee(stdout).catch((err: Error) => {
        fileError ??= err;
        abort(); // pg_dump must not block on a pipe nobody reads
      });
    },
    onLine: (line) => {
      dumpCb.onLine?.(line);
      const table = bytes ? undefined : dumpedTable(line);
      if (table !== undefined) dumpCb.onProgress?.({ done: ++done, total: Math.max(total, done), label: table });
    },
  });
  await teeDone;
  await new Promise<void>((resolve) => file.end(() => resolve()));
  // A stream that ended before its table of contents: pg_restore gets what there is (and says what is wrong);
  // not when the target is still being created or could not be (pg_dump wrote nothing, or was stopped for it).
  if (!loading && !gate && !targetMissing) await startLoad();
  for (const p of pending.splice(0)) toLoad(p, []);
  loadIn?.end();
  const splitDone = split?.active ? split.finish() : undefined;
  // The archive is read back while the load finishes (its indexes are built in the same pass).
  const reading = run.cancelled || fileError || run.exitCode !== 0 ? undefined : readArchive(o.pgRestore, partial, o.signal);
  reading?.catch(() => undefined); // awaited below, after the load
  const loadRun = loading ? await loading : undefined;
  const splitOutcome = await splitDone;
  await watcher?.stop();
  o.signal?.removeEventListener('abort', abort);

  const base = { run, ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}) };
  const failLoaded = (failure: StepFailure, extra: Parameters<typeof fail>[1] = {}): StreamResult => ({
    ...fail(failure, extra),
    touched: !!loadRun,
  });
  const partly = loadRun
    ? `"${database}" on the target is partly loaded: drop and recreate it before running again.`
    : `Nothing was loaded into "${database}".`;
  if (run.cancelled || fileError || run.exitCode !== 0 || !loadRun) {
    rmSync(partial, { force: true }); // never leave a partial archive that looks complete
    const stopped = 'The dump was stopped: the target database could not be created. The partial archive was removed.';
    if (targetMissing) return failLoaded(cancelledFailure(stopped, partly), { ...base, cancelled: true });
    if (fileError)
      return failLoaded({
        problem: /ENOSPC/.test(String((fileError as NodeJS.ErrnoException).code)) ? 'disk_full' : 'path',
        message: `The archive could not be written (${fileError.message}); the dump was stopped and the partial archive removed.`,
        hint: `Free space or choose another dump folder. ${partly}`,
      });
    if (run.cancelled)
      return failLoaded(cancelledFailure(`The migration was cancelled during the dump; the partial archive was removed.`, partly), {
        ...base,
        cancelled: true,
      });
    const failure = explainDumpFailure(run, o);
    return failLoaded({ ...failure, hint: `${failure.hint} ${partly}` }, base);
  }
  const read = await (reading ?? readArchive(o.pgRestore, partial, o.signal));
  if (!read.ok) {
    rmSync(partial, { force: true });
    return failLoaded(
      {
        ...read.failure,
        message: `pg_dump finished but the archive does not read back: ${read.failure.message}`,
        hint: `${read.failure.hint} ${partly}`,
      },
      base,
    );
  }
  if (o.overwrite) rmSync(o.out, { recursive: true, force: true });
  makePrivate(partial);
  syncToDisk(partial);
  renameSync(partial, o.out);
  syncToDisk(dirname(o.out));
  const archive: ArchiveInfo = {
    path: o.out,
    format: 'custom',
    sizeBytes: statSync(o.out).size,
    sha256: hash.digest('hex'),
    entries: read.value.entries.length,
    toc: read.value,
  };
  if (bytes) bytes.finish();
  else dumpCb.onProgress?.({ done: Math.max(total, done), total: Math.max(total, done) });
  return {
    dump: { ok: true, cancelled: false, command, archive, ...base, durationMs: performance.now() - started },
    load: { run: loadRun, command: loadCommand, toc: read.value, startedAt: started, ...(splitOutcome ? { split: splitOutcome } : {}) },
    touched: true,
  };
}

/** Phase 2: indexes, constraints and triggers from the archive, in parallel; the verdict covers both phases. */
export async function restorePostData(o: StreamOptions, load: StreamLoad, cb: StepCallbacks): Promise<RestoreResult> {
  const started = performance.now();
  const database = sideDatabase(o.target);
  const fail = (command: string) => restoreFailure(command, started);
  // The load stopped without finishing (its server went away, it was killed): nothing to build indexes on.
  const loadStopped = load.run.exitCode !== 0 && !load.run.stderrLines.some((l) => /errors ignored on restore: \d+/.test(l));
  if (load.split?.error && !load.run.cancelled)
    return fail(load.command)(
      {
        problem: 'restore_errors',
        message: `Loading ${load.split.table}'s rows with ${load.split.sessions} sessions failed: ${load.split.error}. ${load.split.partly ? `The table may hold part of its rows: empty it (TRUNCATE) before restoring or resuming` : 'None of its rows were kept (every session was rolled back)'}; the other tables were loaded.`,
        hint: `The archive is complete: drop and recreate "${database}" and migrate again, or restore the archive (pg_restore loads the table in one session).`,
      },
      { toc: load.toc },
    );
  if (load.split?.rows !== undefined)
    cb.onLine?.(
      `${load.split.table}: ${load.split.rows.toLocaleString('en-US')} rows loaded by ${load.split.sessions} sessions (${(load.split.perSession ?? []).map((n) => n.toLocaleString('en-US')).join(' + ')}).`,
    );
  // One pass (the load built the indexes), or a load that stopped: the load's own verdict is the restore's.
  // With a parallel load planned (active or not), the load took pre-data and data only: post-data always follows.
  if ((o.jobs <= 1 && !o.split) || loadStopped || load.run.cancelled) {
    const single = restoreOutcome(o.target, load.run, load.toc, load.command, started, fail(load.command));
    if (single.ok) cb.onProgress?.({ done: 1, total: 1 });
    return single;
  }
  const { jobs } = await restoreJobsWithinBudget({ jobs: o.jobs, target: o.target, ...(cb.onLine ? { onLine: cb.onLine } : {}) });
  const args = buildRestoreArgs({ ...o, archive: o.out, jobs, sections: ['post-data'] }, database);
  const env = restoreEnvironment(o.restoreSettings);
  const command = displayCommand([o.pgRestore, ...args], o.target);
  cb.onCommand?.(command);
  const total = Math.max(1, load.toc.entries.filter((e) => POST_DATA.has(e.desc)).length);
  let done = 0;
  cb.onProgress?.({ done, total });
  const post = await runTool(o.pgRestore, args, {
    connection: o.target,
    env,
    ...(o.signal ? { signal: o.signal } : {}),
    onLine: (line) => {
      cb.onLine?.(line);
      const entry = restoredEntry(line, jobs > 1);
      if (entry !== undefined) cb.onProgress?.({ done: Math.min(++done, total), total, label: entry });
    },
  });
  const outcome = restoreOutcome(o.target, mergeRuns(load.run, post), load.toc, command, started, fail(command));
  if (outcome.ok) cb.onProgress?.({ done: total, total });
  return { ...outcome, command };
}

export { mergeRuns, outputExists };
