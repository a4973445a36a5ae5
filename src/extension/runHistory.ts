/**
 * Every step run is recorded (step, connections by name, command lines without secrets, start,
 * end, exit code, archive path, sha256, error summary) in globalState, with its terminal output in
 * the extension's global storage, and shown in the "Runs" view with Show Log and Re-run.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
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
  /**
   * Recorded when it starts: `running` while it runs (its heartbeat renewed), `interrupted` when a
   * later start of the extension finds it running with no heartbeat (VS Code closed or reloaded,
   * the machine asleep, the process killed). Absent once it has ended.
   */
  state?: 'running' | 'interrupted';
  heartbeatAt?: string;
  /** The extension host that runs it (while running): gone means interrupted, without waiting for the heartbeat. */
  owner?: { pid: number; host: string };
  /** A step of a migration: the Runs view shows the migration with its steps beneath it. */
  migration?: { id: string; title: string; rerun?: Rerun };
}

/** A migration in the Runs view: its steps beneath it; Re-run runs the whole migration again. */
export interface RunGroup extends RunRecord {
  group: RunRecord[];
}

const isGroup = (r: RunRecord): r is RunGroup => Array.isArray((r as Partial<RunGroup>).group);

/** The Runs view's top level: runs alone, and one node per migration in the place of its newest step. */
export function groupRuns(runs: RunRecord[]): RunRecord[] {
  const out: RunRecord[] = [];
  const groups = new Map<string, RunGroup>();
  for (const r of runs) {
    const m = r.migration;
    if (!m || typeof m.id !== 'string') {
      out.push(r);
      continue;
    }
    let g = groups.get(m.id);
    if (!g) {
      g = {
        id: `migration:${m.id}`,
        step: 'migrate',
        title: typeof m.title === 'string' ? m.title : r.title,
        ...(r.source ? { source: r.source } : {}),
        ...(r.target ? { target: r.target } : {}),
        ...(r.archivePath ? { archivePath: r.archivePath } : {}),
        commands: [],
        startedAt: r.startedAt,
        endedAt: r.endedAt,
        exitCode: r.exitCode,
        ok: r.ok,
        ...(isRerun(m.rerun) ? { rerun: m.rerun } : {}),
        group: [],
      };
      groups.set(m.id, g);
      out.push(g);
    }
    // Newest first in the list: the steps beneath read in the order they ran.
    g.group.unshift(r);
  }
  for (const g of groups.values()) {
    const steps = g.group;
    g.startedAt = steps[0]!.startedAt;
    g.endedAt = steps[steps.length - 1]!.endedAt;
    const running = steps.find((x) => x.state === 'running');
    const interrupted = steps.find((x) => x.state === 'interrupted');
    const failed = steps.find((x) => !x.ok && !x.state);
    if (running) g.state = 'running';
    else if (interrupted) g.state = 'interrupted';
    g.ok = !running && !interrupted && !failed;
    g.exitCode = failed?.exitCode ?? interrupted?.exitCode ?? (running ? -1 : 0);
    if (failed?.errorSummary) g.errorSummary = `${failed.title}: ${failed.errorSummary}`;
    g.commands = steps.flatMap((x) => x.commands);
  }
  return out;
}

/** The run that runs now: the run itself, or the step of a migration that runs. */
const running = (r: RunRecord | RunGroup): string =>
  'group' in r && r.group ? (r.group.find((x) => x.state === 'running')?.id ?? r.id) : r.id;

const THIS_HOST = { pid: process.pid, host: hostname() };

