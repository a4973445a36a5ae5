/**
 * What every step command shares: the context, the typed arguments automation passes instead of
 * prompts, the prompts themselves, and running a step in its terminal with a run record.
 */
import * as vscode from 'vscode';
import { failureLines as presentFailure, progressText } from '../../core/present/steps.js';
import { ansi as style } from '../../core/present/style.js';
import type { PairArgs } from './args.js';
import { describeTarget, type ConnectionProfile } from '../../core/connection.js';
import { type Side, type SideRole } from '../../core/side.js';
import type { StepFailure, StepProgress } from '../../core/step.js';
import type { Ctx } from '../ctx.js';
import { Cancelled } from '../errors.js';
import { databaseOf, profileOf, type ExplorerNode } from '../explorer.js';
import { HEARTBEAT_MS, type RunRecord } from '../runHistory.js';
import { settings } from '../settings.js';
import { runStepInTerminal, type StepIo, type StepOutcome, type StepTerminalRun, type StepTerminalSession } from '../stepTerminal.js';

const t = vscode.l10n.t;

/** Step commands get the one context of the extension. */
export type StepCtx = Ctx;

export interface StepCommandResult {
  ok: boolean;
  exitCode: number;
  runId?: string;
  /** The step's title (in the Runs view); the terminal it ran in (a migration's steps share one). */
  title: string;
  terminalName: string;
  output: string;
}

export function isNode(arg: unknown): arg is ExplorerNode {
  return !!arg && typeof arg === 'object' && 'kind' in arg;
}

export async function sideOf(ctx: StepCtx, profile: ConnectionProfile, database: string, role: SideRole = profile.role): Promise<Side> {
  const c = await ctx.store.credentials(profile);
  if (c.problem) throw new Error(c.problem);
  return {
    role,
    profile,
    password: c.password,
    // From the password file: the tools read it themselves (PGPASSFILE), as libpq does.
    ...(c.from === 'pgpass' && c.passfile ? { passfile: c.passfile } : {}),
    database,
    connectTimeoutSeconds: settings().connectTimeoutSeconds,
  };
}

export function profile(ctx: StepCtx, id: string): ConnectionProfile {
  const p = ctx.store.get(id);
  if (!p) throw new Error(t('No connection with id {0}: it may have been removed.', id));
  return p;
}

export function failureLines(f: StepFailure | undefined): string[] {
  return presentFailure(f, style);
}

export function timestamp(): string {
  return new Date().toISOString().replace(/[:T]/g, '-').replace(/\..*$/, '');
}

export function safeFileName(name: string): string {
  return name.replace(/[^\p{L}\p{N}._-]+/gu, '_').slice(0, 80) || 'database';
}

export async function pickConnection(ctx: StepCtx, role: 'source' | 'target', placeHolder: string): Promise<ConnectionProfile> {
  const list = ctx.store.list(role);
  if (list.length === 0)
    throw new Error(
      role === 'target'
        ? t('Add a target connection first (Hydra Migrate view → Add Target Connection).')
        : t('Add a source connection first.'),
    );
  if (list.length === 1) return list[0]!;
  const picked = await vscode.window.showQuickPick(
    list.map((p) => ({ label: p.name, description: describeTarget(p), p })),
    { placeHolder, ignoreFocusOut: true },
  );
  if (!picked) throw new Cancelled();
  return picked.p;
}

export async function ask(prompt: string, value: string, validate?: (v: string) => string | undefined): Promise<string> {
  const options: vscode.InputBoxOptions = { prompt, value, ignoreFocusOut: true };
  if (validate) options.validateInput = validate;
  const answer = await vscode.window.showInputBox(options);
  if (answer === undefined) throw new Cancelled();
  return answer.trim();
}

export async function pickFlags(
  title: string,
  flags: Array<{ id: string; label: string; detail: string; picked: boolean }>,
): Promise<Set<string>> {
  const picked = await vscode.window.showQuickPick(flags, { canPickMany: true, title, ignoreFocusOut: true });
  if (!picked) throw new Cancelled();
  return new Set(picked.map((p) => p.id));
}

