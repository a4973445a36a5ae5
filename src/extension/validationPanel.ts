/**
 * The validation webview: runs the core validation for a source/target pair, posts the report to
 * the view, answers its requests (re-run, re-check one table, export, copy a count query), and
 * comes back after a window reload through a WebviewPanelSerializer (it validates again: the
 * report is data and is not kept in webview state).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { SourceSnapshot } from '../core/snapshot.js';
import { sequenceChangeLines, syncSequences } from '../core/sequences.js';
import type { Side } from '../core/side.js';
import { countQuery, reportToCsv, reportToMarkdown } from '../core/reportFormat.js';
import { validate } from '../core/validate.js';
import {
  assertNever,
  parseValidationArgs,
  parseWebviewMessage,
  type ExportFormat,
  type HostToWebview,
  type RenderedMessage,
  type ValidationArgs,
  type ValidationViewState,
  type WebviewRequest,
} from '../shared/protocol.js';
import { reportOk, summarize, type ValidationReport } from '../shared/report.js';
import type { ConnectionStore } from './connectionStore.js';
import type { ReportStore } from './reportStore.js';
import { defaultSaveFolder, settings } from './settings.js';

export const VIEW_TYPE = 'hydraMigrate.validation';
const t = vscode.l10n.t;

export interface PanelDeps {
  extensionUri: vscode.Uri;
  store: ConnectionStore;
  log: vscode.LogOutputChannel;
  reports: ReportStore;
}

/** Brings validation panels back after a window reload: the webview state holds what to validate. */
export class ValidationSerializer implements vscode.WebviewPanelSerializer<ValidationViewState> {
  constructor(private readonly deps: PanelDeps) {}

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: ValidationViewState | undefined): Promise<void> {
    // The state comes from the webview: only well-formed arguments naming connections that exist.
    const args = parseValidationArgs(state?.args);
    if (!args || !this.deps.store.get(args.sourceConnectionId) || !this.deps.store.get(args.targetConnectionId)) {
      panel.dispose();
      return;
    }
    // Never validate again by itself (it reads every table of both servers, maybe with checksums):
    // show the last report of the pair and offer Re-run.
    await ValidationPanel.revive(this.deps, panel, args);
  }
}

export class ValidationPanel implements vscode.Disposable {
  private static readonly open = new Set<ValidationPanel>();
  report: ValidationReport | undefined;
  /** When the report shown is a saved one (after a reload): its time; cleared by a new validation. */
  private savedAt: string | undefined;
  /** What the webview last said it shows (tests, diagnostics). */
  lastRendered: RenderedMessage | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private ready: Promise<void>;
  private markReady!: () => void;
  private controller: AbortController | undefined;
  private readonly renderedWaiters: Array<() => void> = [];

  static all(): ValidationPanel[] {
    return [...ValidationPanel.open];
  }

  /** Opens a panel and validates; resolves with the report once the view has shown it. */
  static async show(
    deps: PanelDeps,
    args: ValidationArgs,
    sourceSnapshot?: Pick<SourceSnapshot, 'id' | 'takenAt'>,
  ): Promise<{ panel: ValidationPanel; report: ValidationReport | undefined }> {
    const panel = ValidationPanel.create(deps, args);
    const rendered = panel.whenRendered();
    const report = await panel.run(args.checksums ?? false, undefined, sourceSnapshot);
    if (report) await Promise.race([rendered, new Promise((r) => setTimeout(r, 15_000))]);
    return { panel, report };
  }

  /** A panel for the pair showing its last saved report (what a window reload brings back); never validates. */
  static async revive(deps: PanelDeps, panel: vscode.WebviewPanel, args: ValidationArgs): Promise<ValidationPanel> {
    const revived = new ValidationPanel(deps, panel, args);
    const rendered = revived.whenRendered();
    await revived.restore(await deps.reports.load(args));
    if (revived.report) await Promise.race([rendered, new Promise((r) => setTimeout(r, 15_000))]);
    return revived;
  }

  static create(deps: PanelDeps, args: ValidationArgs): ValidationPanel {
    const panel = vscode.window.createWebviewPanel(
      VIEW_TYPE,
      t('Validation'),
      vscode.ViewColumn.Active,
      ValidationPanel.options(deps.extensionUri),
    );
    return new ValidationPanel(deps, panel, args);
  }

