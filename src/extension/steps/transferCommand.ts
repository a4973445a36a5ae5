/** Transfer Dump…: copies an archive to another host over ssh and verifies it there. */
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import * as vscode from 'vscode';
import { defaultDumpFolder } from '../settings.js';
import { transfer } from '../../core/transfer.js';
import type { RunRecord } from '../runHistory.js';

import { ask, failureLines, runRecorded, type StepCommandResult, type StepCtx } from './stepCommand.js';
import type { TransferArgs } from './args.js';

const t = vscode.l10n.t;

/** Asks what the step needs; undefined when the user dismissed a prompt. */
export async function promptTransfer(_ctx: StepCtx, arg?: vscode.Uri | RunRecord): Promise<TransferArgs | undefined> {
  let archive = arg instanceof vscode.Uri ? arg.fsPath : arg?.archivePath;
  if (!archive) {
    const picked = await vscode.window.showOpenDialog({
      title: t('Choose the archive to transfer'),
      canSelectFiles: true,
      canSelectFolders: true,
      canSelectMany: false,
      defaultUri: vscode.Uri.file(defaultDumpFolder()),
    });
    if (!picked?.[0]) return undefined;
    archive = picked[0].fsPath;
  }
  const dest = await ask(t('Copy to (user@host or user@host:port)'), '', (v) =>
    /^[^@\s]+@[^:\s]+(:\d{1,5})?$/.test(v.trim()) ? undefined : t('Write it as user@host or user@host:port.'),
  );
  const m = /^([^@]+)@([^:]+)(?::(\d+))?$/.exec(dest)!;
  const remoteDir = await ask(t('Remote folder (created when missing)'), '/var/tmp/hydra-migrate');
  const key = await vscode.window.showQuickPick(
    [
      { label: t('Use my ssh agent / default keys'), id: '' },
      { label: t('Choose an identity file…'), id: 'pick' },
    ],
    { placeHolder: t('ssh key'), ignoreFocusOut: true },
  );
  if (!key) return undefined;
  let identityFile: string | undefined;
  if (key.id === 'pick') {
    const picked = await vscode.window.showOpenDialog({
      title: t('Private key file'),
      canSelectMany: false,
      defaultUri: vscode.Uri.file(join(homedir(), '.ssh')),
    });
    if (!picked?.[0]) return undefined;
    identityFile = picked[0].fsPath;
  }
  const tool = await vscode.window.showQuickPick(
    [
      { label: 'rsync', description: t('resumes interrupted copies'), id: 'rsync' as const },
      { label: 'scp', description: t('when rsync is missing on the far side'), id: 'scp' as const },
    ],
    { ignoreFocusOut: true },
  );
  if (!tool) return undefined;
  return {
    archive,
    user: m[1]!,
    host: m[2]!,
    remoteDir,
    tool: tool.id,
    ...(m[3] ? { port: Number(m[3]) } : {}),
    ...(identityFile ? { identityFile } : {}),
  };
}

/** Runs the step with these arguments (after the prompts, from the API, on Re-run). */
export async function runTransfer(ctx: StepCtx, args: TransferArgs): Promise<StepCommandResult> {
  const title = t('Transfer {0} to {1}', basename(args.archive), `${args.user}@${args.host}`);
  return runRecorded(
    ctx,
    title,
    {
      step: 'transfer',
      title,
      target: `${args.user}@${args.host}:${args.remoteDir}`,
      archivePath: args.archive,
      rerun: { step: 'transfer', args: { ...args } },
    },
    async (io, _c, extra) => {
      const r = await transfer({ ...args, signal: io.signal, onCommand: io.command, onLine: io.output, onProgress: io.progress });
      if (!r.ok) extra.errorSummary = r.failure?.message;
      return r.ok
        ? { ok: true, summary: [`copied to ${r.remotePath}`, r.verifyNote ?? ''] }
        : { ok: false, cancelled: r.cancelled, summary: failureLines(r.failure) };
    },
  );
}

export async function transferCommand(ctx: StepCtx, arg?: vscode.Uri | RunRecord): Promise<StepCommandResult | undefined> {
  const args = await promptTransfer(ctx, arg);
  return args ? runTransfer(ctx, args) : undefined;
}
