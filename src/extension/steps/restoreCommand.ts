/** Restore Dump…: asks for the target database, the archive and the options, then restores (and analyzes). */
import * as vscode from 'vscode';
import { readArchive, summarizeToc } from '../../core/archive.js';
import { restoreErrorLines, tocLine } from '../../core/present/steps.js';
import { ansi as style } from '../../core/present/style.js';
import { analyze } from '../../core/analyze.js';
import { locateTool } from '../../core/pgbin.js';
import { restore, schemasInArchive } from '../../core/restore.js';
import { dropAndRecreateDatabase } from '../../core/dropDatabase.js';
import { checkRestoreTarget } from './restoreTarget.js';
import { databaseOf, profileOf, type ExplorerNode } from '../explorer.js';
import { defaultDumpFolder, settings, toolOptions } from '../settings.js';

import {
  ask,
  failureLines,
  isNode,
  pickConnection,
  pickFlags,
  profile,
  runRecorded,
  sideOf,
  type StepCommandResult,
  type StepCtx,
} from './stepCommand.js';
import { withoutAnswers, type RestoreArgs } from './args.js';

const t = vscode.l10n.t;

/** Asks what the step needs; undefined when the user dismissed a prompt. */
export async function promptRestore(ctx: StepCtx, arg?: ExplorerNode | vscode.Uri): Promise<RestoreArgs | undefined> {
  const fromNode = isNode(arg) ? arg : undefined;
  const p = profileOf(fromNode) ?? (await pickConnection(ctx, 'target', t('Restore into which connection?')));
  const database = databaseOf(fromNode) ?? (await ask(t('Database to restore into (it must exist and be empty)'), p.database));
  // The target first: a database that is missing or not empty is settled before the archive and the options.
  const choice = await checkRestoreTarget(ctx, p, database);
  let archive = arg instanceof vscode.Uri ? arg.fsPath : undefined;
  if (!archive) {
    const picked = await vscode.window.showOpenDialog({
      title: t('Choose the archive (a .dump file or a dump directory)'),
      canSelectFiles: true,
      canSelectFolders: true,
      canSelectMany: false,
      defaultUri: vscode.Uri.file(defaultDumpFolder()),
      openLabel: t('Restore this'),
    });
    if (!picked?.[0]) return undefined;
    archive = picked[0].fsPath;
  }
  const cfg = settings();
  const binOpts = toolOptions(cfg);
  const read = await readArchive((await locateTool('pg_restore', binOpts)).path, archive);
  if (!read.ok) throw new Error(`${read.failure.message} ${read.failure.hint}`);
  const toc = read.value;
  const kinds = summarizeToc(toc)
    .slice(0, 6)
    .map((k) => `${k.count} ${k.desc}`)
    .join(', ');
  const flags = await pickFlags(t('Restore {0} entries (PostgreSQL {1}): {2}', toc.entries.length, toc.dumpedFromVersion ?? '?', kinds), [
    { id: 'noOwner', label: '--no-owner', detail: t('objects belong to the restoring user'), picked: true },
    { id: 'noAcl', label: '--no-acl', detail: t('skip GRANTs'), picked: true },
    {
      id: 'noTableAccessMethod',
      label: '--no-table-access-method',
      detail: t('create columnar tables as heap (only if the target cannot have columnar)'),
      picked: false,
    },
    { id: 'analyze', label: 'ANALYZE', detail: t('vacuumdb --analyze-only afterwards'), picked: true },
  ]);
  const inArchive = [...schemasInArchive(toc)].sort();
  let schemas: string[] | undefined;
  if (inArchive.length > 1) {
    const pick = await vscode.window.showQuickPick(
      inArchive.map((x) => ({ label: x, picked: true })),
      { canPickMany: true, title: t('Schemas to restore (all by default)'), ignoreFocusOut: true },
    );
    if (!pick || pick.length === 0) return undefined;
    if (pick.length < inArchive.length) schemas = pick.map((x) => x.label);
  }
  return {
    connectionId: p.id,
    database,
    archive,
    noOwner: flags.has('noOwner'),
    noAcl: flags.has('noAcl'),
    noTableAccessMethod: flags.has('noTableAccessMethod'),
    analyze: flags.has('analyze'),
    ...(schemas ? { schemas } : {}),
    ...(choice.confirmNonEmpty ? { confirmNonEmpty: choice.confirmNonEmpty } : {}),
    ...(choice.recreate ? { recreate: choice.recreate } : {}),
  };
}

