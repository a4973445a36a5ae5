/** Validate Migration…: from a source database, a migration run, or typed arguments. */
import * as vscode from 'vscode';
import { type ExplorerNode } from '../explorer.js';
import type { RunRecord } from '../runHistory.js';
import type { ValidationArgs } from '../../shared/protocol.js';
import type { ValidationReport } from '../../shared/report.js';
import { ValidationPanel } from '../validationPanel.js';

import { isNode, pairArgs, profile, type MigrateArgs, type StepCtx } from './stepCommand.js';

const t = vscode.l10n.t;

export async function validateCommand(ctx: StepCtx, arg?: ExplorerNode | ValidationArgs | RunRecord): Promise<{ report: ValidationReport | undefined; rendered?: ValidationPanel['lastRendered'] } | undefined> {
  let args: ValidationArgs;
  if (arg && 'rerun' in arg && arg.rerun?.command === 'hydraMigrate.migrateDatabase') {
    // A migration run in the Runs view: validate the pair it migrated.
    const m = arg.rerun.args as unknown as MigrateArgs;
    const sourceDatabase = m.sourceDatabase ?? profile(ctx, m.sourceConnectionId).database;
    args = { sourceConnectionId: m.sourceConnectionId, sourceDatabase, targetConnectionId: m.targetConnectionId, targetDatabase: m.targetDatabase ?? sourceDatabase };
  } else if (arg && !isNode(arg) && 'sourceConnectionId' in arg) {
    args = arg;
  } else {
    if (arg && !isNode(arg)) return undefined;
    const pair = await pairArgs(ctx, arg);
    const checksums = await vscode.window.showQuickPick([{ label: t('Exact row counts'), id: false }, { label: t('Exact row counts and content checksums'), description: t('slower: reads every row'), id: true }], { placeHolder: t('How thorough?'), ignoreFocusOut: true });
    if (!checksums) return undefined;
    args = { sourceConnectionId: pair.sourceConnectionId, sourceDatabase: pair.sourceDatabase ?? profile(ctx, pair.sourceConnectionId).database, targetConnectionId: pair.targetConnectionId, targetDatabase: pair.targetDatabase ?? profile(ctx, pair.targetConnectionId).database, checksums: checksums.id };
  }
  const { panel, report } = await ValidationPanel.show({ extensionUri: ctx.extensionUri, store: ctx.store, log: ctx.log }, args);
  return { report, ...(panel.lastRendered ? { rendered: panel.lastRendered } : {}) };
}