/** Runs one step in its terminal and records it. */
export async function runRecorded(
  ctx: StepCtx,
  name: string,
  record: Omit<RunRecord, 'id' | 'startedAt' | 'endedAt' | 'exitCode' | 'ok' | 'commands'>,
  work: (io: StepIo, commands: string[], extra: Partial<RunRecord>) => Promise<StepOutcome>,
  session?: StepTerminalSession,
): Promise<StepCommandResult> {
  const startedAt = new Date().toISOString();
  const commands: string[] = [];
  const extra: Partial<RunRecord> = {};
  // In the Runs view from its start: if VS Code goes away meanwhile, the next start shows it interrupted.
  const begun = ctx.history.begin({ ...record, commands: [], startedAt }).catch(() => undefined);
  const beat = setInterval(() => void begun.then((r) => r && ctx.history.heartbeat(r.id)), HEARTBEAT_MS);
  // The work starts once the run is recorded: a tool never runs without its record (a window gone right after still shows it).
  const withCommands = async (io: StepIo): Promise<StepOutcome> =>
    await begun.then(() =>
      work(
        {
          ...io,
          command: (c) => {
            commands.push(c);
            io.command(c);
          },
          progress: (p) => {
            io.progress(p);
            void begun.then((r) => r && ctx.history.progress(r.id, progressText(p)));
          },
        },
        commands,
        extra,
      ),
    );
  // A step of a migration is a section of the migration's terminal; a stand-alone step has its own.
  const run: StepTerminalRun = session
    ? { terminal: session.terminal, outcome: session.step(name, withCommands, true) }
    : runStepInTerminal(name, withCommands, { running: ctx.running, log: ctx.log });
  const outcome = await run.outcome.finally(() => clearInterval(beat));
  const ended = { ...record, ...extra, commands, startedAt, endedAt: new Date().toISOString(), exitCode: outcome.exitCode, ok: outcome.ok };
  const started = await begun;
  const saved = started ? await ctx.history.finish(started.id, ended, outcome.output) : await ctx.history.add(ended, outcome.output);
  if (!outcome.ok && !outcome.cancelled) {
    void vscode.window
      .showErrorMessage(t('{0} failed: {1}', name, extra.errorSummary ?? t('see the terminal')), t('Show Terminal'))
      .then((a) => {
        if (a) run.terminal.show();
      });
  }
  return {
    ok: outcome.ok,
    exitCode: outcome.exitCode,
    runId: saved.id,
    title: name,
    terminalName: run.terminal.name,
    output: outcome.output,
  };
}

/** Source (from the node, or asked), target connection and target database name. */
export async function promptPair(ctx: StepCtx, arg: ExplorerNode | undefined, purpose: 'migrate' | 'check' = 'migrate'): Promise<PairArgs> {
  const check = purpose === 'check';
  const src =
    profileOf(arg) ??
    (await pickConnection(
      ctx,
      'source',
      check ? t('Check a migration from which source connection?') : t('Migrate from which source connection?'),
    ));
  const sourceDatabase = databaseOf(arg) ?? src.database;
  const tgt = await pickConnection(
    ctx,
    'target',
    check
      ? t('Check a migration of "{0}" to which target connection?', sourceDatabase)
      : t('Migrate "{0}" to which target connection?', sourceDatabase),
  );
  const targetDatabase = await ask(
    check
      ? t(
          'Target database name on "{0}" for "{1}" from "{2}" (the checks create nothing; a missing database is fine)',
          tgt.name,
          sourceDatabase,
          src.name,
        )
      : t('Target database name on "{0}" for "{1}" from "{2}" (created when missing; must be empty)', tgt.name, sourceDatabase, src.name),
    sourceDatabase,
  );
  return { sourceConnectionId: src.id, sourceDatabase, targetConnectionId: tgt.id, targetDatabase };
}

export interface OpenStep {
  line: (text: string) => void;
  output: (text: string) => void;
  progress: (p: StepProgress) => void;
  /** Ends the step with its outcome; resolves when the run is recorded. */
  finish: (outcome: StepOutcome, extra?: Partial<RunRecord>) => Promise<StepCommandResult>;
}

/** A step terminal whose work is driven from outside (the steps of Migrate Database…). */
export function openStep(
  ctx: StepCtx,
  title: string,
  record: Omit<RunRecord, 'id' | 'startedAt' | 'endedAt' | 'exitCode' | 'ok' | 'commands'>,
  onCancel: () => void,
  session?: StepTerminalSession,
): OpenStep {
  let resolveIo!: (io: StepIo) => void;
  let resolveOutcome!: (o: StepOutcome) => void;
  const ioReady = new Promise<StepIo>((r) => (resolveIo = r));
  const outcome = new Promise<StepOutcome>((r) => (resolveOutcome = r));
  let extraOut: Partial<RunRecord> = {};
  let chain: Promise<unknown> = ioReady;
  const done = runRecorded(
    ctx,
    title,
    record,
    async (io, _commands, extra) => {
      io.signal.addEventListener('abort', onCancel, { once: true });
      resolveIo(io);
      const o = await outcome;
      Object.assign(extra, extraOut);
      return o;
    },
    session,
  );
  const later = (fn: (io: StepIo) => void): void => {
    chain = chain.then(async () => fn(await ioReady));
  };
  return {
    line: (text) => later((io) => io.line(text)),
    output: (text) => later((io) => io.output(text)),
    progress: (p) => later((io) => io.progress(p)),
    finish: async (o, extra = {}) => {
      extraOut = extra;
      await chain;
      resolveOutcome(o);
      return done;
    },
  };
}
