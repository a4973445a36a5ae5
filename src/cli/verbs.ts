/**
 * CLI verbs for the migration steps: preflight, dump, create-database, restore, migrate.
 * Human output streams the tool's messages to stderr and ends with a summary; --json prints one
 * JSON document on stdout.
 */
import { dirname, resolve } from 'node:path';
import { summarizeToc } from '../core/archive.js';
import { formatBytes } from '../core/catalog.js';
import { describeEstimate, planAndEstimate, roundSeconds } from '../core/estimate.js';
import { formatReportText } from '../core/reportFormat.js';
import { validate } from '../core/validate.js';
import { ValidationError } from '../core/validateInventory.js';
import { locateTool, ToolNotFoundError } from '../core/pgbin.js';
import { preflight, preflightExitCode } from '../core/preflight.js';
import { preflightText, restoreErrorLines } from '../core/present/steps.js';
import { escapeControl, plain } from '../core/present/style.js';
import { createDatabase, prepareTarget } from '../core/createDatabase.js';
import { dump } from '../core/dump.js';
import { readDatabaseLocale } from '../core/inspect.js';
import { restore } from '../core/restore.js';
import { onDatabase, sideDatabase } from '../core/side.js';
import type { StepFailure, StepProgress } from '../core/step.js';
import { tableWeights } from '../core/progress.js';
import { sequenceChangeLines, syncSequences } from '../core/sequences.js';
import { columnarChangeLines, largeObjectOwnerLines, syncColumnarOptions, syncLargeObjectOwners } from '../core/leftovers.js';
import { UsageError, type Io } from './io.js';
import { migrateVerb } from './migrateVerb.js';
import {
  bool,
  estimateHistoryOf,
  failureText,
  formatOf,
  jobsOf,
  list,
  lockWaitOption,
  ms,
  planOf,
  progressReporter,
  side,
  sideFrom,
  str,
  type Values,
  compressOf,
} from './options.js';

export const STEP_VERBS = [
  'preflight',
  'dump',
  'create-database',
  'restore',
  'migrate',
  'validate',
  'sync-sequences',
  'sync-large-object-owners',
  'sync-columnar-options',
];

/** What every step's --json output starts with. */
function stepJson(r: {
  ok: boolean;
  command: string;
  durationMs: number;
  exitCode?: number;
  failure?: StepFailure;
}): Record<string, unknown> {
  return { ok: r.ok, command: r.command, durationMs: Math.round(r.durationMs), exitCode: r.exitCode, failure: r.failure };
}

