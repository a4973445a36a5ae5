/**
 * Every command of the extension, registered from one table. Each handler accepts the tree node
 * (or Explorer file, or run) it was invoked on, or nothing (palette: it asks). Automation uses the
 * typed API that activate() returns (connections, steps), not option objects passed to commands.
 */
import { exportConnectionsCommand, importConnectionsCommand } from './importCommands.js';
import { runLogUri } from './runLogs.js';
import * as vscode from 'vscode';
import { ConnectionStringError } from '../core/connection.js';
import {
  addConnection,
  copyUri,
  duplicateConnection,
  editConnection,
  moveConnection,
  openPsql,
  raise,
  removeConnection,
  renameConnection,
  resolveConnection,
  runTest,
  setPassword,
} from './connectionCommands.js';
import { Cancelled, UserError } from './errors.js';
import { type ExplorerNode } from './explorer.js';
import type { Ctx } from './ctx.js';
import { isRerun } from './steps/args.js';
import { resumeRestore, rerun, STEP_COMMANDS } from './steps/stepCommands.js';
import { isRunRecord, type RunRecord } from './runHistory.js';

const t = vscode.l10n.t;

type Handler = (ctx: Ctx, ...args: never[]) => unknown;

/** The one table of commands; package.json must contribute exactly these ids (a test checks). */
export const COMMANDS = {
  // Menus pass the tree node they were opened on, the palette nothing (the command asks);
  // automation uses the typed API (connectionApi, stepApi), never option objects.
  'hydraMigrate.addConnection': (ctx: Ctx, node?: ExplorerNode) => addConnection(ctx, node),
  'hydraMigrate.addSourceConnection': (ctx: Ctx) => addConnection(ctx, undefined, 'source'),
  'hydraMigrate.addTargetConnection': (ctx: Ctx) => addConnection(ctx, undefined, 'target'),
  'hydraMigrate.editConnection': (ctx: Ctx, node?: ExplorerNode) => editConnection(ctx, node),
  'hydraMigrate.renameConnection': (ctx: Ctx, node?: ExplorerNode) => renameConnection(ctx, node),
  'hydraMigrate.duplicateConnection': (ctx: Ctx, node?: ExplorerNode) => duplicateConnection(ctx, node),
  'hydraMigrate.importConnections': (ctx: Ctx) => importConnectionsCommand(ctx),
  'hydraMigrate.exportConnections': (ctx: Ctx) => exportConnectionsCommand(ctx),
  'hydraMigrate.removeConnection': (ctx: Ctx, node?: ExplorerNode) => removeConnection(ctx, node),
  'hydraMigrate.copyConnectionUri': (ctx: Ctx, node?: ExplorerNode) => copyUri(ctx, node),
  'hydraMigrate.moveToSource': (ctx: Ctx, node?: ExplorerNode) => moveConnection(ctx, node, 'source'),
  'hydraMigrate.moveToTarget': (ctx: Ctx, node?: ExplorerNode) => moveConnection(ctx, node, 'target'),
  'hydraMigrate.setPassword': (ctx: Ctx, node?: ExplorerNode) => setPassword(ctx, node),
  'hydraMigrate.testConnection': async (ctx: Ctx, node?: ExplorerNode) => {
    const profile = await resolveConnection(ctx, node, t('Test which connection?'));
    return profile ? runTest(ctx, profile, { quietSuccess: false }) : undefined;
  },
  'hydraMigrate.refresh': (ctx: Ctx) => ctx.explorer.refresh(),
  'hydraMigrate.refreshNode': (ctx: Ctx, node?: ExplorerNode) => ctx.explorer.refresh(node),
  'hydraMigrate.openPsql': (ctx: Ctx, node?: ExplorerNode) => openPsql(ctx, node),
  'hydraMigrate.showLog': (ctx: Ctx) => ctx.log.show(),
  ...STEP_COMMANDS,
  'hydraMigrate.showRunLog': async (_ctx: Ctx, run?: RunRecord) => {
    if (!run) return undefined;
    // Read-only, named after the run, with a header saying which run it is.
    const doc = await vscode.workspace.openTextDocument(runLogUri(run));
    await vscode.window.showTextDocument(doc, { preview: true });
    return doc.uri.toString();
  },
  'hydraMigrate.rerun': async (ctx: Ctx, run?: RunRecord) => {
    if (!isRunRecord(run) || !isRerun(run.rerun)) raise(t('This run cannot be re-run.'));
    return rerun(ctx, run.rerun);
  },
  // An interrupted or cancelled restore goes on where it stopped (what is in the target is kept).
  'hydraMigrate.resumeRun': async (ctx: Ctx, run?: RunRecord) => {
    if (!isRunRecord(run) || !isRerun(run.rerun) || run.rerun.step !== 'restore') raise(t('Only a restore can be resumed.'));
    return resumeRestore(ctx, run.rerun.args);
  },
  'hydraMigrate.clearRuns': async (ctx: Ctx) => {
    const answer = await vscode.window.showWarningMessage(t('Clear the run history and its logs?'), { modal: true }, t('Clear'));
    if (answer === t('Clear')) await ctx.history.clear();
  },
} satisfies Record<string, Handler>;

export type CommandId = keyof typeof COMMANDS;

/** Registers every command; failures are logged and shown as one sentence, never thrown at VS Code. */
export function registerCommands(ctx: Ctx): vscode.Disposable[] {
  return Object.entries(COMMANDS).map(([id, handler]) =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        return await (handler as (ctx: Ctx, ...a: unknown[]) => unknown)(ctx, ...args);
      } catch (err) {
        if (err instanceof Cancelled) return undefined;
        const message = err instanceof Error ? err.message : String(err);
        ctx.log.error(`${id} failed: ${message}`);
        if (!(err instanceof UserError) && !(err instanceof ConnectionStringError) && err instanceof Error && err.stack)
          ctx.log.debug(err.stack);
        void vscode.window.showErrorMessage(message, t('Show Log')).then((a) => {
          if (a) ctx.log.show();
        });
        return undefined;
      }
    }),
  );
}
