/** Migrate Database…: every step in order, each in its own terminal, then the validation. */
import { dirname, join } from 'node:path';
import { privateFolder } from '../../core/dump.js';
import * as vscode from 'vscode';
import { ansi as style } from '../../core/present/style.js';
import { describeTarget } from '../../core/connection.js';
import { Cancelled } from '../errors.js';
import { describeEstimate, planAndEstimate, roughDuration } from '../../core/estimate.js';
import { migrate, type MigrateStepName } from '../../core/migrate.js';
import { type ExplorerNode } from '../explorer.js';
import type { RunRecord } from '../runHistory.js';
import type { ValidationReport } from '../../shared/report.js';
import { defaultDumpFolder, settings, toolOptions } from '../settings.js';

import type { MigrateArgs, PairArgs, Rerun } from './args.js';
import { openStepTerminal } from '../stepTerminal.js';
import {
  failureLines,
  openStep,
  pickFlags,
  profile,
  promptPair,
  safeFileName,
  sideOf,
  timestamp,
  type OpenStep,
  type StepCommandResult,
  type StepCtx,
} from './stepCommand.js';
import { preflightLines } from './preflightCommand.js';
import { runValidate } from './validateCommand.js';

const t = vscode.l10n.t;

export interface MigrateCommandResult {
  ok: boolean;
  failedStep?: MigrateStepName;
  steps: StepCommandResult[];
  validation?: ValidationReport;
}

/** Asks for the target and the options. */
/** The prompts of Migrate Database…; `pair`: source, target and database already chosen (Migrate Now after the checks). */
export async function promptMigrate(ctx: StepCtx, arg?: ExplorerNode, pair?: PairArgs): Promise<MigrateArgs> {
  const args: MigrateArgs = pair ? { ...pair } : await promptPair(ctx, arg);
  const flags = await pickFlags(t('Migration options'), [
    {
      id: 'noOwner',
      label: '--no-owner',
      detail: t('objects belong to the restoring user (roles usually differ between servers)'),
      picked: true,
    },
    { id: 'noAcl', label: '--no-acl', detail: t('skip GRANTs'), picked: true },
    {
      id: 'noTableAccessMethod',
      label: '--no-table-access-method',
      detail: t('create columnar tables as heap (only if the target cannot have columnar)'),
      picked: false,
    },
  ]);
  const chosen: MigrateArgs = {
    ...args,
    noOwner: flags.has('noOwner'),
    noAcl: flags.has('noAcl'),
    noTableAccessMethod: flags.has('noTableAccessMethod'),
  };
  await confirmMigration(ctx, chosen);
  return chosen;
}

/**
 * The last word before anything runs: source, target, the new database, the options, the plan and
 * how long it should take (the source's sizes and a timed sample, read now). Nothing is the default.
 */
async function confirmMigration(ctx: StepCtx, a: MigrateArgs): Promise<void> {
  const s = profile(ctx, a.sourceConnectionId);
  const tg = profile(ctx, a.targetConnectionId);
  const sourceDb = a.sourceDatabase ?? s.database;
  const targetDb = a.targetDatabase ?? sourceDb;
  const cfg = settings();
  const [source, target] = [await sideOf(ctx, s, sourceDb), await sideOf(ctx, tg, targetDb)];
  const planned = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: t('Reading the sizes of "{0}" for the plan…', sourceDb), cancellable: true },
    (_progress, token) => {
      const controller = new AbortController();
      token.onCancellationRequested(() => controller.abort());
      return planAndEstimate({
        signal: controller.signal,
        source,
        target,
        jobs: a.jobs ?? cfg.jobs,
        requested: a.format ?? cfg.migrationPlan,
        archiveFolder: a.dumpPath ? dirname(a.dumpPath) : defaultDumpFolder(),
        ...(cfg.archiveCompression !== undefined ? { compress: cfg.archiveCompression } : {}),
        ...toolOptions(cfg),
        history: ctx.estimates,
      }).catch(() => undefined);
    },
  );
  const options = [a.noOwner && '--no-owner', a.noAcl && '--no-acl', a.noTableAccessMethod && '--no-table-access-method'].filter(Boolean);
  const detail = [
    t('From: {0}, database "{1}" ({2})', s.name, sourceDb, describeTarget(s, sourceDb)),
    t(
      'To: {0}, database "{1}" ({2}): created from template0 with the source\'s encoding and locale when missing; it must be empty.',
      tg.name,
      targetDb,
      describeTarget(tg, targetDb),
    ),
    t('Options: {0}', options.length ? options.join(' ') : t('none (owners and grants kept)')),
    planned ? t('Plan: {0}', planned.plan.reason) : t("Plan: chosen from the source's sizes after the readiness checks."),
    ...(planned?.estimate ? [t('Estimate: {0}', describeEstimate(planned.estimate, planned.plan.kind === 'stream'))] : []),
    t(
      'Snapshot: the dump and the validation read the source as of one moment, so a source that keeps taking writes still validates exactly; one transaction is held on the source until the validation ends, and meanwhile vacuum there cannot remove rows changed after it.',
    ),
    t(
      'Steps: readiness checks and a schema rehearsal on the target, create the database, dump, restore, analyze, then the validation of every table. Each command is shown in the terminal before it runs; Cancel in the terminal or the status bar stops it.',
    ),
  ].join('\n\n');
  const start = t('Start Migration');
  const answer = await vscode.window.showInformationMessage(
    t('Migrate "{0}" to "{1}"?', `${s.name}/${sourceDb}`, `${tg.name}/${targetDb}`),
    { modal: true, detail },
    start,
  );
  if (answer !== start) throw new Cancelled();
}