export async function runStep(verb: string, v: Values, io: Io): Promise<number> {
  const json = bool(v, 'json');
  const binDir = str(v, 'pg-bin-dir') ?? io.env.HYDRA_PG_BIN_DIR;
  const binOpts = binDir ? { binDir } : {};
  // Tool output may carry object names with terminal escape sequences: shown escaped.
  const progressLine = (line: string): void => {
    if (!json) io.stderr(escapeControl(line, false));
  };
  const tool = async (name: 'pg_dump' | 'pg_restore' | 'vacuumdb') => {
    try {
      return (await locateTool(name, binOpts)).path;
    } catch (e) {
      if (e instanceof ToolNotFoundError) throw new UsageError(e.message);
      throw e;
    }
  };
  const controller = new AbortController();
  const report = progressReporter(v, io);
  const stepCallbacks = {
    signal: controller.signal,
    onCommand: (c: string) => progressLine(`$ ${c}`),
    onLine: progressLine,
    ...(report ? { onProgress: (p: StepProgress) => report(verb, p) } : {}),
  };
  const onSigint = (): void => controller.abort();
  // Ctrl+C, kill, and a closed terminal or ssh session (SIGHUP): stop the tools' process groups and
  // remove partial output instead of leaving pg_dump running on a production server.
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of signals) process.once(s, onSigint);
  try {
    switch (verb) {
      case 'preflight': {
        const source = side(v, 'source', io.env);
        const target = side(v, 'target', io.env);
        // The plan and its time estimate, read while the checks run (the source's sizes and a short sample).
        const planning = planAndEstimate({
          source,
          target,
          jobs: jobsOf(v),
          requested: planOf(v),
          // Where migrate would write its archive (and the level asked): the plan says whether it is compressed.
          ...(str(v, 'dump') ? { archiveFolder: dirname(resolve(str(v, 'dump')!)) } : {}),
          ...(compressOf(v) !== undefined ? { compress: compressOf(v)! } : {}),
          ...binOpts,
          history: estimateHistoryOf(io.env),
          skipAnalyze: bool(v, 'no-analyze'),
          signal: controller.signal,
        }).catch(() => undefined);
        const report = await preflight({
          source,
          target,
          ...binOpts,
          noOwner: bool(v, 'no-owner'),
          noAcl: bool(v, 'no-acl'),
          noTableAccessMethod: bool(v, 'no-table-access-method'),
          rehearse: bool(v, 'rehearse'),
          signal: controller.signal,
          ...(str(v, 'confirm-non-empty') ? { confirmNonEmptyDatabase: str(v, 'confirm-non-empty')! } : {}),
        });
        const planned = report.source ? await planning : undefined;
        const estimate = planned?.estimate;
        io.stdout(
          json
            ? JSON.stringify(
                {
                  ready: report.ready,
                  checks: report.checks,
                  rehearsal: report.rehearsal,
                  ...(planned ? { plan: { kind: planned.plan.kind, jobs: planned.plan.jobs, reason: planned.plan.reason } } : {}),
                  ...(estimate
                    ? {
                        estimateSeconds: { ...roundSeconds(estimate.seconds), total: Math.round(estimate.totalSeconds * 10) / 10 },
                        estimate,
                      }
                    : {}),
                  source: report.source,
                  target: report.target,
                  sourceDatabase: report.sourceDatabase,
                  targetDatabase: report.targetDatabase,
                },
                null,
                2,
              )
            : preflightText(report, plain) +
                (planned ? `\nPlan: ${planned.plan.reason}` : '') +
                (estimate ? `\nEstimate: ${describeEstimate(estimate, planned?.plan.kind === 'stream')}` : ''),
        );
        return controller.signal.aborted ? 130 : preflightExitCode(report);
      }
      case 'dump': {
        const out = str(v, 'out');
        if (!out) throw new UsageError('dump needs --out PATH (a file for --format custom, a new folder for --format directory).');
        const format = formatOf(v);
        const compress = compressOf(v);
        const source = side(v, 'source', io.env);
        // Each table's size, for progress by bytes (only when someone watches it).
        const weights = report ? await tableWeights(source).catch(() => undefined) : undefined;
        const result = await dump({
          source,
          ...(weights ? { weights } : {}),
          pgDump: await tool('pg_dump'),
          pgRestore: await tool('pg_restore'),
          out: resolve(out),
          format,
          ...(format === 'directory' ? { jobs: jobsOf(v) } : {}),
          noOwner: bool(v, 'no-owner'),
          noAcl: bool(v, 'no-acl'),
          overwrite: bool(v, 'overwrite'),
          schemas: list(v, 'schema'),
          excludeSchemas: list(v, 'exclude-schema'),
          tables: list(v, 'table'),
          excludeTables: list(v, 'exclude-table'),
          schemaPatterns: list(v, 'schema-pattern'),
          excludeSchemaPatterns: list(v, 'exclude-schema-pattern'),
          tablePatterns: list(v, 'table-pattern'),
          excludeTablePatterns: list(v, 'exclude-table-pattern'),
          ...(compress !== undefined ? { compress } : {}),
          lockWaitTimeoutSeconds: lockWaitOption(v),
          ...stepCallbacks,
        });
        if (json) {
          io.stdout(
            JSON.stringify(
              {
                ...stepJson(result),
                archive: result.archive && {
                  path: result.archive.path,
                  format: result.archive.format,
                  sizeBytes: result.archive.sizeBytes,
                  sha256: result.archive.sha256,
                  entries: result.archive.entries,
                },
              },
              null,
              2,
            ),
          );
        } else if (result.ok && result.archive) {
          io.stdout(
            `Dump finished in ${ms(result.durationMs)}: ${result.archive.path} (${result.archive.format}, ${formatBytes(result.archive.sizeBytes)}, ${result.archive.entries} entries)\nsha256 ${result.archive.sha256}`,
          );
        } else if (result.failure) {
          io.stderr(failureText(result.failure));
        }
        return result.ok ? 0 : 1;
      }
      case 'create-database': {
        const target = side(v, 'target', io.env);
        const like = str(v, 'like');
        const source = like ? sideFrom(v, 'like', 'source', io.env) : undefined;
        const locale = source ? await readDatabaseLocale(source) : undefined;
        const name = sideDatabase(target);
        const owner = str(v, 'owner');
        const withRoles = bool(v, 'create-roles');
        const withExtensions = bool(v, 'create-extensions');
        if ((withRoles || withExtensions) && !like)
          throw new UsageError('--create-roles and --create-extensions need --like SOURCE_URI (they copy what the source uses).');
        const result = await createDatabase(onDatabase(target, 'postgres'), name, locale, owner ? { owner } : {});
        let prepared: Awaited<ReturnType<typeof prepareTarget>> | undefined;
        if (result.ok && source && (withRoles || withExtensions)) {
          prepared = await prepareTarget(source, onDatabase(target, name), { roles: withRoles, extensions: withExtensions });
        }
        const ok = result.ok && (prepared?.failures.length ?? 0) === 0;
        if (json) io.stdout(JSON.stringify({ ok, database: name, sql: result.sql, failure: result.failure, prepared }, null, 2));
        else if (result.ok) {
          io.stdout(`Created database "${name}": ${result.sql}`);
          if (prepared) {
            for (const c of prepared.created) io.stdout(`  created ${c}`);
            for (const sk of prepared.skipped) io.stdout(`  skipped ${sk}`);
            for (const f of prepared.failures) io.stderr(`  failed: ${f}`);
          }
        } else if (result.failure) io.stderr(failureText(result.failure));
        return ok ? 0 : 1;
      }
      case 'restore': {
        const input = str(v, 'in');
        if (!input) throw new UsageError('restore needs --in PATH (an archive made by pg_dump -Fc or -Fd).');
        const confirm = str(v, 'confirm-non-empty');
        const result = await restore({
          target: side(v, 'target', io.env),
          pgRestore: await tool('pg_restore'),
          archive: resolve(input),
          jobs: jobsOf(v),
          noOwner: bool(v, 'no-owner'),
          noAcl: bool(v, 'no-acl'),
          noTableAccessMethod: bool(v, 'no-table-access-method'),
          exitOnError: bool(v, 'exit-on-error'),
          singleTransaction: bool(v, 'single-transaction'),
          schemas: list(v, 'schema'),
          ...(confirm ? { confirmNonEmptyDatabase: confirm } : {}),
          ...(bool(v, 'resume') ? { resume: true } : {}),
          ...stepCallbacks,
        });
        if (json) {
          io.stdout(
            JSON.stringify(
              {
                ...stepJson(result),
                errorCount: result.errorCount,
                errors: result.errors,
                archive: result.toc && {
                  format: result.toc.format,
                  dumpedFromVersion: result.toc.dumpedFromVersion,
                  entries: result.toc.entries.length,
                  kinds: summarizeToc(result.toc),
                },
              },
              null,
              2,
            ),
          );
        } else {
          if (result.toc)
            io.stderr(
              `Archive: ${result.toc.format ?? '?'} format, dumped from PostgreSQL ${result.toc.dumpedFromVersion ?? '?'}, ${result.toc.entries.length} entries`,
            );
          const errorLines = restoreErrorLines(result.errors, plain);
          if (errorLines.length) io.stderr(errorLines.join('\n'));
          if (result.ok) io.stdout(`Restore finished in ${ms(result.durationMs)}.`);
          else if (result.failure) io.stderr(`\n${failureText(result.failure)}`);
        }
        return result.ok ? 0 : 1;
      }
      case 'migrate':
        return migrateVerb(v, io, { json, binOpts, signal: controller.signal });
      case 'validate': {
        const concurrencyText = str(v, 'concurrency');
        const concurrency = concurrencyText !== undefined ? Number(concurrencyText) : 4;
        if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 16)
          throw new UsageError('--concurrency must be a whole number from 1 to 16.');
        let report;
        try {
          report = await validate({
            source: side(v, 'source', io.env),
            target: side(v, 'target', io.env),
            checksums: bool(v, 'checksums'),
            estimate: bool(v, 'estimate'),
            schemas: list(v, 'schema'),
            concurrency,
            signal: controller.signal,
            lockTimeoutSeconds: lockWaitOption(v),
          });
        } catch (e) {
          if (e instanceof ValidationError) {
            io.stderr(`hydra-migrate validate: ${e.message}`);
            return 2;
          }
          throw e;
        }
        io.stdout(json ? JSON.stringify(report, null, 2) : formatReportText(report, { all: bool(v, 'all') }));
        // A table that could not be read was not compared: that is "could not compare", not "differs".
        if (report.tables.some((t) => t.problems.includes('count_failed'))) return 2;
        return report.ok ? 0 : 1;
      }
      case 'sync-sequences': {
        // The cutover's last step: the target's sequences raised to the source's (never lowered).
        const changes = await syncSequences(side(v, 'source', io.env), side(v, 'target', io.env), {
          schemas: list(v, 'schema'),
          dryRun: bool(v, 'dry-run'),
        });
        const set = changes.filter((c) => c.action === 'set').length;
        if (json) io.stdout(JSON.stringify({ ok: true, dryRun: bool(v, 'dry-run'), set, changes }, null, 2));
        else {
          for (const l of sequenceChangeLines(changes)) io.stdout(`${bool(v, 'dry-run') ? '(dry run) ' : ''}${l}`);
          io.stdout(
            `${bool(v, 'dry-run') ? 'Would set' : 'Set'} ${set} of ${changes.length} sequence(s) from the source; ${changes.filter((c) => c.action === 'kept_ahead').length} ahead on the target were kept.`,
          );
        }
        return changes.some((c) => c.action === 'missing_in_target') ? 1 : 0;
      }
      case 'sync-large-object-owners': {
        // After a restore with --no-owner: each large object given back its source owner's role.
        const dryRun = bool(v, 'dry-run');
        const r = await syncLargeObjectOwners(side(v, 'source', io.env), side(v, 'target', io.env), { dryRun });
        if (json) io.stdout(JSON.stringify({ ok: true, dryRun, ...r, groups: r.groups.map(({ oids: _oids, ...g }) => g) }, null, 2));
        else for (const l of largeObjectOwnerLines(r, dryRun)) io.stdout(`${dryRun ? '(dry run) ' : ''}${l}`);
        return r.groups.some((g) => g.action !== 'set') ? 1 : 0;
      }
      case 'sync-columnar-options': {
        // Columnar options live in the extension's catalog, which pg_dump does not carry.
        const dryRun = bool(v, 'dry-run');
        const changes = await syncColumnarOptions(side(v, 'source', io.env), side(v, 'target', io.env), { dryRun });
        const set = changes.filter((c) => c.action === 'set').length;
        if (json) io.stdout(JSON.stringify({ ok: true, dryRun, set, changes }, null, 2));
        else {
          for (const l of columnarChangeLines(changes, dryRun)) io.stdout(`${dryRun ? '(dry run) ' : ''}${l}`);
          io.stdout(
            changes.length
              ? `${dryRun ? 'Would set' : 'Set'} the options of ${set} of ${changes.length} columnar table(s) from the source.`
              : 'The source keeps no columnar options (no columnar extension, or no columnar tables).',
          );
        }
        return changes.some((c) => c.action === 'missing_in_target' || c.action === 'not_offered') ? 1 : 0;
      }
      default:
        throw new UsageError(`unknown command "${verb}".`);
    }
  } finally {
    for (const s of signals) process.removeListener(s, onSigint);
  }
}
