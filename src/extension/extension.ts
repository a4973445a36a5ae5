import { loadStarted } from './loadClock.js';
import * as vscode from 'vscode';
import { join } from 'node:path';
import { EstimateHistory } from '../core/estimate.js';
import { PoolCache } from '../core/pg.js';
import { registerCommands } from './commands.js';
import { connectionApi, type ConnectionApi } from './connectionCommands.js';
import type { Ctx } from './ctx.js';
import { ConnectionStore, STATE_KEY } from './connectionStore.js';
import { ConnectionsExplorer, type ExplorerNode } from './explorer.js';
import { HEARTBEAT_MS, RunHistory } from './runHistory.js';
import { ReportStore } from './reportStore.js';
import { RunningSteps } from './runningSteps.js';
import { addServiceConnections } from './serviceConnections.js';
import { trackWalkthrough, type WalkthroughState } from './walkthrough.js';
import { registerTasks, resolveHydraTask, type HydraTaskDefinition } from './tasks.js';
import { registerRunLogs } from './runLogs.js';
import { stepApi, type StepApi } from './steps/stepCommands.js';
import type { ValidationArgs } from '../shared/protocol.js';
import { ValidationPanel, ValidationSerializer, VIEW_TYPE } from './validationPanel.js';

/** What activate() returns: read-only views for automation and the extension-host tests. */
export interface HydraMigrateApi {
  /** Every key and value the extension keeps in globalState and workspaceState (never secrets). */
  storedState(): { globalState: Record<string, unknown>; workspaceState: Record<string, unknown> };
  /** The globalState keys given to Settings Sync (setKeysForSync). */
  syncedKeys(): string[];
  /** The explorer's data provider, to walk the tree as VS Code does. */
  explorer: vscode.TreeDataProvider<ExplorerNode>;
  /** Whether SecretStorage holds a password for the connection (the password itself is not exposed). */
  passwordStored(connectionId: string): Promise<boolean>;
  /** Open validation panels (what they received and what they show). */
  validationPanels(): ValidationPanel[];
  /** What the walkthrough shows as done (the context keys its steps' completionEvents name). */
  walkthrough(): Promise<WalkthroughState>;
  /** The run history (Runs view). */
  runs: RunHistory;
  /** The steps running now (what the status bar shows). */
  running: RunningSteps;
  /** The migration steps without prompts: typed arguments in, the step's result out. */
  steps: StepApi;
  /** The connection commands without prompts. */
  connections: ConnectionApi;
  /** Tasks of type hydra-migrate, as tasks.json resolves them. */
  tasks: { resolve(definition: HydraTaskDefinition): vscode.Task };
  /** Opens the validation view of a pair with its last saved report, as a window reload does (never validates). */
  showSavedValidation(args: ValidationArgs): Promise<ValidationPanel>;
  /** Milliseconds spent reading, compiling and evaluating the bundle (see loadClock.ts), and running activate(). */
  timings: { bundleLoadMs: number; activateMs: number };
}

const bundleEvaluated = performance.now();

export function activate(context: vscode.ExtensionContext): HydraMigrateApi | undefined {
  const log = vscode.window.createOutputChannel('Hydra Migrate', { log: true });
  context.subscriptions.push(log);
  try {
    const started = performance.now();
    const pools = new PoolCache();
    context.subscriptions.push({ dispose: () => void pools.closeAll() });
    const store = new ConnectionStore(context.globalState, context.secrets, log);
    // Profiles roam with Settings Sync (hosts, ports, users, databases; passwords stay in each machine's keychain).
    const synced = vscode.workspace.getConfiguration('hydraMigrate').get<boolean>('syncConnections', true) ? [STATE_KEY] : [];
    context.globalState.setKeysForSync(synced);
    const explorer = new ConnectionsExplorer(store, pools, log);
    const view = vscode.window.createTreeView('hydraMigrate.connections', { treeDataProvider: explorer, showCollapseAll: true });
    context.subscriptions.push(store, explorer, view);
    const history = new RunHistory(context.globalState, context.globalStorageUri);
    // Runs a window left running without a heartbeat: VS Code closed or reloaded while they ran.
    void history.interruptStale();
    // And while this window runs: another window's runs whose window went away.
    const staleCheck = setInterval(() => void history.interruptStale(), HEARTBEAT_MS);
    context.subscriptions.push({ dispose: () => clearInterval(staleCheck) });
    const runsView = vscode.window.createTreeView('hydraMigrate.runs', { treeDataProvider: history });
    const running = new RunningSteps();
    const reports = new ReportStore(context.globalStorageUri);
    context.subscriptions.push(history, runsView, running);
    const estimates = new EstimateHistory(join(context.globalStorageUri.fsPath, 'estimates.json'));
    const ctx: Ctx = { extensionUri: context.extensionUri, store, explorer, log, view, history, running, reports, estimates };
    context.subscriptions.push(
      vscode.window.registerWebviewPanelSerializer(
        VIEW_TYPE,
        new ValidationSerializer({ extensionUri: context.extensionUri, store, log, reports }),
      ),
    );
    context.subscriptions.push(...registerCommands(ctx));
    context.subscriptions.push(registerTasks(ctx), registerRunLogs(history));
    const walkthrough = trackWalkthrough(store, history, reports);
    context.subscriptions.push(walkthrough);
    const updateEmpty = (): void =>
      void vscode.commands.executeCommand('setContext', 'hydraMigrate.hasConnections', store.list().length > 0);
    updateEmpty();
    context.subscriptions.push(store.onDidChange(updateEmpty));
    // Connections declared by service name in the settings: added at start and when the setting changes.
    const declared = (): void =>
      void addServiceConnections(store, log).then((problems) => {
        if (problems.length)
          void vscode.window.showWarningMessage(vscode.l10n.t('hydraMigrate.serviceConnections: {0}', problems.join(' ')));
      });
    declared();
    context.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('hydraMigrate.serviceConnections')) declared();
      }),
    );
    const activateMs = performance.now() - started;
    log.info(`Hydra Migrate activated in ${activateMs.toFixed(1)} ms.`);
    const snapshot = (m: vscode.Memento): Record<string, unknown> => Object.fromEntries(m.keys().map((k) => [k, m.get(k)]));
    return {
      storedState: () => ({ globalState: snapshot(context.globalState), workspaceState: snapshot(context.workspaceState) }),
      syncedKeys: () => [...synced],
      explorer,
      passwordStored: (id) => store.hasPassword(id),
      runs: history,
      running,
      steps: stepApi(ctx),
      connections: connectionApi(ctx),
      tasks: { resolve: (definition) => resolveHydraTask(ctx, definition) },
      showSavedValidation: (args) => {
        const panel = vscode.window.createWebviewPanel(
          VIEW_TYPE,
          vscode.l10n.t('Validation'),
          vscode.ViewColumn.Active,
          ValidationPanel.options(context.extensionUri),
        );
        return ValidationPanel.revive({ extensionUri: context.extensionUri, store, log, reports }, panel, args);
      },
      validationPanels: () => ValidationPanel.all(),
      walkthrough: async () => {
        await walkthrough.refreshed();
        return walkthrough.current()!;
      },
      timings: { bundleLoadMs: bundleEvaluated - loadStarted, activateMs },
    };
  } catch (err) {
    // VS Code shows nothing when activation fails: say it ourselves.
    const message = err instanceof Error ? err.message : String(err);
    log.error(`Activation failed: ${message}`);
    void vscode.window.showErrorMessage(vscode.l10n.t('Hydra Migrate could not start: {0}', message));
    return undefined;
  }
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