/** Runs the step with these arguments (after the prompts, from the API, on Re-run). */
export async function runRestore(ctx: StepCtx, args: RestoreArgs): Promise<StepCommandResult> {
  const p = profile(ctx, args.connectionId);
  const cfg = settings();
  const binOpts = toolOptions(cfg);
  const title = args.resume
    ? t('Resume the restore into {0}', `${p.name}/${args.database}`)
    : t('Restore into {0}', `${p.name}/${args.database}`);
  return runRecorded(
    ctx,
    title,
    {
      step: 'restore',
      title,
      target: `${p.name}/${args.database}`,
      archivePath: args.archive,
      // A re-run asks again about a target that is not empty (it never drops or restores on top unasked).
      rerun: { step: 'restore', args: withoutAnswers(args) },
    },
    async (io, _c, extra) => {
      const pgRestore = await locateTool('pg_restore', binOpts);
      const side = await sideOf(ctx, p, args.database);
      let confirm = args.confirmNonEmpty;
      if (args.recreate !== undefined && !args.resume) {
        if (args.recreate !== args.database)
          return { ok: false, summary: [t('Not dropped: "recreate" must be the database name "{0}" exactly.', args.database)] };
        // The archive must be readable before its target is dropped for it.
        const readable = await readArchive(pgRestore.path, args.archive);
        if (!readable.ok) {
          extra.errorSummary = readable.failure.message;
          return { ok: false, summary: [...failureLines(readable.failure), t('"{0}" was not dropped.', args.database)] };
        }
        const dropped = await dropAndRecreateDatabase(await sideOf(ctx, p, 'postgres'), args.database);
        for (const sql of dropped.sql) io.command(sql);
        if (!dropped.ok) {
          extra.errorSummary = dropped.failure.message;
          return { ok: false, summary: failureLines(dropped.failure) };
        }
        io.line(style.dim(t('"{0}" dropped and created again, empty.', args.database)));
        ctx.explorer.refresh({ kind: 'connection', profile: p });
      }
      const r = await restore({
        target: side,
        pgRestore: pgRestore.path,
        archive: args.archive,
        jobs: args.jobs ?? cfg.jobs,
        ...(args.noOwner ? { noOwner: true } : {}),
        ...(args.noAcl ? { noAcl: true } : {}),
        ...(args.noTableAccessMethod ? { noTableAccessMethod: true } : {}),
        ...(confirm ? { confirmNonEmptyDatabase: confirm } : {}),
        ...(args.resume ? { resume: true } : {}),
        ...(args.schemas ? { schemas: args.schemas } : {}),
        signal: io.signal,
        onCommand: io.command,
        onLine: io.output,
        onProgress: io.progress,
        onToc: (toc) => io.line(style.dim(tocLine(toc))),
      });
      if (!r.ok) {
        confirm = undefined;
        extra.errorSummary = r.failure?.message;
        const lines = [...failureLines(r.failure), ...restoreErrorLines(r.errors, style)];
        return { ok: false, cancelled: r.cancelled, summary: lines };
      }
      const summary = [`restored ${r.toc?.entries.length ?? 0} entries into "${args.database}" with no errors`];
      if (args.analyze !== false) {
        const vacuumdb = await locateTool('vacuumdb', binOpts).catch(() => undefined);
        if (vacuumdb) {
          io.line('');
          const a = await analyze({
            target: side,
            vacuumdb: vacuumdb.path,
            jobs: args.jobs ?? cfg.jobs,
            signal: io.signal,
            onCommand: io.command,
            onLine: io.output,
          });
          summary.push(a.ok ? 'ANALYZE done: planner statistics are fresh' : `ANALYZE failed: ${a.failure?.message ?? ''}`);
        }
      }
      return { ok: true, summary };
    },
  );
}

export async function restoreCommand(ctx: StepCtx, arg?: ExplorerNode | vscode.Uri): Promise<StepCommandResult | undefined> {
  const args = await promptRestore(ctx, arg);
  return args ? runRestore(ctx, args) : undefined;
}
