/** Validate Migration…: from a source database, a migration run in the Runs view, or the API. */
import * as vscode from 'vscode';
import type { SourceSnapshot } from '../../core/snapshot.js';
import type { ValidationArgs } from '../../shared/protocol.js';
import type { ValidationReport } from '../../shared/report.js';
import { type ExplorerNode } from '../explorer.js';
import { isRunRecord, type RunRecord } from '../runHistory.js';
import { ValidationPanel } from '../validationPanel.js';
import { profile, promptPair, type StepCtx } from './stepCommand.js';

const t = vscode.l10n.t;

export interface ValidateCommandResult {
  report: ValidationReport | undefined;
  rendered?: ValidationPanel['lastRendered'];
}

/** The pair to compare: the one a migration run migrated, or asked (source from the node). */
export async function promptValidate(ctx: StepCtx, arg?: ExplorerNode | RunRecord): Promise<ValidationArgs | undefined> {
  if (isRunRecord(arg)) {
    if (arg.rerun?.step !== 'migrate') return undefined;
    const m = arg.rerun.args;
    const sourceDatabase = m.sourceDatabase ?? profile(ctx, m.sourceConnectionId).database;
    return {
      sourceConnectionId: m.sourceConnectionId,
      sourceDatabase,
      targetConnectionId: m.targetConnectionId,
      targetDatabase: m.targetDatabase ?? sourceDatabase,
    };
  }
  const pair = await promptPair(ctx, arg);
  const checksums = await vscode.window.showQuickPick(
    [
      { label: t('Exact row counts'), id: false },
      { label: t('Exact row counts and content checksums'), description: t('slower: reads every row'), id: true },
    ],
    { placeHolder: t('How thorough?'), ignoreFocusOut: true },
  );
  if (!checksums) return undefined;
  return {
    sourceConnectionId: pair.sourceConnectionId,
    sourceDatabase: pair.sourceDatabase ?? profile(ctx, pair.sourceConnectionId).database,
    targetConnectionId: pair.targetConnectionId,
    targetDatabase: pair.targetDatabase ?? profile(ctx, pair.targetConnectionId).database,
    checksums: checksums.id,
  };
}

/** Opens the validation view for the pair and runs the comparison. */
export async function runValidate(
  ctx: StepCtx,
  args: ValidationArgs,
  sourceSnapshot?: Pick<SourceSnapshot, 'id' | 'takenAt'>,
): Promise<ValidateCommandResult> {
  const { panel, report } = await ValidationPanel.show(
    { extensionUri: ctx.extensionUri, store: ctx.store, log: ctx.log, reports: ctx.reports },
    args,
    sourceSnapshot,
  );
  return { report, ...(panel.lastRendered ? { rendered: panel.lastRendered } : {}) };
}

export async function validateCommand(ctx: StepCtx, arg?: ExplorerNode | RunRecord): Promise<ValidateCommandResult | undefined> {
  const args = await promptValidate(ctx, arg);
  return args ? runValidate(ctx, args) : undefined;
}
