/**
 * A run's log as a read-only document named after the run (`hydra-migrate-log:` scheme), with a
 * header saying which run it is: Show Log never opens an editable file named by a UUID.
 */
import * as vscode from 'vscode';
import type { RunHistory, RunRecord } from './runHistory.js';

export const LOG_SCHEME = 'hydra-migrate-log';

export function registerRunLogs(history: RunHistory): vscode.Disposable {
  const content = async (uri: vscode.Uri): Promise<Uint8Array> => {
    const run = history.list().find((r) => r.id === new URLSearchParams(uri.query).get('id'));
    if (!run) throw vscode.FileSystemError.FileNotFound(uri);
    const body = Buffer.from(await vscode.workspace.fs.readFile(history.logUri(run.id))).toString('utf8');
    return Buffer.from(`${header(run)}\n\n${body}`, 'utf8');
  };
  const readOnly = (uri: vscode.Uri): never => {
    throw vscode.FileSystemError.NoPermissions(uri);
  };
  const provider: vscode.FileSystemProvider = {
    onDidChangeFile: new vscode.EventEmitter<vscode.FileChangeEvent[]>().event,
    watch: () => new vscode.Disposable(() => undefined),
    stat: async (uri) => ({ type: vscode.FileType.File, ctime: 0, mtime: 0, size: (await content(uri)).length }),
    readFile: content,
    readDirectory: () => [],
    createDirectory: readOnly,
    writeFile: readOnly,
    delete: readOnly,
    rename: readOnly,
  };
  // Read-only: the editor says so, and nothing can be saved over a run's record.
  return vscode.workspace.registerFileSystemProvider(LOG_SCHEME, provider, { isReadonly: true, isCaseSensitive: true });
}

/** The document of a run's log: read-only, its name the run's title and start. */
export function runLogUri(run: RunRecord): vscode.Uri {
  const stamp = run.startedAt.replace('T', ' ').replace(/:/g, '-').replace(/\..*$/, '');
  const title = run.title
    .replace(/\//g, '-')
    .replace(/:/g, '')
    .replace(/[\\*?"<>|\u0000-\u001f]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const name = `${title} ${stamp}.log`;
  return vscode.Uri.from({ scheme: LOG_SCHEME, path: `/${name}`, query: `id=${encodeURIComponent(run.id)}` });
}

function header(r: RunRecord): string {
  const seconds = ((Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000).toFixed(1);
  const outcome =
    r.state === 'running'
      ? 'running (its output is kept when it ends)'
      : r.state === 'interrupted'
        ? 'interrupted (VS Code closed, reloaded or lost its process while it ran)'
        : `${r.ok ? 'succeeded' : r.exitCode === 130 ? 'cancelled' : 'failed'} (exit ${r.exitCode})`;
  return [
    `# ${r.title}`,
    `# ${outcome} · started ${new Date(r.startedAt).toLocaleString()}${r.state ? '' : ` · ${seconds} s`}`,
    ...(r.source ? [`# source: ${r.source}`] : []),
    ...(r.target ? [`# target: ${r.target}`] : []),
    ...(r.archivePath ? [`# archive: ${r.archivePath}${r.sha256 ? ` (sha256 ${r.sha256})` : ''}`] : []),
    ...r.commands.map((c) => `# $ ${c}`),
  ].join('\n');
}
