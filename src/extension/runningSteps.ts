/**
 * The steps running right now. It owns the status bar item (one item for all steps: the latest
 * running step with its percentage, or how many run), hides it only when the last step ends, and
 * cancels every running step (their tools' process groups) when the extension is deactivated.
 */
import * as vscode from 'vscode';

export interface RunningStep {
  /** The step's progress in percent, shown in the status bar. */
  update(percent?: number): void;
  /** The step ended: it leaves the status bar. */
  end(): void;
}

interface Entry {
  name: string;
  percent?: number;
  controller: AbortController;
}

export class RunningSteps implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly entries: Entry[] = [];

  constructor() {
    this.item = vscode.window.createStatusBarItem('hydraMigrate.step', vscode.StatusBarAlignment.Left, 10);
    this.item.name = vscode.l10n.t('Hydra Migrate step');
    this.item.command = 'workbench.action.terminal.focus';
  }

  /** Registers a step; aborting `controller` cancels it. */
  start(name: string, controller: AbortController): RunningStep {
    const entry: Entry = { name, controller };
    this.entries.push(entry);
    this.render();
    return {
      update: (percent) => {
        if (entry.percent === percent) return;
        entry.percent = percent;
        this.render();
      },
      end: () => {
        const i = this.entries.indexOf(entry);
        if (i >= 0) this.entries.splice(i, 1);
        this.render();
      },
    };
  }

  /** Names of the steps still running, oldest first. */
  names(): string[] {
    return this.entries.map((e) => e.name);
  }

  /** What the status bar shows now (undefined when hidden). */
  statusText(): string | undefined {
    return this.entries.length ? this.item.text : undefined;
  }

  private render(): void {
    const latest = this.entries.at(-1);
    if (!latest) {
      this.item.hide();
      return;
    }
    const percent = latest.percent !== undefined ? `: ${latest.percent}%` : '';
    const others = this.entries.length > 1 ? ` (+${this.entries.length - 1})` : '';
    this.item.text = `$(sync~spin) ${latest.name}${percent}${others}`;
    this.item.tooltip = this.entries.map((e) => `${e.name}${e.percent !== undefined ? ` ${e.percent}%` : ''}`).join('\n');
    this.item.show();
  }

  dispose(): void {
    for (const e of this.entries.splice(0)) e.controller.abort();
    this.item.dispose();
  }
}
