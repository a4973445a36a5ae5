/**
 * The whole migration in order: readiness checks, the plan (from the source's sizes), then either
 * dump, create the target database (when missing), restore; or, streamed, create the database,
 * dump and load at the same time, indexes and constraints; then analyze. Stops at the first
 * failure and says which step failed and why.
 */
import { dirname } from 'node:path';
import { analyze } from './analyze.js';
import { createDatabase } from './createDatabase.js';
import { dropAndRecreateDatabase } from './dropDatabase.js';
import { EarlyDatabase } from './earlyDatabase.js';
import { dump, withoutToc, type ArchiveFormat, type DumpResult } from './dump.js';
import { EstimateHistory, estimateMigration, SourceSample, withoutAnalyze } from './estimate.js';
import { readDatabaseLocale } from './inspect.js';
import { keptArchive, resumePoint, withSuffixOf } from './migrateResume.js';
import type { MigrateOptions, MigrateResult, MigrateStepName, MigrateStepRecord } from './migrateTypes.js';
import { locateTool } from './pgbin.js';
import { choosePlan, planCompression, readDataShape } from './plan.js';
import { preflight } from './preflight.js';
import { tableWeights } from './progress.js';
import { restore, type RestoreResult } from './restore.js';
import { onDatabase, sideDatabase } from './side.js';
import { exportSnapshot, type SourceSnapshot } from './snapshot.js';
import { defaultJobs, heldCallbacks, RESTORE_SETTINGS, type StepFailure, type StepProgress } from './step.js';
import { outputExists, restorePostData, streamDumpAndLoad, type StreamOptions } from './stream.js';

export { RESTORE_SETTINGS, withSuffixOf };
export type { MigrateOptions, MigrateResult, MigrateStepName, MigrateStepRecord } from './migrateTypes.js';

export async function migrate(o: MigrateOptions): Promise<MigrateResult> {
  const held: Held = {};
  try {
    return await migrateSteps(o, held);
  } catch (err) {
    // An unexpected error: never leave the source's snapshot held, nor anything reading it.
    stopReading(held);
    await held.snapshot?.release();
    throw err;
  }
}

/** What a run that ends (or throws) must stop or release. */
type Held = { snapshot?: SourceSnapshot; sample?: SourceSample; readers?: AbortController };
const stopReading = (held: Held): void => (held.sample?.stop(), held.readers?.abort());
const NOT_CREATED: StepFailure = { problem: 'cancelled', message: 'Cancelled before it began.', hint: 'Nothing was created.' };

