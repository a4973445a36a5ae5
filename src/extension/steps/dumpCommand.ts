/** Dump Database…: asks for format, options, schemas and the archive path, then runs the dump. */
import { dirname, join } from 'node:path';
import * as vscode from 'vscode';
import { formatBytes, listSchemas } from '../../core/catalog.js';
import { dump, privateFolder } from '../../core/dump.js';
import { ConnectionError } from '../../core/pg.js';
import { locateTool } from '../../core/pgbin.js';
import { withSide } from '../../core/side.js';
import { databaseOf, profileOf, type ExplorerNode } from '../explorer.js';
import { defaultDumpFolder, settings, toolOptions } from '../settings.js';

import {
  failureLines,
  pickConnection,
  pickFlags,
  profile,
  runRecorded,
  safeFileName,
  sideOf,
  timestamp,
  type StepCommandResult,
  type StepCtx,
} from './stepCommand.js';
import type { DumpArgs } from './args.js';

const t = vscode.l10n.t;

/** Asks what the step needs; undefined when the user dismissed a prompt. */
export async function promptDump(ctx: StepCtx, arg?: ExplorerNode): Promise<DumpArgs | undefined> {
  const p = profileOf(arg) ?? (await pickConnection(ctx, 'source', t('Dump from which connection?')));
  const database = databaseOf(arg) ?? p.database;
  const format = await vscode.window.showQuickPick(
    [
      { label: t('Directory (parallel, fastest)'), description: '-Fd --jobs N', id: 'directory' as const },
      { label: t('Custom (one portable file)'), description: '-Fc', id: 'custom' as const },
    ],
    { title: t('Dump "{0}"', database), placeHolder: t('Archive format'), ignoreFocusOut: true },
  );
  if (!format) return undefined;
  const flags = await pickFlags(t('Dump options'), [
    { id: 'noOwner', label: '--no-owner', detail: t('do not record object owners (roles differ between environments)'), picked: true },
    { id: 'noAcl', label: '--no-acl', detail: t('do not record GRANTs'), picked: true },
  ]);
  let schemas: string[] | undefined;
  try {
    const all = await withSide(await sideOf(ctx, p, database), async (client) =>
      (await listSchemas(async (text, values) => (await client.query(text, values)).rows as never)).map((x) => x.name),
    );
    if (all.length > 1) {
      const pick = await vscode.window.showQuickPick(
        all.map((x) => ({ label: x, picked: true })),
        { canPickMany: true, title: t('Schemas to dump (all by default)'), ignoreFocusOut: true },
      );
      if (!pick || pick.length === 0) return undefined;
      if (pick.length < all.length) schemas = pick.map((x) => x.label);
    }
  } catch (err) {
    if (err instanceof ConnectionError) throw new Error(`${err.explained.message} ${err.explained.hint}`);
    throw err;
  }
  const folder = defaultDumpFolder();
  const defaultUri = vscode.Uri.file(join(folder, `${safeFileName(database)}-${timestamp()}${format.id === 'custom' ? '.dump' : '.dir'}`));
  privateFolder(folder);
  const target = await vscode.window.showSaveDialog({ defaultUri, title: t('Where to write the archive'), saveLabel: t('Dump here') });
  if (!target) return undefined;
  return {
    connectionId: p.id,
    database,
    out: target.fsPath,
    format: format.id,
    noOwner: flags.has('noOwner'),
    noAcl: flags.has('noAcl'),
    overwrite: false,
    ...(schemas ? { schemas } : {}),
  };
}

/** Runs the step with these arguments (after the prompts, from the API, on Re-run). */
export async function runDump(ctx: StepCtx, args: DumpArgs): Promise<StepCommandResult> {
  const p = profile(ctx, args.connectionId);
  const database = args.database ?? p.database;
  const format = args.format ?? 'directory';
  const out =
    args.out ??
    join(args.folder ?? defaultDumpFolder(), `${safeFileName(database)}-${timestamp()}${format === 'custom' ? '.dump' : '.dir'}`);
  const cfg = settings();
  const binOpts = toolOptions(cfg);
  return runRecorded(
    ctx,
    t('Dump {0}', `${p.name}/${database}`),
    {
      step: 'dump',
      title: t('Dump {0}', `${p.name}/${database}`),
      source: `${p.name}/${database}`,
      archivePath: out,
      // A re-run writes a new archive next to this one (the same path would exist already).
      rerun: { step: 'dump', args: { ...args, out: undefined, folder: dirname(out), overwrite: false } },
    },
    async (io, _c, extra) => {
      const [pgDump, pgRestore] = await Promise.all([locateTool('pg_dump', binOpts), locateTool('pg_restore', binOpts)]);
      const r = await dump({
        source: await sideOf(ctx, p, database),
        pgDump: pgDump.path,
        pgRestore: pgRestore.path,
        out,
        format,
        ...(format === 'directory' ? { jobs: args.jobs ?? cfg.jobs } : {}),
        lockWaitTimeoutSeconds: cfg.lockWaitTimeoutSeconds,
        ...(args.noOwner ? { noOwner: true } : {}),
        ...(args.noAcl ? { noAcl: true } : {}),
        ...(args.overwrite ? { overwrite: true } : {}),
        ...(args.schemas?.length ? { schemas: args.schemas } : {}),
        signal: io.signal,
        onCommand: io.command,
        onLine: io.output,
        onProgress: io.progress,
      });
      if (r.archive) {
        extra.sha256 = r.archive.sha256;
        return {
          ok: true,
          summary: [
            `archive: ${r.archive.path}`,
            `${r.archive.format} format, ${formatBytes(r.archive.sizeBytes)}, ${r.archive.entries} entries (verified with pg_restore -l)`,
            `sha256: ${r.archive.sha256}`,
          ],
        };
      }
      if (r.failure) extra.errorSummary = r.failure.message;
      return { ok: false, cancelled: r.cancelled, summary: failureLines(r.failure) };
    },
  );
}

export async function dumpCommand(ctx: StepCtx, arg?: ExplorerNode): Promise<StepCommandResult | undefined> {
  const args = await promptDump(ctx, arg);
  return args ? runDump(ctx, args) : undefined;
}
