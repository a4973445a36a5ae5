/**
 * VS Code tasks of type `hydra-migrate` (tasks.json, Run Task, dependsOn chains): dump, restore,
 * migrate, validate, preflight, sync-sequences, sync-large-object-owners and sync-columnar-options with the CLI's options, connections named as in
 * the explorer (or `service=NAME`). The task runs the packaged CLI (dist/cli.cjs) in a terminal of
 * its own: the same engine, its plan, commands and validation report; its progress as one status
 * line; Terminate (or closing the terminal) stops it like Ctrl+C (the tools stopped, partial
 * output removed), and the CLI's exit code is the task's (0 ok, 1 failed or differences, 2 could not
 * run, 130 cancelled). Passwords go from the keychain to the CLI's environment only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as vscode from 'vscode';
import { formatConnectionUri, type ConnectionProfile } from '../core/connection.js';
import { parseProgressEvent, progressText } from '../core/present/steps.js';
import { ansi as style, CLEAR_LINE, escapeControl, statusLine } from '../core/present/style.js';
import type { Ctx } from './ctx.js';
import { settings } from './settings.js';

export const TASK_TYPE = 'hydra-migrate';
const COMMANDS = [
  'dump',
  'restore',
  'migrate',
  'validate',
  'preflight',
  'sync-sequences',
  'sync-large-object-owners',
  'sync-columnar-options',
] as const;
type TaskCommand = (typeof COMMANDS)[number];

export interface HydraTaskDefinition extends vscode.TaskDefinition {
  type: typeof TASK_TYPE;
  command: TaskCommand;
  /** A connection's name in the explorer, or service=NAME / a URI without password. */
  source?: string;
  sourceDatabase?: string;
  target?: string;
  targetDatabase?: string;
  /** The archive: migrate --dump, dump --out, restore --in. */
  archive?: string;
  /** More CLI options, e.g. ["--no-owner", "--no-acl", "--checksums"]. */
  args?: string[];
}

export function registerTasks(ctx: Ctx): vscode.Disposable {
  return vscode.tasks.registerTaskProvider(TASK_TYPE, {
    provideTasks: () => [],
    resolveTask: (task) => resolveHydraTask(ctx, task.definition as HydraTaskDefinition, task.scope, task.name),
  });
}

/** The runnable task for a definition (what tasks.json resolves to). */
export function resolveHydraTask(
  ctx: Ctx,
  definition: HydraTaskDefinition,
  scope: vscode.Task['scope'] = vscode.TaskScope.Workspace,
  name = `${definition.command}`,
): vscode.Task {
  const task = new vscode.Task(
    definition,
    scope ?? vscode.TaskScope.Workspace,
    name,
    TASK_TYPE,
    new vscode.CustomExecution(() => Promise.resolve(new CliTaskTerminal(ctx, definition))),
  );
  task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, panel: vscode.TaskPanelKind.Dedicated, clear: true };
  return task;
}

class TaskInputError extends Error {}

/** The CLI's argv and environment for a definition; a clear error for a definition that cannot run. */
async function cliInvocation(ctx: Ctx, d: HydraTaskDefinition): Promise<{ argv: string[]; env: NodeJS.ProcessEnv }> {
  if (!COMMANDS.includes(d.command))
    throw new TaskInputError(`"command" must be one of ${COMMANDS.join(', ')} (not "${String(d.command)}").`);
  // The CLI falls back on PGPASSWORD: a stray one of the window must not log in instead of the keychain's.
  const env: NodeJS.ProcessEnv = { ...process.env, ELECTRON_RUN_AS_NODE: '1' };
  delete env.PGPASSWORD;
  const connection = async (role: 'source' | 'target', ref: string | undefined, database: string | undefined): Promise<string> => {
    if (!ref)
      throw new TaskInputError(`"${role}" is required for ${d.command}: the name of a ${role} connection in the Hydra Migrate view.`);
    if (/^(service=|postgres(ql)?:\/\/)/.test(ref))
      return database ? `${ref}${ref.startsWith('service=') ? ` dbname=${database}` : ''}` : ref;
    const profile: ConnectionProfile | undefined = ctx.store.list().find((p) => p.name === ref || p.id === ref);
    if (!profile) {
      const names = ctx.store.list(role).map((p) => `"${p.name}"`);
      throw new TaskInputError(
        `No connection named "${ref}" in the Hydra Migrate view${names.length ? ` (${role}s: ${names.join(', ')})` : ''}.`,
      );
    }
    const c = await ctx.store.credentials(profile);
    if (c.problem) throw new TaskInputError(c.problem);
    if (c.from === 'keychain' && c.password !== undefined)
      env[role === 'source' ? 'HYDRA_SOURCE_PASSWORD' : 'HYDRA_TARGET_PASSWORD'] = c.password;
    return formatConnectionUri(profile, database ?? profile.database);
  };
  const archive = (flag: string): string[] => {
    if (!d.archive) throw new TaskInputError(`"archive" is required for ${d.command} (${flag}).`);
    return [flag, d.archive];
  };
  const argv: string[] = [d.command];
  if (d.command !== 'restore') argv.push('--source', await connection('source', d.source, d.sourceDatabase));
  if (d.command !== 'dump')
    argv.push(
      '--target',
      await connection('target', d.target, d.targetDatabase ?? (d.command === 'restore' ? undefined : d.sourceDatabase)),
    );
  if (d.command === 'migrate') argv.push(...archive('--dump'));
  if (d.command === 'dump') argv.push(...archive('--out'));
  if (d.command === 'restore') argv.push(...archive('--in'));
  if (d.command === 'dump' || d.command === 'restore' || d.command === 'migrate') argv.push('--progress', 'json');
  const cfg = settings();
  if (cfg.pgBinDir) argv.push('--pg-bin-dir', cfg.pgBinDir);
  argv.push('--connect-timeout', String(cfg.connectTimeoutSeconds));
  if (d.args !== undefined && (!Array.isArray(d.args) || !d.args.every((a) => typeof a === 'string')))
    throw new TaskInputError('"args" must be a list of strings, e.g. ["--no-owner", "--no-acl"].');
  argv.push(...(d.args ?? []));
  return { argv, env };
}

