/**
 * The one context every command receives (built once in activate() and passed explicitly, as in
 * rust-analyzer's ctx.ts): the stores, the views, the log, the run history and the steps running.
 */
import type { EstimateHistory } from '../core/estimate.js';
import type * as vscode from 'vscode';
import type { ConnectionStore } from './connectionStore.js';
import type { ConnectionsExplorer, ExplorerNode } from './explorer.js';
import type { RunHistory } from './runHistory.js';
import type { ReportStore } from './reportStore.js';
import type { RunningSteps } from './runningSteps.js';

export interface Ctx {
  extensionUri: vscode.Uri;
  /** Connection profiles and their passwords (SecretStorage). */
  store: ConnectionStore;
  explorer: ConnectionsExplorer;
  view: vscode.TreeView<ExplorerNode>;
  log: vscode.LogOutputChannel;
  /** Every step run (the Runs view). */
  history: RunHistory;
  /** The steps running now (status bar; cancelled on deactivation). */
  running: RunningSteps;
  /** The last validation report of each pair (shown again after a reload). */
  reports: ReportStore;
  /** What earlier migrations between the same servers taught the time estimate. */
  estimates: EstimateHistory;
}
