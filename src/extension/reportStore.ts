/**
 * The last validation report of each source/target pair, in the extension's global storage (one
 * JSON file per pair, no secrets: names, counts, statuses). A validation panel that comes back
 * after a window reload shows it instead of validating again against production servers.
 */
import { createHash } from 'node:crypto';
import * as vscode from 'vscode';
import type { ValidationArgs } from '../shared/protocol.js';
import type { ValidationReport } from '../shared/report.js';

export class ReportStore {
  private readonly saved = new vscode.EventEmitter<void>();
  /** A report was saved (a validation ended). */
  readonly onDidSave = this.saved.event;

  constructor(private readonly storage: vscode.Uri) {}

  /** Whether any validation report was ever saved. */
  async hasAny(): Promise<boolean> {
    try {
      const entries = await vscode.workspace.fs.readDirectory(vscode.Uri.joinPath(this.storage, 'reports'));
      return entries.some(([name]) => name.endsWith('.json'));
    } catch {
      return false;
    }
  }

  private uri(args: ValidationArgs): vscode.Uri {
    const pair = JSON.stringify([
      args.sourceConnectionId,
      args.sourceDatabase,
      args.targetConnectionId,
      args.targetDatabase,
      args.schemas ?? [],
    ]);
    return vscode.Uri.joinPath(this.storage, 'reports', `${createHash('sha256').update(pair).digest('hex').slice(0, 24)}.json`);
  }

  async save(args: ValidationArgs, report: ValidationReport): Promise<void> {
    await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(this.storage, 'reports'));
    await vscode.workspace.fs.writeFile(this.uri(args), Buffer.from(JSON.stringify(report), 'utf8'));
    this.saved.fire();
  }

  /** The last report of the pair, or undefined (none yet, or unreadable). */
  async load(args: ValidationArgs): Promise<ValidationReport | undefined> {
    try {
      const parsed: unknown = JSON.parse(Buffer.from(await vscode.workspace.fs.readFile(this.uri(args))).toString('utf8'));
      return typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as ValidationReport).tables)
        ? (parsed as ValidationReport)
        : undefined;
    } catch {
      return undefined;
    }
  }
}
