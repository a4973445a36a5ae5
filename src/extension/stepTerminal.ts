/**
 * Steps in an integrated terminal (a stand-alone step in its own, the steps of a migration as
 * sections of one): a Pseudoterminal that shows the exact command (never the password), streams the
 * tool's output, shows progress (also in a cancellable notification and the status bar), and ends
 * each step with a summary. Ctrl+C, the notification's Cancel or closing the terminal cancel the
 * step. At the end, any key closes the terminal and the terminal's exit status is the run's.
 */
import * as vscode from 'vscode';
import { progressPercent, progressText } from '../core/present/steps.js';
import { ansi as style, CLEAR_LINE, escapeControl, statusLine, stripAnsi } from '../core/present/style.js';
import type { StepProgress } from '../core/step.js';
import type { RunningSteps } from './runningSteps.js';

export interface StepIo {
  /** A line of ours (may be styled). */
  line: (text: string) => void;
  /** A line of a tool's output: every control character escaped, colour codes included. */
  output: (text: string) => void;
  command: (text: string) => void;
  progress: (p: StepProgress) => void;
  readonly signal: AbortSignal;
}

export interface StepOutcome {
  ok: boolean;
  /** Lines of the closing summary. */
  summary: string[];
  cancelled?: boolean;
}

export interface StepTerminalRun {
  terminal: vscode.Terminal;
  outcome: Promise<StepOutcome & { exitCode: number; output: string }>;
}

/**
 * A terminal that runs steps one after the other: a stand-alone step alone, the steps of a migration
 * as sections of one terminal. Ctrl+C or closing the terminal cancels the step running (and calls
 * `onInterrupt`, so a migration stops between steps too); after `end`, any key closes it.
 */
export interface StepTerminalOptions {
  running?: RunningSteps;
  log?: vscode.LogOutputChannel;
  show?: boolean;
}

export interface StepTerminalSession {
  readonly terminal: vscode.Terminal;
  /** Runs one step in the terminal; `section`: a heading line before it (a step of several). */
  step(name: string, work: (io: StepIo) => Promise<StepOutcome>, section?: boolean): StepTerminalRun['outcome'];
  /** The last line: the exit code; any key closes the terminal from then on. */
  end(exitCode: number, lines?: string[]): void;
  /** Called on Ctrl+C or when the terminal is closed, between steps as well. */
  onInterrupt?: () => void;
}

