/**
 * Every step run is recorded (step, connections by name, command lines without secrets, start,
 * end, exit code, archive path, sha256, error summary) in globalState, with its terminal output in
 * the extension's global storage, and shown in the "Runs" view with Show Log and Re-run.
 */
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { isRerun, type Rerun } from './steps/args.js';

export interface RunRecord {
  id: string;
  /** dump, restore, create-database, preflight, migrate, ... */
  step: string;
  title: string;
  source?: string;
  target?: string;
  commands: string[];
  startedAt: string;
  endedAt: string;
  exitCode: number;
  ok: boolean;
  archivePath?: string;
  sha256?: string;
  errorSummary?: string;
  /** What re-runs this step (connection ids, options; no secrets). */
  rerun?: Rerun;
}

/** A record of the Runs view (what its context menus pass to a command). */
export function isRunRecord(v: unknown): v is RunRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Partial<RunRecord>;
  return typeof r.id === 'string' && typeof r.step === 'string' && typeof r.startedAt === 'string';
}

const KEY = 'hydraMigrate.runs';
const MAX = 200;
const ANSI = /\u001b\[[0-9;]*m/g;

export class RunHistory implements vscode.TreeDataProvider<RunRecord>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunRecord | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(
    private readonly state: vscode.Memento,
    private readonly storage: vscode.Uri,
  ) {}

  list(): RunRecord[] {
    const runs = this.state.get<RunRecord[]>(KEY);
    return Array.isArray(runs) ? runs : [];
  }

  /** Adds run records one at a time: the steps of a migration finish close together. */
  add(record: Omit<RunRecord, 'id'>, output: string): Promise<RunRecord> {
    const next = this.writes.then(() => this.append(record, output));
    this.writes = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  private writes: Promise<void> = Promise.resolve();

  private async append(record: Omit<RunRecord, 'id'>, output: string): Promise<RunRecord> {
    const full: RunRecord = { ...record, id: randomUUID() };
    await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(this.storage, 'runs'));
    await vscode.workspace.fs.writeFile(this.logUri(full.id), Buffer.from(output.replace(ANSI, ''), 'utf8'));
    const runs = [full, ...this.list()];
    const dropped = runs.splice(MAX);
    await this.state.update(KEY, runs);
    for (const old of dropped) await vscode.workspace.fs.delete(this.logUri(old.id)).then(undefined, () => undefined);
    this.changed.fire(undefined);
    return full;
  }

  logUri(id: string): vscode.Uri {
    return vscode.Uri.joinPath(this.storage, 'runs', `${id}.log`);
  }

  async clear(): Promise<void> {
    for (const r of this.list()) await vscode.workspace.fs.delete(this.logUri(r.id)).then(undefined, () => undefined);
    await this.state.update(KEY, []);
    this.changed.fire(undefined);
  }

  getChildren(element?: RunRecord): RunRecord[] {
    return element ? [] : this.list();
  }

  getTreeItem(r: RunRecord): vscode.TreeItem {
    const item = new vscode.TreeItem(r.title, vscode.TreeItemCollapsibleState.None);
    item.id = `run:${r.id}`;
    const when = new Date(r.startedAt);
    const seconds = ((Date.parse(r.endedAt) - when.getTime()) / 1000).toFixed(1);
    item.description = `${when.toLocaleString()} · ${seconds} s · exit ${r.exitCode}`;
    item.iconPath = new vscode.ThemeIcon(
      r.ok ? 'pass' : r.exitCode === 130 ? 'circle-slash' : 'error',
      new vscode.ThemeColor(r.ok ? 'testing.iconPassed' : 'testing.iconFailed'),
    );
    const rerunnable = isRerun(r.rerun);
    const migration = rerunnable && r.rerun?.step === 'migrate';
    item.contextValue = `hm:run:${r.step}${rerunnable ? ':rerunnable' : ''}${migration ? ':migration' : ''}`;
    // Names, paths and messages come from databases and servers: text, never Markdown or links.
    const md = new vscode.MarkdownString(undefined, false);
    md.isTrusted = false;
    md.appendMarkdown('**')
      .appendText(r.title)
      .appendMarkdown(`** — ${r.ok ? 'succeeded' : r.exitCode === 130 ? 'cancelled' : 'failed'} (exit ${r.exitCode})\n\n`);
    const fact = (label: string, value: string | undefined): void => {
      if (value) md.appendMarkdown(`- ${label}: `).appendText(value).appendMarkdown('\n');
    };
    fact('source', r.source);
    fact('target', r.target);
    fact('archive', r.archivePath);
    fact('sha256', r.sha256);
    if (r.errorSummary) md.appendMarkdown('\n').appendText(r.errorSummary).appendMarkdown('\n');
    for (const c of r.commands) md.appendCodeblock(c, 'shell');
    item.tooltip = md;
    item.command = { command: 'hydraMigrate.showRunLog', title: 'Show Log', arguments: [r] };
    return item;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