async function migrateSteps(o: MigrateOptions, held: Held): Promise<MigrateResult> {
  const started = performance.now();
  const steps: MigrateStepRecord[] = [];
  const result: MigrateResult = { ok: false, steps, durationMs: 0 };
  const jobs = o.jobs ?? defaultJobs();
  const targetDb = sideDatabase(o.target);
  const target = onDatabase(o.target, targetDb);
  const finish = (record: MigrateStepRecord): boolean => {
    steps.push(record);
    o.onStep?.(record.step, 'end', record);
    if (!record.ok && !record.skipped) result.failedStep = record.step;
    return record.ok || !!record.skipped;
  };
  const done = (): MigrateResult => {
    const ok = !result.failedStep && steps.every((s) => s.ok || s.skipped);
    // A whole run teaches the estimate; a failed, cancelled or resumed one would teach it the wrong time.
    if (ok && !o.resume && result.estimate)
      o.estimateHistory?.learnRun(o.source, o.target, result.plan?.kind ?? 'directory', result.estimate, steps);
    // A failed or cancelled migration is not validated: nothing may keep holding back vacuum on the source.
    if (!ok) void result.snapshot?.release();
    stopReading(held);
    return { ...result, ok, durationMs: performance.now() - started };
  };
  const callbacks = (step: MigrateStepName) => ({
    ...(o.signal ? { signal: o.signal } : {}),
    onLine: (line: string) => o.onLine?.(step, line),
    onCommand: (command: string) => o.onCommand?.(step, command),
    onProgress: (p: StepProgress) => o.onProgress?.(step, p),
  });

  // 1. Readiness checks
  o.onStep?.('preflight', 'start');
  const t0 = performance.now();
  // Read while the checks run: the sizes (plan, progress by bytes; closed when the run ends) and a timed sample.
  const readers = (held.readers = new AbortController()).signal;
  o.signal?.addEventListener('abort', () => held.readers?.abort(), { once: true });
  const shaping = readDataShape(o.source, readers).catch(() => undefined);
  const weighing = tableWeights(o.source, readers).catch(() => undefined);
  const sample = (held.sample = new SourceSample(o.source, shaping, o.binDir, o.signal));
  // The source's encoding and locale for creating the target database (read again below if this fails).
  const localeRead = readDatabaseLocale(o.source);
  localeRead.catch(() => undefined);
  const checks = await preflight({
    source: o.source,
    target,
    ...(o.binDir ? { binDir: o.binDir } : {}),
    ...(o.confirmNonEmptyDatabase ? { confirmNonEmptyDatabase: o.confirmNonEmptyDatabase } : {}),
    ...(o.noOwner ? { noOwner: true } : {}),
    ...(o.noAcl ? { noAcl: true } : {}),
    ...(o.noTableAccessMethod ? { noTableAccessMethod: true } : {}),
    ...(o.rehearse ? { rehearse: true } : {}),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  result.preflight = checks;
  o.onPreflight?.(checks);
  const blockers = checks.checks.filter((c) => c.status === 'blocker');
  if (
    !finish({
      step: 'preflight',
      ok: checks.ready,
      durationMs: performance.now() - t0,
      detail: `${checks.checks.length} checks, ${blockers.length} blocking`,
      ...(checks.ready
        ? {}
        : {
            failure: {
              problem: 'not_ready',
              // Short: each check with its detail and fix is shown above (terminal) or in the report (CLI, JSON).
              message: blockers.length
                ? `Not ready: ${blockers.length} blocking problem(s): ${blockers.map((b) => b.title).join('; ')}.`
                : 'A server could not be reached.',
              hint: [...new Set(blockers.map((b) => b.fix).filter(Boolean))].join(' '),
            },
          }),
    })
  )
    return done();
  const binOpts = o.binDir ? { binDir: o.binDir } : {};
  const [pgDump, pgRestore, vacuumdb, shape, weights] = await Promise.all([
    locateTool('pg_dump', binOpts),
    locateTool('pg_restore', binOpts),
    locateTool('vacuumdb', binOpts).catch(() => undefined),
    shaping,
    weighing,
  ]);
  const byBytes = weights ? { weights } : {};
  const requested = o.plan ?? o.format ?? 'auto';
  const chosen = choosePlan(shape, jobs, requested, o.indexJobs, o.splitMinBytes);
  const resuming = o.resume
    ? resumePoint(await keptArchive(o, pgRestore.path), checks.targetDatabase.objects, targetDb, chosen)
    : undefined;
  // Given --compress wins; else a directory archive is written uncompressed where its disk has room.
  const plan = resuming?.plan ?? planCompression(chosen, o.compress, dirname(o.dumpPath));
  const dumpPath = resuming?.archive ?? withSuffixOf(o.dumpPath, plan.kind === 'directory' ? '.dir' : '.dump');
  result.plan = plan;
  // A kept archive was read at an earlier moment: no snapshot matches it (the validation reads the source live).
  let snapshotSaid = (): void => undefined;
  if (o.snapshot && !resuming?.archive && !o.signal?.aborted) {
    try {
      const snapshot = (result.snapshot = held.snapshot = await exportSnapshot(o.source));
      snapshotSaid = () => o.onSnapshot?.(snapshot);
    } catch (err) {
      snapshotSaid = () => o.onSnapshot?.(undefined, err instanceof Error ? err.message : String(err));
    }
  }
  // The plan is shown with its estimate (the sample takes a fraction of a second); the first step starts meanwhile, its output held.
  let announced: Promise<void> | undefined;
  const announce = (): Promise<void> =>
    (announced ??= sample.within().then((sampled) => {
      if (shape && sampled) {
        const learned = o.estimateHistory?.read(EstimateHistory.key(o.source, o.target, plan.kind));
        const estimate = estimateMigration(plan, shape, sampled, learned);
        if (o.skipAnalyze) withoutAnalyze(estimate);
        result.estimate = estimate;
      }
      o.onPlan?.(plan, dumpPath, result.estimate);
      snapshotSaid();
    }));
  const snapshotOption = result.snapshot ? { snapshot: result.snapshot.id } : {};
  // Created while pg_dump runs (see earlyDatabase.ts), unless it exists or a resume decides.
  const early = new EarlyDatabase(target, targetDb, () => localeRead.catch(() => readDatabaseLocale(o.source)));
  const createEarly = (): void => {
    if (!o.resume && !checks.targetDatabase.exists && !o.signal?.aborted) early.start();
  };
  const createStep = async (): Promise<boolean> => {
    o.onStep?.('create-database', 'start');
    // Cancelled between two steps (the tools' steps stop on the signal themselves): nothing is created (or kept).
    if (o.signal?.aborted) {
      const failure = early.started ? { ...NOT_CREATED, message: 'Cancelled.', hint: '' } : { ...NOT_CREATED };
      await early.dropAgain(failure);
      return finish({ step: 'create-database', ok: false, durationMs: 0, failure });
    }
    const creation = early.started;
    if (creation) {
      const { created, ms } = await creation;
      return finish({
        step: 'create-database',
        ok: created.ok,
        durationMs: ms,
        command: created.sql,
        detail: 'while pg_dump ran',
        ...(created.failure ? { failure: created.failure } : {}),
      });
    }
    const t1 = performance.now();
    if (resuming?.recreate) {
      const r = await dropAndRecreateDatabase(onDatabase(o.target, 'postgres'), targetDb);
      return finish({
        step: 'create-database',
        ok: r.ok,
        durationMs: performance.now() - t1,
        command: r.sql.join('; '),
        detail: `"${targetDb}" dropped and recreated: it held data of the dump that did not finish`,
        ...(r.ok ? {} : { failure: r.failure }),
      });
    }
    if (checks.targetDatabase.exists)
      return finish({ step: 'create-database', ok: true, skipped: true, durationMs: 0, detail: `"${targetDb}" exists already` });
    const locale = await localeRead.catch(() => readDatabaseLocale(o.source));
    const created = await createDatabase(onDatabase(o.target, 'postgres'), targetDb, locale);
    return finish({
      step: 'create-database',
      ok: created.ok,
      durationMs: performance.now() - t1,
      command: created.sql,
      ...(created.failure ? { failure: created.failure } : {}),
    });
  };
  const dumpStep = (dumped: DumpResult, note = ''): boolean =>
    finish({
      step: 'dump',
      ok: dumped.ok,
      durationMs: dumped.durationMs,
      command: dumped.command,
      ...(dumped.failure ? { failure: dumped.failure } : {}),
      ...(dumped.archive
        ? { detail: `${dumped.archive.entries} entries, sha256 ${dumped.archive.sha256}${note}`, archive: withoutToc(dumped.archive) }
        : {}),
    });
  const restoreStep = (restored: RestoreResult, note = ''): boolean =>
    finish({
      step: 'restore',
      ok: restored.ok,
      durationMs: restored.durationMs,
      command: restored.command,
      ...(restored.failure ? { failure: restored.failure } : {}),
      detail: `${restored.toc?.entries.length ?? 0} entries, ${restored.errorCount} errors${note}`,
    });

  if (plan.kind === 'stream') {
    // 2. Create the target database, 3. dump and load at the same time, 4. indexes and constraints.
    const taken = outputExists({ out: dumpPath, ...(o.overwriteDump ? { overwrite: true } : {}) });
    if (taken) {
      await announce();
      o.onStep?.('dump', 'start');
      finish({ step: 'dump', ok: false, durationMs: 0, failure: taken });
      return done();
    }
    createEarly();
    // With the database being created, pg_dump starts at once; the load once the create step is reported.
    let open: (ok: boolean) => void = () => undefined;
    const opened = early.started && new Promise<boolean>((resolve) => (open = resolve));
    if (!opened) {
      await announce();
      if (!(await createStep())) return done();
    }
    const streamed: StreamOptions = {
      source: o.source,
      target,
      pgDump: pgDump.path,
      pgRestore: pgRestore.path,
      out: dumpPath,
      jobs: plan.indexJobs,
      ...(o.compress !== undefined ? { compress: o.compress } : {}),
      restoreSettings: RESTORE_SETTINGS,
      // Without the table access method the target's default applies (columnar on Hydra): no parallel sessions then.
      ...(plan.split && !o.noTableAccessMethod ? { split: plan.split } : {}),
      ...(o.noOwner ? { noOwner: true } : {}),
      ...(o.noAcl ? { noAcl: true } : {}),
      ...(o.noTableAccessMethod ? { noTableAccessMethod: true } : {}),
      ...(o.overwriteDump ? { overwrite: true } : {}),
      ...(o.confirmNonEmptyDatabase ? { confirmNonEmptyDatabase: o.confirmNonEmptyDatabase } : {}),
      ...(o.lockWaitTimeoutSeconds !== undefined ? { lockWaitTimeoutSeconds: o.lockWaitTimeoutSeconds } : {}),
      ...snapshotOption,
      ...byBytes,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(opened ? { targetReady: opened } : {}),
    };
    // pg_dump starts while the database is created: its output is shown once that step is.
    const dumpCb = heldCallbacks(callbacks('dump'));
    const streaming = streamDumpAndLoad(streamed, dumpCb.cb);
    streaming.catch(() => undefined); // awaited below
    if (opened) {
      let created = false;
      try {
        await announce();
        created = await createStep();
      } finally {
        open(created); // whatever happened: pg_dump is never left waiting on the pipe
      }
      if (!created) {
        await streaming; // stopped by the failed creation (or the cancel): nothing was loaded
        return done();
      }
    }
    o.onStep?.('dump', 'start');
    dumpCb.release();
    const { dump: dumped, load, touched } = await streaming;
    const created = steps.find((s) => s.step === 'create-database');
    if (!dumped.ok && !touched) await early.dropAgain(dumped.failure, created);
    result.dump = dumped;
    const loaded =
      load?.run.exitCode === 0 ? `; loaded into "${targetDb}" while dumping` : `; the load into "${targetDb}" stopped: see the next step`;
    if (!dumpStep(dumped, loaded) || !load) return done();
    o.onStep?.('restore', 'start');
    const restored = await restorePostData(streamed, load, callbacks('restore'));
    result.restore = restored;
    if (!restoreStep(restored, plan.indexJobs > 1 || plan.split ? '' : '; indexes and constraints were built by the load, in its own pass'))
      return done();
  } else {
    // 2. Dump
    const format: ArchiveFormat = plan.kind === 'custom' ? 'custom' : 'directory';
    const compress = o.compress ?? plan.compress;
    if (resuming?.archive) {
      await announce();
      o.onStep?.('dump', 'start');
      finish({
        step: 'dump',
        ok: true,
        skipped: true,
        durationMs: 0,
        detail: `the interrupted run's complete archive ${dumpPath} is restored again`,
      });
    } else {
      // An archive path that is taken fails the dump at once: then nothing is created for it.
      if (!outputExists({ out: dumpPath, ...(o.overwriteDump ? { overwrite: true } : {}) })) createEarly();
      const dumpCb = heldCallbacks(callbacks('dump'));
      const dumping = dump({
        source: o.source,
        pgDump: pgDump.path,
        pgRestore: pgRestore.path,
        out: dumpPath,
        format,
        ...(format === 'directory' ? { jobs } : {}),
        ...(compress !== undefined ? { compress } : {}),
        ...(o.noOwner ? { noOwner: true } : {}),
        ...(o.noAcl ? { noAcl: true } : {}),
        ...(o.overwriteDump ? { overwrite: true } : {}),
        ...(o.lockWaitTimeoutSeconds !== undefined ? { lockWaitTimeoutSeconds: o.lockWaitTimeoutSeconds } : {}),
        ...snapshotOption,
        ...byBytes,
        ...dumpCb.cb,
      });
      dumping.catch(() => undefined); // awaited below
      await announce();
      o.onStep?.('dump', 'start');
      dumpCb.release();
      const dumped = await dumping;
      result.dump = dumped;
      if (!dumped.ok) await early.dropAgain(dumped.failure);
      if (!dumpStep(dumped)) return done();
    }
    // 3. Create the target database like the source
    if (!(await createStep())) return done();
    // 4. Restore
    o.onStep?.('restore', 'start');
    const restoreCb = callbacks('restore');
    let resumed = ''; // what a resumed restore kept and what it loads, for the step's record
    const restored = await restore({
      target,
      pgRestore: pgRestore.path,
      archive: dumpPath,
      jobs,
      restoreSettings: RESTORE_SETTINGS,
      ...(o.noOwner ? { noOwner: true } : {}),
      ...(o.noAcl ? { noAcl: true } : {}),
      ...(o.noTableAccessMethod ? { noTableAccessMethod: true } : {}),
      ...(o.confirmNonEmptyDatabase ? { confirmNonEmptyDatabase: o.confirmNonEmptyDatabase } : {}),
      ...(resuming?.resumeTarget ? { resume: true } : {}),
      ...byBytes,
      ...(weights && shape ? { indexBytes: shape.indexBytes } : {}),
      ...restoreCb,
      onLine: (line) => {
        if (line.startsWith('resume: ')) resumed = `; ${line}`;
        restoreCb.onLine(line);
      },
    });
    result.restore = restored;
    if (!restoreStep(restored, resumed)) return done();
  }

  // 5. Analyze
  if (o.skipAnalyze || !vacuumdb) {
    finish({
      step: 'analyze',
      ok: true,
      skipped: true,
      durationMs: 0,
      detail: o.skipAnalyze ? 'skipped on request' : 'vacuumdb not found',
    });
  } else {
    o.onStep?.('analyze', 'start');
    const analyzed = await analyze({ target, vacuumdb: vacuumdb.path, jobs, ...callbacks('analyze') });
    finish({
      step: 'analyze',
      ok: analyzed.ok,
      durationMs: analyzed.durationMs,
      command: analyzed.command,
      ...(analyzed.failure ? { failure: analyzed.failure } : {}),
    });
  }
  return done();
}