export async function migrateCommand(ctx: StepCtx, arg?: ExplorerNode, pair?: PairArgs): Promise<MigrateCommandResult> {
  return runMigrate(ctx, await promptMigrate(ctx, arg, pair));
}

/** Every step in its terminal, then the validation (after the prompts, from the API, on Re-run). */
export async function runMigrate(ctx: StepCtx, args: MigrateArgs): Promise<MigrateCommandResult> {
  const s = profile(ctx, args.sourceConnectionId);
  const tg = profile(ctx, args.targetConnectionId);
  const sourceDb = args.sourceDatabase ?? s.database;
  const targetDb = args.targetDatabase ?? sourceDb;
  const cfg = settings();
  // The plan (streamed or parallel) is chosen from the source's sizes; the archive's suffix follows it.
  let dumpPath =
    args.dumpPath ?? join(defaultDumpFolder(), `${safeFileName(sourceDb)}-${timestamp()}${args.format === 'custom' ? '.dump' : '.dir'}`);
  privateFolder(dirname(dumpPath));
  let streamed = false;
  let planLines: string[] = [];
  let snapshotLine: string | undefined;
  const titles = (): Record<MigrateStepName, string> =>
    streamed
      ? {
          preflight: t('Migrate 1/5: readiness checks'),
          'create-database': t('Migrate 2/5: create database {0}', targetDb),
          dump: t('Migrate 3/5: dump {0} and load it into {1}', sourceDb, targetDb),
          restore: t('Migrate 4/5: indexes and constraints of {0}', targetDb),
          analyze: t('Migrate 5/5: analyze {0}', targetDb),
        }
      : {
          preflight: t('Migrate 1/5: readiness checks'),
          dump: t('Migrate 2/5: dump {0}', sourceDb),
          'create-database': t('Migrate 3/5: create database {0}', targetDb),
          restore: t('Migrate 4/5: restore into {0}', targetDb),
          analyze: t('Migrate 5/5: analyze {0}', targetDb),
        };
  const controller = new AbortController();
  const finished: Array<Promise<StepCommandResult>> = [];
  let current: OpenStep | undefined;
  // One terminal for the whole migration, its steps as sections; named so that two migrations differ.
  const startedAt = new Date();
  const sessionName = t(
    'Migrate {0} → {1} · {2}',
    sourceDb,
    `${tg.name}/${targetDb}`,
    startedAt.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
  );
  const session = openStepTerminal(sessionName, { running: ctx.running, log: ctx.log });
  // The step that stopped the migration, for the terminal's last line.
  let stopped: { title: string; message: string } | undefined;
  session.onInterrupt = () => controller.abort();
  const migrationRerun: Rerun = { step: 'migrate', args: { ...args, dumpPath: undefined, confirmNonEmpty: undefined } };
  const migration = { id: `${startedAt.getTime()}-${Math.random().toString(36).slice(2, 8)}`, title: sessionName, rerun: migrationRerun };
  // Re-run of one step runs that step again, not the whole migration (a cancelled restore: the restore).
  const stepRerun = (step: MigrateStepName): Rerun | undefined => {
    const flags = {
      ...(args.noOwner ? { noOwner: true } : {}),
      ...(args.noAcl ? { noAcl: true } : {}),
    };
    const tam = args.noTableAccessMethod ? { noTableAccessMethod: true } : {};
    switch (step) {
      case 'preflight':
        return {
          step: 'preflight',
          args: {
            sourceConnectionId: s.id,
            sourceDatabase: sourceDb,
            targetConnectionId: tg.id,
            targetDatabase: targetDb,
            ...flags,
            ...tam,
          },
        };
      case 'create-database':
        return { step: 'create-database', args: { connectionId: tg.id, name: targetDb, likeConnectionId: s.id, likeDatabase: sourceDb } };
      case 'dump':
        // Streamed, the dump is also the load: again means the migration again.
        return streamed
          ? migrationRerun
          : {
              step: 'dump',
              args: {
                connectionId: s.id,
                database: sourceDb,
                folder: dirname(dumpPath),
                format: dumpPath.endsWith('.dump') ? 'custom' : 'directory',
                ...flags,
              },
            };
      case 'restore':
        return {
          step: 'restore',
          args: {
            connectionId: tg.id,
            database: targetDb,
            archive: dumpPath,
            ...flags,
            ...tam,
            analyze: true,
          },
        };
      default:
        return undefined;
    }
  };
  // Steps whose command was printed when they started (the others print it when they end).
  const shown = new Set<MigrateStepName>();
  const open = (step: MigrateStepName): OpenStep => {
    const title = titles()[step];
    current = openStep(
      ctx,
      title,
      {
        step,
        title,
        source: `${s.name}/${sourceDb}`,
        target: `${tg.name}/${targetDb}`,
        archivePath: dumpPath,
        // A re-run never carries the confirmation to restore into a non-empty database: that target now holds this run's data.
        ...(stepRerun(step) ? { rerun: stepRerun(step)! } : {}),
        migration,
      },
      () => controller.abort(),
      session,
    );
    return current;
  };
  let result: Awaited<ReturnType<typeof migrate>>;
  try {
    result = await migrate({
      source: await sideOf(ctx, s, sourceDb),
      target: await sideOf(ctx, tg, targetDb),
      dumpPath,
      plan: args.format ?? cfg.migrationPlan,
      jobs: args.jobs ?? cfg.jobs,
      ...(cfg.archiveCompression !== undefined ? { compress: cfg.archiveCompression } : {}),
      ...(args.noOwner ? { noOwner: true } : {}),
      ...(args.noAcl ? { noAcl: true } : {}),
      ...(args.noTableAccessMethod ? { noTableAccessMethod: true } : {}),
      ...(args.confirmNonEmpty ? { confirmNonEmptyDatabase: args.confirmNonEmpty } : {}),
      ...toolOptions(cfg),
      lockWaitTimeoutSeconds: cfg.lockWaitTimeoutSeconds,
      // On by default: seconds of schema-only restore before hours of data.
      rehearse: true,
      // The validation counts the source as of the dump: exact while the application keeps writing.
      snapshot: true,
      onSnapshot: (snap, error) => {
        snapshotLine = snap
          ? t(
              'the dump and the validation read the source as of {0} (one transaction held on the source until the validation ends; meanwhile vacuum there cannot remove rows changed after it).',
              snap.takenAt,
            )
          : t('none could be exported ({0}); the source is read live.', error ?? '?');
      },
      signal: controller.signal,
      onStep: (step, state, record) => {
        if (state === 'start') {
          const session = open(step);
          // The first step after the readiness checks says how the data will move, and why.
          if (planLines.length && step !== 'preflight') {
            for (const l of planLines) session.line(l);
            planLines = [];
          }
          if (snapshotLine && step === 'dump') {
            session.line(`${style.cyan(t('Snapshot:'))} ${snapshotLine}`);
            snapshotLine = undefined;
          }
          return;
        }
        if (!record) return;
        if (record.failure && !stopped) stopped = { title: titles()[step], message: record.failure.message };
        const session = current ?? open(step);
        current = undefined;
        if (record.command && !shown.has(record.step)) session.line(`${style.cyan('$')} ${style.bold(record.command)}`);
        const summary = [...(record.detail ? [record.detail] : []), ...failureLines(record.failure)];
        const extra: Partial<RunRecord> = {};
        if (record.failure) extra.errorSummary = record.failure.message;
        if (record.archive) extra.sha256 = record.archive.sha256;
        finished.push(
          session.finish({ ok: record.ok || !!record.skipped, summary, cancelled: record.failure?.problem === 'cancelled' }, extra),
        );
      },
      estimateHistory: ctx.estimates,
      onPlan: (plan, path, estimate) => {
        dumpPath = path;
        streamed = plan.kind === 'stream';
        planLines = [`${style.cyan('Plan:')} ${plan.reason}`];
        if (estimate) planLines.push(`${style.cyan('Estimate:')} ${describeEstimate(estimate, streamed)}`);
      },
      onPreflight: (report) => {
        for (const l of preflightLines(report)) current?.line(l);
      },
      onCommand: (step, command) => {
        shown.add(step);
        current?.line(`${style.cyan('$')} ${style.bold(command)}`);
      },
      onLine: (_step, line) => current?.output(line),
      onProgress: (_step, p) => current?.progress(p),
    });
  } catch (err) {
    // Unexpected (a password that cannot be read, a catalog query that failed): the open step and the
    // terminal end and say so; nothing is left "running".
    const message = err instanceof Error ? err.message : String(err);
    if (current) finished.push(current.finish({ ok: false, summary: [t('Unexpected failure: {0}', message)] }, { errorSummary: message }));
    current = undefined;
    await Promise.all(finished).catch(() => undefined);
    session.onInterrupt = undefined;
    session.end(1, [style.red(style.bold(t('✖ Migration stopped: {0}', message)))]);
    throw err;
  }
  // The steps are over: a Ctrl+C from here on is no cancel of the migration (the validation has its own).
  const cancelled = controller.signal.aborted;
  session.onInterrupt = undefined;
  let validation: ValidationReport | undefined;
  let steps: StepCommandResult[];
  // From here on, whatever happens, the source's snapshot is released (it holds back vacuum there).
  try {
    steps = await Promise.all(finished);
    ctx.explorer.refresh({ kind: 'connection', profile: tg });
    if (result.ok) {
      void vscode.window.showInformationMessage(
        result.estimate
          ? t(
              'Migrated {0} to {1} in {2} s (estimated {3}). Validating…',
              `${s.name}/${sourceDb}`,
              `${tg.name}/${targetDb}`,
              (result.durationMs / 1000).toFixed(1),
              roughDuration(result.estimate.totalSeconds),
            )
          : t(
              'Migrated {0} to {1} in {2} s. Validating…',
              `${s.name}/${sourceDb}`,
              `${tg.name}/${targetDb}`,
              (result.durationMs / 1000).toFixed(1),
            ),
      );
      // The validation view gets the editor's height: the terminal panel makes way (the terminal stays, one click away).
      void vscode.commands.executeCommand('workbench.action.closePanel');
      validation = (
        await runValidate(
          ctx,
          { sourceConnectionId: s.id, sourceDatabase: sourceDb, targetConnectionId: tg.id, targetDatabase: targetDb },
          result.snapshot,
        )
      )?.report;
    }
  } finally {
    await result.snapshot?.release();
    const code = result.ok && (validation?.ok ?? false) ? 0 : cancelled ? 130 : 1;
    session.end(code, [
      result.ok
        ? validation
          ? validation.ok
            ? style.green(style.bold(t('✔ Migrated and validated: the target matches the source ({0} tables).', validation.summary.tables)))
            : style.red(style.bold(t('✖ Migrated, but the validation found differences: see the validation view.')))
          : style.red(style.bold(t('✖ Migrated, but the validation could not run: see the validation view.')))
        : cancelled
          ? style.yellow(style.bold(t('■ Migration cancelled in "{0}".', stopped?.title ?? result.failedStep ?? '?')))
          : style.red(
              style.bold(
                t('✖ Migration stopped in "{0}": {1}', stopped?.title ?? result.failedStep ?? '?', stopped?.message ?? t('see above')),
              ),
            ),
    ]);
  }
  return {
    ok: result.ok && (validation?.ok ?? false),
    ...(result.failedStep ? { failedStep: result.failedStep } : {}),
    steps,
    ...(validation ? { validation } : {}),
  };
}