export function openStepTerminal(name: string, options: StepTerminalOptions = {}): StepTerminalSession {
  const write = new vscode.EventEmitter<string>();
  const close = new vscode.EventEmitter<number | void>();
  let controller: AbortController | undefined;
  let interrupted = false;
  let finished: { exitCode: number } | undefined;
  let opened!: () => void;
  const ready = new Promise<void>((resolve) => (opened = resolve));
  let transcript: string[] = [];
  // One status line that updates in place below the output (not a line per percent): cleared
  // before anything else is written, drawn again after it. Not part of the transcript (the log).
  let status = '';
  let columns = 80;
  const out = (raw: string): void => {
    const text = escapeControl(raw.replace(/\r?\n/g, '\n').replace(/\r/g, ''));
    transcript.push(text);
    write.fire((status ? CLEAR_LINE : '') + text.replace(/\n/g, '\r\n') + (status ? style.dim(status) : ''));
  };
  let statusDrawnAt = 0;
  const showStatus = (text: string, force = false): void => {
    status = statusLine(text, columns);
    const now = Date.now();
    if (!force && now - statusDrawnAt < 250) return;
    statusDrawnAt = now;
    write.fire(CLEAR_LINE + style.dim(status));
  };
  const endStatus = (): void => {
    if (!status) return;
    const last = status;
    status = '';
    write.fire(CLEAR_LINE);
    out(style.dim(`${last}\n`));
  };
  const interrupt = (): void => {
    interrupted = true;
    controller?.abort();
    session.onInterrupt?.();
  };
  const pty: vscode.Pseudoterminal = {
    onDidWrite: write.event,
    onDidClose: close.event,
    open: (dimensions) => {
      if (dimensions) columns = dimensions.columns;
      opened();
    },
    setDimensions: (dimensions) => {
      columns = dimensions.columns;
    },
    close: () => {
      if (!finished) interrupt();
    },
    handleInput: (data) => {
      if (finished) {
        close.fire(finished.exitCode);
        return;
      }
      if (data === '\u0003') {
        out(style.yellow('^C cancelling…\n'));
        interrupt();
      }
    },
  };
  const terminal = vscode.window.createTerminal({ name, pty, iconPath: new vscode.ThemeIcon('database'), isTransient: true });
  if (options.show !== false) terminal.show(true);

  // Steps run one after the other: a migration opens the next step as the last one ends; it waits its turn.
  let queue: Promise<unknown> = Promise.resolve();
  const step: StepTerminalSession['step'] = (stepName, work, section = false) => {
    const run = queue.then(() => runOne(stepName, work, section));
    queue = run.catch(() => undefined);
    return run;
  };
  const runOne = async (
    stepName: string,
    work: (io: StepIo) => Promise<StepOutcome>,
    section: boolean,
  ): Promise<StepOutcome & { exitCode: number; output: string }> => {
    await Promise.race([ready, new Promise((r) => setTimeout(r, 3000))]);
    const mine = new AbortController();
    controller = mine;
    // Cancelled before it began (Ctrl+C between two steps, the terminal closed).
    if (interrupted) mine.abort();
    transcript = [];
    if (section) out(`${style.bold(style.cyan(`── ${stepName} ──`))}\n`);
    const started = Date.now();
    let lastPercent = -1;
    let reportProgress: ((p: StepProgress) => void) | undefined;
    const running = options.running?.start(stepName, mine);
    const io: StepIo = {
      line: (text) => out(`${text}\n`),
      output: (text) => out(`${escapeControl(text, false)}\n`),
      command: (text) => out(`${style.cyan('$')} ${style.bold(text)}\n`),
      progress: (p) => {
        reportProgress?.(p);
        const percent = progressPercent(p);
        running?.update(percent);
        showStatus(progressText(p), percent !== lastPercent && (percent === 100 || percent === 0));
        // The log keeps a line each time another 10% is reached (bytes jump); the terminal only the status line.
        if (lastPercent < 0 || Math.floor(percent / 10) > Math.floor(lastPercent / 10))
          transcript.push(`${escapeControl(progressText(p), false)}\n`);
        lastPercent = Math.max(lastPercent, percent);
      },
      signal: mine.signal,
    };
    let result: StepOutcome;
    try {
      result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: stepName, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => interrupt());
          let reported = 0;
          reportProgress = (p) => {
            const percent = p.total > 0 ? (100 * p.done) / p.total : 0;
            progress.report({
              increment: Math.max(0, percent - reported),
              message: p.bytesTotal !== undefined ? progressText(p) : `${p.done}/${p.total}${p.label ? ` · ${p.label}` : ''}`,
            });
            reported = Math.max(reported, percent);
          };
          return work(io);
        },
      );
    } catch (err) {
      result = { ok: false, summary: [`Unexpected failure: ${err instanceof Error ? err.message : String(err)}`] };
    } finally {
      running?.end();
      if (controller === mine) controller = undefined;
    }
    endStatus();
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    // A step that failed because it was cancelled counts as cancelled; the printed code is the real one.
    if (!result.ok && mine.signal.aborted) result.cancelled = true;
    const exitCode = result.ok ? 0 : result.cancelled ? 130 : 1;
    out('\n');
    out(
      result.ok
        ? style.green(style.bold(`✔ ${stepName} succeeded in ${seconds} s\n`))
        : result.cancelled
          ? style.yellow(style.bold(`■ ${stepName} cancelled after ${seconds} s\n`))
          : style.red(style.bold(`✖ ${stepName} failed after ${seconds} s\n`)),
    );
    for (const l of result.summary) out(`  ${l}\n`);
    if (section) out('\n');
    options.log?.info(`${stepName}: ${result.ok ? 'succeeded' : result.cancelled ? 'cancelled' : 'failed'} in ${seconds} s`);
    return { ...result, exitCode, output: stripAnsi(transcript.join('')) };
  };

  const session: StepTerminalSession = {
    terminal,
    step,
    end: (exitCode, lines = []) =>
      void queue.then(() => {
        transcript = [];
        for (const l of lines) out(`${l}\n`);
        out(style.dim(`${lines.length ? '\n' : ''}Exit code ${exitCode}. Press any key to close this terminal.\n`));
        finished = { exitCode };
        setTimeout(() => write.dispose(), 0);
      }),
  };
  return session;
}

/** Runs `work` in a new terminal named `name`; resolves when the work is done (not when closed). */
export function runStepInTerminal(
  name: string,
  work: (io: StepIo) => Promise<StepOutcome>,
  options: StepTerminalOptions = {},
): StepTerminalRun {
  const session = openStepTerminal(name, options);
  const outcome = session.step(name, work).then((o) => {
    session.end(o.exitCode);
    return o;
  });
  return { terminal: session.terminal, outcome };
}
