/**
 * The walkthrough's steps tick when the work is done, not when a button is clicked: context keys
 * computed from what exists (connections, successful runs in the Runs view, a saved validation
 * report), so work done before the walkthrough was opened (or in another window) shows as done,
 * and a step whose prompt was cancelled does not.
 */
import * as vscode from 'vscode';
import type { ConnectionStore } from './connectionStore.js';
import type { ReportStore } from './reportStore.js';
import { groupRuns, type RunHistory, type RunRecord } from './runHistory.js';

/** Walkthrough step id → the context key its completionEvents name (package.json). */
export const WALKTHROUGH_KEYS = {
  connectSource: 'hydraMigrate.walkthrough.source',
  connectTarget: 'hydraMigrate.walkthrough.target',
  migrate: 'hydraMigrate.walkthrough.migrated',
  preflight: 'hydraMigrate.walkthrough.checked',
  dump: 'hydraMigrate.walkthrough.dumped',
  createDatabase: 'hydraMigrate.walkthrough.created',
  restore: 'hydraMigrate.walkthrough.restored',
  validate: 'hydraMigrate.walkthrough.validated',
} as const;

export type WalkthroughState = Record<keyof typeof WALKTHROUGH_KEYS, boolean>;

/** What is done, from the connections, the runs and whether a validation report was saved. */
export function walkthroughState(runs: RunRecord[], sources: number, targets: number, validated: boolean): WalkthroughState {
  const succeeded = (step: string): boolean => runs.some((r) => r.step === step && r.ok && !r.state);
  return {
    connectSource: sources > 0,
    connectTarget: targets > 0,
    migrate: groupRuns(runs).some((g) => 'group' in g && g.ok && !g.state),
    preflight: succeeded('preflight'),
    dump: succeeded('dump'),
    createDatabase: succeeded('create-database'),
    restore: succeeded('restore'),
    validate: validated,
  };
}

/** Keeps the context keys current; `current()` is what they were last set to (for tests). */
export function trackWalkthrough(
  store: ConnectionStore,
  history: RunHistory,
  reports: ReportStore,
): vscode.Disposable & { current(): WalkthroughState | undefined; refreshed(): Promise<void> } {
  let state: WalkthroughState | undefined;
  let pending: Promise<void> = Promise.resolve();
  const update = (): Promise<void> =>
    (pending = pending.then(async () => {
      const validated = await reports.hasAny();
      state = walkthroughState(history.list(), store.list('source').length, store.list('target').length, validated);
      for (const [step, key] of Object.entries(WALKTHROUGH_KEYS))
        await vscode.commands.executeCommand('setContext', key, state[step as keyof WalkthroughState]);
    }));
  void update();
  const subs = [
    store.onDidChange(() => void update()),
    history.onDidChangeTreeData(() => void update()),
    reports.onDidSave(() => void update()),
  ];
  return {
    current: () => state,
    refreshed: () => update(),
    dispose: () => {
      for (const sub of subs) sub.dispose();
    },
  };
}