  static options(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
    };
  }

  constructor(
    private readonly deps: PanelDeps,
    readonly panel: vscode.WebviewPanel,
    private args: ValidationArgs,
  ) {
    ValidationPanel.open.add(this);
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'hydra.svg');
    panel.webview.options = ValidationPanel.options(deps.extensionUri);
    panel.webview.html = this.html(args);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((raw: unknown) => this.receive(raw)),
    );
  }

  get title(): string {
    const s = this.deps.store.get(this.args.sourceConnectionId);
    const tg = this.deps.store.get(this.args.targetConnectionId);
    return t('Validate {0} → {1}', `${s?.name ?? '?'}/${this.args.sourceDatabase}`, `${tg?.name ?? '?'}/${this.args.targetDatabase}`);
  }

  private post(m: HostToWebview): void {
    void this.panel.webview.postMessage(m);
  }

  /** Resolves when the webview reported a render after the current report arrived. */
  whenRendered(): Promise<void> {
    return new Promise((resolve) => this.renderedWaiters.push(resolve));
  }

  /** The pair's two sides, with their passwords from SecretStorage. */
  private async sides(): Promise<{ source: Side; target: Side }> {
    const s = this.deps.store.get(this.args.sourceConnectionId);
    const tg = this.deps.store.get(this.args.targetConnectionId);
    if (!s || !tg) throw new Error(t('A connection of this validation was removed; open it again from the explorer.'));
    const [sc, tc] = await Promise.all([this.deps.store.credentials(s), this.deps.store.credentials(tg)]);
    for (const c of [sc, tc]) if (c.problem) throw new Error(c.problem);
    const connectTimeoutSeconds = settings().connectTimeoutSeconds;
    return {
      source: { role: 'source', profile: s, password: sc.password, database: this.args.sourceDatabase, connectTimeoutSeconds },
      target: { role: 'target', profile: tg, password: tc.password, database: this.args.targetDatabase, connectTimeoutSeconds },
    };
  }

  /** Validates (one table: `only`); with the dump's snapshot (right after a migration) the source is counted as of the dump. */
  async run(
    checksums: boolean,
    only?: { schema: string; name: string },
    sourceSnapshot?: Pick<SourceSnapshot, 'id' | 'takenAt'>,
  ): Promise<ValidationReport | undefined> {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.panel.title = this.title;
    await this.ready;
    if (!only) this.post({ type: 'running', title: this.title, checksums });
    try {
      const { source, target } = await this.sides();
      const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: t('Validating…') }, () =>
        validate({
          source,
          target,
          checksums,
          signal: controller.signal,
          lockTimeoutSeconds: settings().lockWaitTimeoutSeconds,
          ...(this.args.schemas?.length ? { schemas: this.args.schemas } : {}),
          ...(only ? { tables: [only] } : {}),
          ...(sourceSnapshot ? { sourceSnapshot } : {}),
          onProgress: (p) => this.post({ type: 'progress', done: p.done, total: p.total }),
        }),
      );
      if (controller.signal.aborted) return undefined;
      if (only && this.report) {
        // Re-check of one table: replace its row, keep the rest of the report.
        // A table gone from both sides leaves the report.
        const fresh = result.tables[0];
        const same = (x: { schema: string; name: string }): boolean => x.schema === only.schema && x.name === only.name;
        const tables = fresh ? this.report.tables.map((x) => (same(x) ? fresh : x)) : this.report.tables.filter((x) => !same(x));
        const summary = summarize(tables, this.report.objects, this.report.sequences);
        this.report = { ...this.report, tables, summary, ok: reportOk(summary) };
      } else {
        this.report = result;
        this.savedAt = undefined;
      }
      this.deps.log.info(
        `${this.title}: ${this.report.ok ? 'OK' : 'differences found'} (${this.report.summary.tables} tables, ${this.report.durationMs} ms)`,
      );
      this.post({ type: 'report', title: this.title, report: this.report });
      void this.deps.reports
        .save(this.args, this.report)
        .catch((err: unknown) => this.deps.log.warn(`Could not keep the validation report: ${String(err)}`));
      return this.report;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.deps.log.error(`Validation failed: ${message}`);
      this.post({ type: 'error', title: this.title, message });
      return undefined;
    }
  }

  private reportMessage(): HostToWebview {
    return { type: 'report', title: this.title, report: this.report!, ...(this.savedAt ? { savedAt: this.savedAt } : {}) };
  }

  /** After a window reload: the saved report (marked as such), or an invitation to re-run. */
  async restore(saved: ValidationReport | undefined): Promise<void> {
    this.panel.title = this.title;
    await this.ready;
    this.report = saved;
    this.savedAt = saved?.startedAt;
    if (saved) {
      this.post(this.reportMessage());
    } else {
      this.post({
        type: 'error',
        title: this.title,
        message: t('This validation is not run again after a reload (it reads every table of both servers). Re-run to compare now.'),
      });
    }
  }

  /** Every message from the webview passes the guard; a malformed one is logged and dropped. */
  private receive(raw: unknown): void {
    const m = parseWebviewMessage(raw);
    if (!m) {
      this.deps.log.warn(`Validation view: ignored a malformed message ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    switch (m.type) {
      case 'ready':
        this.markReady();
        // The view is built again after every hide/show: it gets the report as it was, saved or fresh.
        if (this.report) this.post(this.reportMessage());
        return;
      case 'rendered':
        this.lastRendered = m;
        this.renderedWaiters.splice(0).forEach((w) => w());
        return;
      case 'rerun':
      case 'recheckTable':
      case 'export':
      case 'copyCountQuery':
      case 'syncSequences':
        void this.answer(m);
        return;
      default:
        assertNever(m);
    }
  }

  /** Carries out a request of the webview and answers it with `done` (same id). */
  private async answer(m: WebviewRequest): Promise<void> {
    let message: string;
    let ok = true;
    try {
      switch (m.type) {
        case 'rerun':
          ok = (await this.run(m.checksums)) !== undefined;
          message = ok ? t('Validated again.') : t('The validation could not run.');
          break;
        case 'recheckTable': {
          const report = await this.run(this.report?.checksums ?? false, { schema: m.schema, name: m.name });
          const row = report?.tables.find((x) => x.schema === m.schema && x.name === m.name);
          ok = report !== undefined;
          message = !report
            ? t('The re-check could not run.')
            : row
              ? t('Re-checked {0}: {1}', `${m.schema}.${m.name}`, row.status.replace(/_/g, ' '))
              : t('{0} exists on neither side any more: removed from the report.', `${m.schema}.${m.name}`);
          break;
        }
        case 'export': {
          const uri = await this.export(m.format);
          message = uri ? t('Exported to {0}', uri.fsPath) : t('Export cancelled.');
          break;
        }
        case 'syncSequences': {
          const sides = await this.sides();
          const planned = await syncSequences(sides.source, sides.target, {
            ...(this.args.schemas?.length ? { schemas: this.args.schemas } : {}),
            dryRun: true,
          });
          const toSet = planned.filter((c) => c.action === 'set');
          if (!toSet.length) {
            message = t('No target sequence is behind the source.');
            break;
          }
          const go = t('Set {0} Sequences', toSet.length);
          const answer = await vscode.window.showWarningMessage(
            t('Set {0} sequence(s) of "{1}" from the source?', toSet.length, this.args.targetDatabase),
            {
              modal: true,
              detail: [
                ...toSet.slice(0, 12).map((c) => `${c.schema}.${c.name}: ${c.from ?? t('never used')} → ${c.source}`),
                ...(toSet.length > 12 ? [t('… and {0} more', toSet.length - 12)] : []),
                '',
                t('Do it once writes to the source have stopped (the cutover). A sequence ahead on the target is never lowered.'),
              ].join('\n'),
            },
            go,
          );
          if (answer !== go) {
            message = t('Nothing was changed.');
            break;
          }
          const done = await syncSequences(sides.source, sides.target, this.args.schemas?.length ? { schemas: this.args.schemas } : {});
          const set = done.filter((c) => c.action === 'set').length;
          this.deps.log.info(
            `Set ${set} sequence(s) of ${this.args.targetDatabase} from the source: ${sequenceChangeLines(done).join('; ')}`,
          );
          await this.run(this.report?.checksums ?? false);
          message = t('Set {0} sequence(s) from the source; validated again.', set);
          break;
        }
        case 'copyCountQuery':
          await vscode.env.clipboard.writeText(countQuery(m.schema, m.name));
          message = t('Copied the count query of {0}', `${m.schema}.${m.name}`);
          void vscode.window.setStatusBarMessage(message, 3000);
          break;
        default:
          assertNever(m);
      }
    } catch (err) {
      ok = false;
      message = err instanceof Error ? err.message : String(err);
      this.deps.log.error(`Validation view: ${m.type} failed: ${message}`);
    }
    this.post({ type: 'done', id: m.id, ok, message });
  }

  async export(format: ExportFormat, target?: vscode.Uri): Promise<vscode.Uri | undefined> {
    if (!this.report) return undefined;
    const ext = format === 'markdown' ? 'md' : format;
    const stamp = this.report.startedAt.replace(/[:T]/g, '-').replace(/\..*$/, '');
    const uri =
      target ??
      (await vscode.window.showSaveDialog({
        defaultUri: vscode.Uri.file(
          join(defaultSaveFolder(), `${this.args.targetDatabase.replace(/[^\p{L}\p{N}._-]+/gu, '_')}-validation-${stamp}.${ext}`),
        ),
        filters: { [format.toUpperCase()]: [ext] },
      }));
    if (!uri) return undefined;
    const text =
      format === 'json'
        ? JSON.stringify(this.report, null, 2)
        : format === 'csv'
          ? reportToCsv(this.report)
          : reportToMarkdown(this.report);
    await vscode.workspace.fs.writeFile(uri, Buffer.from(text, 'utf8'));
    void vscode.window.showInformationMessage(t('Exported the validation report to {0}', uri.fsPath));
    return uri;
  }

  private html(args: ValidationArgs): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString('base64');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.deps.extensionUri, 'dist', 'webview', 'main.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(this.deps.extensionUri, 'media', 'validation.css'));
    const initial: ValidationViewState = { args };
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource}; font-src ${webview.cspSource}; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>Validation</title>
</head>
<body>
<main id="root" data-args="${encodeURIComponent(JSON.stringify(initial))}"><p>Loading…</p></main>
<script type="module" nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }

  dispose(): void {
    this.controller?.abort();
    ValidationPanel.open.delete(this);
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
