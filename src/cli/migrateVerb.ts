/** `hydra-migrate migrate`: the plan, the steps, then the validation that proves the copy (unless --no-validate). */
import { resolve } from 'node:path';
import { migrate } from '../core/migrate.js';
import { preflightText, stepRecordLine } from '../core/present/steps.js';
import { escapeControl, plain } from '../core/present/style.js';
import { formatReportText } from '../core/reportFormat.js';
import { validate } from '../core/validate.js';
import type { ValidationReport } from '../shared/report.js';
import type { Io } from './io.js';
import { UsageError } from './io.js';
import { formatBytes } from '../core/catalog.js';
import { describeEstimate, roughDuration, roundSeconds } from '../core/estimate.js';
import type { StepProgress } from '../core/step.js';
import {
  bool,
  estimateHistoryOf,
  failureText,
  progressReporter,
  compressOf,
  jobsOf,
  lockWaitOption,
  ms,
  planOf,
  side,
  str,
  type Values,
} from './options.js';

export async function migrateVerb(
  v: Values,
  io: Io,
  { json, binOpts, signal }: { json: boolean; binOpts: { binDir?: string }; signal: AbortSignal },
): Promise<number> {
  const dumpPath = str(v, 'dump');
  if (!dumpPath) throw new UsageError('migrate needs --dump PATH for the archive it writes.');
  const confirm = str(v, 'confirm-non-empty');
  const resume = bool(v, 'resume');
  if (resume && !confirm)
    throw new UsageError('migrate --resume goes on in the target database as it is: confirm its name with --confirm-non-empty DBNAME.');
  const plan = planOf(v);
  const compress = compressOf(v);
  const source = side(v, 'source', io.env);
  const target = side(v, 'target', io.env);
  const shown = new Set<string>(); // steps whose command was printed when they started
  const report = progressReporter(v, io);
  const result = await migrate({
    source,
    target,
    dumpPath: resolve(dumpPath),
    plan,
    jobs: jobsOf(v),
    ...(compress !== undefined ? { compress } : {}),
    noOwner: bool(v, 'no-owner'),
    noAcl: bool(v, 'no-acl'),
    noTableAccessMethod: bool(v, 'no-table-access-method'),
    overwriteDump: bool(v, 'overwrite'),
    ...(resume ? { resume: true } : {}),
    rehearse: bool(v, 'rehearse'),
    skipAnalyze: bool(v, 'no-analyze'),
    // The validation counts the source as of the dump (exact while it keeps taking writes), unless asked not to.
    snapshot: !bool(v, 'no-snapshot') && !bool(v, 'no-validate'),
    onSnapshot: (snap, error) => {
      if (json) return;
      if (snap)
        io.stderr(
          `Snapshot: the dump and the validation read the source as of ${snap.takenAt} (one transaction held on the source until the validation ends; meanwhile vacuum there cannot remove rows changed after it; --no-snapshot reads it live).`,
        );
      else io.stderr(`Snapshot: none could be exported (${error ?? 'unknown'}); the source is read live.`);
    },
    ...binOpts,
    ...(confirm ? { confirmNonEmptyDatabase: confirm } : {}),
    lockWaitTimeoutSeconds: lockWaitOption(v),
    signal: signal,
    estimateHistory: estimateHistoryOf(io.env),
    onPlan: (p, path, estimate) => {
      if (json) return;
      io.stderr(`\nPlan: ${p.reason}${path !== resolve(dumpPath) ? ` Archive: ${path}` : ''}`);
      if (estimate) io.stderr(`Estimate: ${describeEstimate(estimate, p.kind === 'stream')}`);
    },
    onStep: (step, state, record) => {
      if (json) return;
      if (state === 'start') io.stderr(`\n== ${step} ==`);
      else if (record) io.stderr(stepRecordLine(shown.has(step) ? { ...record, command: undefined } : record, plain));
    },
    ...(report ? { onProgress: (step: string, p: StepProgress) => report(step, p) } : {}),
    onCommand: (step, command) => {
      shown.add(step);
      if (!json) io.stderr(`$ ${escapeControl(command, false)}`);
    },
    onLine: (step, line) => {
      if (!json && step !== 'preflight') io.stderr(escapeControl(line, false));
    },
  });
  // The migration is done when every row is proven there: validation unless --no-validate.
  let validation: ValidationReport | undefined;
  let validationError: string | undefined;
  try {
    if (result.ok && !bool(v, 'no-validate')) {
      if (!json) io.stderr('\n== validate ==');
      try {
        validation = await validate({
          source,
          target,
          checksums: bool(v, 'checksums'),
          signal: signal,
          lockTimeoutSeconds: lockWaitOption(v),
          ...(result.snapshot ? { sourceSnapshot: result.snapshot } : {}),
        });
      } catch (e) {
        validationError = e instanceof Error ? e.message : String(e);
      }
    }
  } finally {
    // Ended, failed or cancelled: the source's vacuum is no longer held back.
    await result.snapshot?.release();
  }
  const ok = result.ok && (bool(v, 'no-validate') || (validation?.ok ?? false));
  if (json) {
    io.stdout(
      JSON.stringify(
        {
          ok,
          failedStep: result.failedStep ?? (result.ok && !ok ? 'validate' : undefined),
          durationMs: Math.round(result.durationMs),
          plan: result.plan && { kind: result.plan.kind, jobs: result.plan.jobs, reason: result.plan.reason, shape: result.plan.shape },
          ...(result.estimate
            ? {
                estimateSeconds: { ...roundSeconds(result.estimate.seconds), total: Math.round(result.estimate.totalSeconds * 10) / 10 },
                estimate: result.estimate,
              }
            : {}),
          steps: result.steps,
          preflight: result.preflight && { ready: result.preflight.ready, checks: result.preflight.checks },
          archive: result.dump?.archive && {
            path: result.dump.archive.path,
            format: result.dump.archive.format,
            sha256: result.dump.archive.sha256,
            sizeBytes: result.dump.archive.sizeBytes,
            entries: result.dump.archive.entries,
          },
          restoreErrors: result.restore?.errors,
          ...(validation ? { validation } : {}),
          ...(validationError ? { validationError } : {}),
        },
        null,
        2,
      ),
    );
  } else {
    if (result.preflight && !result.preflight.ready) io.stderr(preflightText(result.preflight, plain));
    const failed = result.steps.find((s) => s.step === result.failedStep);
    if (validation) io.stdout(formatReportText(validation, { all: bool(v, 'all') }));
    if (validationError) io.stderr(`\nThe copy could not be validated: ${validationError}`);
    // The data's step with its size and rate (the stream's dump is the dump and the load together).
    const data = result.plan?.shape?.dataBytes;
    const rate = (st: (typeof result.steps)[number]): string =>
      st.step === 'dump' && data && st.durationMs > 0 ? ` (${formatBytes(data)}, ${formatBytes(data / (st.durationMs / 1000))}/s)` : '';
    const timings = result.steps.map((s) => `${s.step} ${s.skipped ? 'skipped' : `${ms(s.durationMs)}${rate(s)}`}`).join(', ');
    const estimated = result.estimate ? ` (estimated ${roughDuration(result.estimate.totalSeconds)})` : '';
    if (ok) io.stdout(`Migration finished in ${ms(result.durationMs)}${estimated}: ${timings}${validation ? ', validated' : ''}.`);
    else if (failed?.failure) io.stderr(`\nMigration stopped at ${failed.step}: ${failureText(failed.failure)}`);
    else if (result.ok) io.stderr(`\nMigrated in ${ms(result.durationMs)} (${timings}), but the validation did not pass: see above.`);
  }
  if (validationError) return 2;
  return ok ? 0 : 1;
}