/** Whether process `pid` runs on this machine (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // it exists, as another user's
  }
}

/** A running run whose heartbeat is older than this was interrupted. */
export const HEARTBEAT_MS = 30_000;
const STALE_MS = 4 * HEARTBEAT_MS;

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

  /** Running runs' latest progress ("42% · 1.2 GB of 3.0 GB · about 4 min left"), in memory only. */
  private readonly live = new Map<string, string>();
  private liveRefresh: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly state: vscode.Memento,
    private readonly storage: vscode.Uri,
  ) {}

  /** A running run's progress, shown in its row (the view refreshed at most once a second). */
  progress(id: string, text: string): void {
    if (this.live.get(id) === text) return;
    this.live.set(id, text);
    this.liveRefresh ??= setTimeout(() => {
      this.liveRefresh = undefined;
      this.changed.fire(undefined);
    }, 1000);
  }

  /** What a running run reports now (undefined before its first progress and once it ended). */
  liveProgress(id: string): string | undefined {
    return this.live.get(id);
  }

  list(): RunRecord[] {
    const runs = this.state.get<RunRecord[]>(KEY);
    return Array.isArray(runs) ? runs : [];
  }

  /** Adds run records one at a time: the steps of a migration finish close together. */
  add(record: Omit<RunRecord, 'id'>, output: string): Promise<RunRecord> {
    return this.serial(() => this.append(record, output));
  }

  /** Records a run as it starts (state running); `finish` replaces it when it ends. */
  begin(record: Omit<RunRecord, 'id' | 'endedAt' | 'exitCode' | 'ok' | 'state' | 'heartbeatAt'>): Promise<RunRecord> {
    const now = new Date().toISOString();
    return this.serial(() =>
      this.append({ ...record, endedAt: now, exitCode: -1, ok: false, state: 'running', heartbeatAt: now, owner: THIS_HOST }, ''),
    );
  }

  /** The run still runs: renews its heartbeat. */
  heartbeat(id: string): Promise<void> {
    return this.serial(async () => {
      const runs = this.list().map((r) => (r.id === id && r.state === 'running' ? { ...r, heartbeatAt: new Date().toISOString() } : r));
      await this.state.update(KEY, runs);
    });
  }

  /** The run ended: its record in place of the running one, with its log. */
  finish(id: string, record: Omit<RunRecord, 'id'>, output: string): Promise<RunRecord> {
    this.live.delete(id);
    return this.serial(async () => {
      if (!this.list().some((r) => r.id === id)) return this.append(record, output);
      const full: RunRecord = { ...record, id };
      delete full.state;
      delete full.heartbeatAt;
      delete full.owner;
      await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(this.storage, 'runs'));
      await vscode.workspace.fs.writeFile(this.logUri(id), Buffer.from(output.replace(ANSI, ''), 'utf8'));
      await this.state.update(
        KEY,
        this.list().map((r) => (r.id === id ? full : r)),
      );
      this.changed.fire(undefined);
      return full;
    });
  }

  /**
   * Runs left `running` by a window that is gone become interrupted: on this machine when the
   * extension host that ran it is gone (a reload, VS Code closed or killed: seen at once), else
   * (another machine's, a record without its host) when no heartbeat came since `now - STALE_MS`.
   */
  interruptStale(now = Date.now()): Promise<number> {
    return this.serial(async () => {
      let n = 0;
      const runs = this.list().map((r) => {
        if (r.state !== 'running') return r;
        // On this machine the process tells (a window asleep or busy for minutes still runs); elsewhere the heartbeat.
        if (r.owner?.host === THIS_HOST.host) {
          if (r.owner.pid === THIS_HOST.pid || alive(r.owner.pid)) return r;
        } else if (Date.parse(r.heartbeatAt ?? r.startedAt) > now - STALE_MS) return r;
        n++;
        const { owner: _owner, ...rest } = r;
        return { ...rest, state: 'interrupted' as const, endedAt: r.heartbeatAt ?? r.startedAt, exitCode: 130 };
      });
      if (n) {
        await this.state.update(KEY, runs);
        this.changed.fire(undefined);
      }
      return n;
    });
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.writes.then(work);
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
    if (element) return isGroup(element) ? element.group : [];
    const top = groupRuns(this.list());
    this.newestGroup = top.find(isGroup)?.id;
    return top;
  }

  private newestGroup: string | undefined;

  getTreeItem(r: RunRecord): vscode.TreeItem {
    const group = isGroup(r);
    // The newest migration open, the older ones folded (VS Code keeps what the user toggles).
    const item = new vscode.TreeItem(
      r.title,
      group
        ? r.id === this.newestGroup
          ? vscode.TreeItemCollapsibleState.Expanded
          : vscode.TreeItemCollapsibleState.Collapsed
        : vscode.TreeItemCollapsibleState.None,
    );
    item.id = `run:${r.id}`;
    const when = new Date(r.startedAt);
    const seconds = ((Date.parse(r.endedAt) - when.getTime()) / 1000).toFixed(1);
    item.description =
      r.state === 'running'
        ? `${when.toLocaleString()} · ${this.liveProgress(running(r)) ?? vscode.l10n.t('running…')}`
        : r.state === 'interrupted'
          ? `${when.toLocaleString()} · ${vscode.l10n.t('interrupted')}`
          : `${when.toLocaleString()} · ${seconds} s · exit ${r.exitCode}`;
    item.iconPath =
      r.state === 'running'
        ? new vscode.ThemeIcon('sync~spin')
        : r.state === 'interrupted'
          ? new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('testing.iconFailed'))
          : new vscode.ThemeIcon(
              r.ok ? 'pass' : r.exitCode === 130 ? 'circle-slash' : 'error',
              new vscode.ThemeColor(r.ok ? 'testing.iconPassed' : 'testing.iconFailed'),
            );
    const rerunnable = isRerun(r.rerun);
    const migration = rerunnable && r.rerun?.step === 'migrate';
    // A restore that stopped before its end (interrupted, cancelled) can go on where it stopped.
    const resumable = !group && r.rerun?.step === 'restore' && (r.state === 'interrupted' || (!r.ok && !r.state && r.exitCode === 130));
    item.contextValue = `hm:run${group ? 'group' : ''}:${r.step}${rerunnable ? ':rerunnable' : ''}${migration ? ':migration' : ''}${resumable ? ':resumable' : ''}`;
    // Names, paths and messages come from databases and servers: text, never Markdown or links.
    const md = new vscode.MarkdownString(undefined, false);
    md.isTrusted = false;
    md.appendMarkdown('**')
      .appendText(r.title)
      .appendMarkdown(
        `** — ${
          r.state === 'running'
            ? 'running'
            : r.state === 'interrupted'
              ? 'interrupted: it was running when VS Code closed, reloaded or lost its process; what it wrote may be partial'
              : `${r.ok ? 'succeeded' : r.exitCode === 130 ? 'cancelled' : 'failed'} (exit ${r.exitCode})`
        }\n\n`,
      );
    const fact = (label: string, value: string | undefined): void => {
      if (value) md.appendMarkdown(`- ${label}: `).appendText(value).appendMarkdown('\n');
    };
    fact('source', r.source);
    fact('target', r.target);
    fact('archive', r.archivePath);
    fact('sha256', r.sha256);
    if (r.errorSummary) md.appendMarkdown('\n').appendText(r.errorSummary).appendMarkdown('\n');
    for (const c of r.commands) md.appendCodeblock(c, 'shell');
    if (group) md.appendMarkdown(`\n${r.group.length} step(s): `).appendText(r.group.map((x) => x.title).join(' · '));
    item.tooltip = md;
    if (!group) item.command = { command: 'hydraMigrate.showRunLog', title: 'Show Log', arguments: [r] };
    return item;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
