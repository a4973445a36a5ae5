/**
 * Every command of the extension, registered from one table. Each handler accepts the tree node
 * it was invoked on (context menu), nothing (palette: it asks), or an options object (automation
 * and tests), and returns a value that says what it did.
 */
import * as vscode from 'vscode';
import { ConnectionStringError, type ConnectionTarget } from '../core/connection.js';
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
  type AddConnectionArgs,
  type ConnectionArg,
} from './connectionCommands.js';
import { Cancelled, UserError } from './errors.js';
import { type ExplorerNode } from './explorer.js';
import type { Ctx } from './ctx.js';
import { isRerun } from './steps/args.js';
import { rerun, STEP_COMMANDS } from './steps/stepCommands.js';
import { isRunRecord, type RunRecord } from './runHistory.js';

const t = vscode.l10n.t;

type Handler = (ctx: Ctx, ...args: never[]) => unknown;

/** The one table of commands; package.json must contribute exactly these ids (a test checks). */
export const COMMANDS = {
  'hydraMigrate.addConnection': (ctx: Ctx, arg?: AddConnectionArgs | ExplorerNode) => addConnection(ctx, arg),
  'hydraMigrate.addSourceConnection': (ctx: Ctx, arg?: AddConnectionArgs) => addConnection(ctx, arg, 'source'),
  'hydraMigrate.addTargetConnection': (ctx: Ctx, arg?: AddConnectionArgs) => addConnection(ctx, arg, 'target'),
  'hydraMigrate.editConnection': (
    ctx: Ctx,
    arg?: ConnectionArg,
    changes?: { target?: Partial<ConnectionTarget>; password?: string | null },
  ) => editConnection(ctx, arg, changes),
  'hydraMigrate.renameConnection': (ctx: Ctx, arg?: ConnectionArg, name?: string) => renameConnection(ctx, arg, name),
  'hydraMigrate.duplicateConnection': (ctx: Ctx, arg?: ConnectionArg) => duplicateConnection(ctx, arg),
  'hydraMigrate.removeConnection': (ctx: Ctx, arg?: ConnectionArg, opts?: { skipConfirmation?: boolean }) =>
    removeConnection(ctx, arg, opts),
  'hydraMigrate.copyConnectionUri': (ctx: Ctx, arg?: ConnectionArg) => copyUri(ctx, arg),
  'hydraMigrate.moveToSource': (ctx: Ctx, arg?: ConnectionArg) => moveConnection(ctx, arg, 'source'),
  'hydraMigrate.moveToTarget': (ctx: Ctx, arg?: ConnectionArg) => moveConnection(ctx, arg, 'target'),
  'hydraMigrate.setPassword': (ctx: Ctx, arg?: ConnectionArg, password?: string) => setPassword(ctx, arg, password),
  'hydraMigrate.testConnection': async (ctx: Ctx, arg?: ConnectionArg) => {
    const profile = await resolveConnection(ctx, arg, t('Test which connection?'));
    return profile ? runTest(ctx, profile, { quietSuccess: false }) : undefined;
  },
  'hydraMigrate.refresh': (ctx: Ctx) => ctx.explorer.refresh(),
  'hydraMigrate.refreshNode': (ctx: Ctx, node?: ExplorerNode) => ctx.explorer.refresh(node),
  'hydraMigrate.openPsql': (ctx: Ctx, arg?: ConnectionArg) => openPsql(ctx, arg),
  'hydraMigrate.showLog': (ctx: Ctx) => ctx.log.show(),
  ...STEP_COMMANDS,
  'hydraMigrate.showRunLog': async (ctx: Ctx, run?: RunRecord) => {
    if (!run) return undefined;
    const doc = await vscode.workspace.openTextDocument(ctx.history.logUri(run.id));
    await vscode.window.showTextDocument(doc, { preview: true });
    return doc.uri.toString();
  },
  'hydraMigrate.rerun': async (ctx: Ctx, run?: RunRecord) => {
    if (!isRunRecord(run) || !isRerun(run.rerun)) raise(t('This run cannot be re-run.'));
    return rerun(ctx, run.rerun);
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