/** The task's terminal: the CLI's output, its JSON progress as one status line, Terminate as Ctrl+C. */
class CliTaskTerminal implements vscode.Pseudoterminal {
  private readonly write = new vscode.EventEmitter<string>();
  private readonly closed = new vscode.EventEmitter<number>();
  readonly onDidWrite = this.write.event;
  readonly onDidClose = this.closed.event;
  private child: ChildProcess | undefined;
  private status = '';

  constructor(
    private readonly ctx: Ctx,
    private readonly definition: HydraTaskDefinition,
  ) {}

  private columns = 80;

  open(dimensions: vscode.TerminalDimensions | undefined): void {
    if (dimensions) this.columns = dimensions.columns;
    void this.run();
  }

  setDimensions(dimensions: vscode.TerminalDimensions): void {
    this.columns = dimensions.columns;
  }

  close(): void {
    // Terminate, or the terminal closed: as Ctrl+C, the CLI stops its tools and removes partial output.
    this.child?.kill('SIGINT');
  }

  private out(text: string): void {
    this.write.fire((this.status ? CLEAR_LINE : '') + text.replace(/\r?\n/g, '\r\n') + (this.status ? style.dim(this.status) : ''));
  }

  private async run(): Promise<void> {
    let invocation;
    try {
      invocation = await cliInvocation(this.ctx, this.definition);
    } catch (err) {
      this.out(`${style.red(`hydra-migrate task: ${err instanceof Error ? err.message : String(err)}`)}\n`);
      this.closed.fire(2);
      return;
    }
    const cli = vscode.Uri.joinPath(this.ctx.extensionUri, 'dist', 'cli.cjs').fsPath;
    this.out(
      `${style.cyan('$')} ${style.bold(['hydra-migrate', ...invocation.argv].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' '))}\n`,
    );
    const child = spawn(process.execPath, [cli, ...invocation.argv], { env: invocation.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const lines = (stream: NodeJS.ReadableStream, onLine: (l: string) => void): void => {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop() ?? '';
        for (const p of parts) onLine(p);
      });
      stream.on('end', () => rest && onLine(rest));
    };
    lines(child.stdout, (l) => this.out(`${escapeControl(l, false)}\n`));
    lines(child.stderr, (l) => {
      const p = parseProgressEvent(l);
      if (!p) return this.out(`${escapeControl(l, false)}\n`);
      this.status = p.progress.done >= p.progress.total ? '' : statusLine(`${p.phase}: ${progressText(p.progress)}`, this.columns);
      this.write.fire(CLEAR_LINE + style.dim(this.status));
    });
    const code = await new Promise<number>((resolve) => {
      child.on('error', (err) => {
        this.out(`${style.red(`hydra-migrate task: could not start the CLI: ${err.message}`)}\n`);
        resolve(2);
      });
      child.on('close', (c, signal) => resolve(c ?? (signal ? 130 : 2)));
    });
    this.status = '';
    this.out(
      `\n${code === 0 ? style.green('✔ done') : code === 130 ? style.yellow('■ cancelled') : style.red('✖ failed')} (exit ${code})\n`,
    );
    this.closed.fire(code);
  }
}
