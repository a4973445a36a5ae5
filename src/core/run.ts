/**
 * Runs a PostgreSQL tool from an argv array (never a shell string) with the password only in the
 * child's environment, streams its output line by line, and stops it (and its children) within
 * two seconds when the AbortSignal fires.
 */
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { libpqEnvironment } from './connection.js';
import { connectTimeoutOf, sideDatabase, type Side } from './side.js';

export interface ToolRun {
  /** The tool's path and arguments (no password anywhere). */
  argv: string[];
  exitCode: number | undefined;
  signal?: string;
  cancelled: boolean;
  durationMs: number;
  /** Every line the tool wrote to stderr (pg tools write their messages and --verbose there). */
  stderrLines: string[];
  stdout: string;
}

export interface RunToolOptions {
  /** The side the tool connects to; its password goes to the child through PGPASSWORD. */
  connection?: Side;
  /** Extra environment variables. */
  env?: Record<string, string>;
  signal?: AbortSignal;
  /** Called for every output line (stderr and stdout), with `\n` removed. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Keep stdout in memory (for pg_restore -l); otherwise it is streamed to onLine only. */
  captureStdout?: boolean;
  cwd?: string;
  /** Hand the child's stdin over (piped) instead of closing it: pg_restore reading an archive from a pipe. */
  onStdin?: (stdin: Writable) => void;
  /** Hand the child's raw stdout over instead of splitting it into lines: pg_dump writing an archive to a pipe. */
  onStdout?: (stdout: Readable) => void;
  /**
   * Stop the tool if this process dies first (default: except for listings, `captureStdout`). The
   * tool runs in a process group of its own, which outlives a process killed outright (an extension
   * host ended by a window reload, a CLI killed with SIGKILL): a pg_dump would go on holding its
   * locks on the source, a pg_restore go on loading behind the user's back.
   */
  stopWithUs?: boolean;
}

/**
 * The watchdog of `stopWithUs`: a shell (a few kB, no Node) that checks every half second that
 * this process lives and ends with the tool's group; when this process is gone it stops the group
 * as a cancel does (SIGINT, then SIGKILL).
 */
const WATCHDOG = `h=$1; g=$2
while kill -0 "$h" 2>/dev/null; do kill -0 "-$g" 2>/dev/null || exit 0; sleep 0.5; done
kill -INT "-$g" 2>/dev/null; sleep 1.5; kill -KILL "-$g" 2>/dev/null; exit 0`;

function watchGroup(group: number): void {
  try {
    const guard = spawn('/bin/sh', ['-c', WATCHDOG, 'hydra-migrate-watchdog', String(process.pid), String(group)], {
      detached: true,
      stdio: 'ignore',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, // nothing of ours (passwords live in the CLI's environment)
    });
    guard.on('error', () => undefined); // no /bin/sh: the tool runs unguarded, as before
    guard.unref();
  } catch {
    // as above
  }
}

/** Quotes one argument for display the way a POSIX shell would need it. */
export function shellQuote(arg: string): string {
  if (arg !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command line to show the user: argv quoted, plus the libpq variables that matter (not the password). */
export function displayCommand(argv: string[], connection?: RunToolOptions['connection']): string {
  if (!connection) return argv.map(shellQuote).join(' ');
  const p = connection.profile;
  const vars = [
    `PGHOST=${shellQuote(p.host)}`,
    `PGPORT=${p.port}`,
    `PGUSER=${shellQuote(p.user)}`,
    `PGDATABASE=${shellQuote(sideDatabase(connection))}`,
    `PGSSLMODE=${p.sslmode}`,
  ];
  if (connection.passfile) vars.push(`PGPASSFILE=${shellQuote(connection.passfile)}`);
  else if (connection.password !== undefined) vars.push('PGPASSWORD=***');
  const prefix = `${vars.join(' ')} `;
  return prefix + argv.map(shellQuote).join(' ');
}

export async function runTool(tool: string, args: string[], options: RunToolOptions = {}): Promise<ToolRun> {
  const { execa } = await import('execa');
  const env: Record<string, string | undefined> = { LC_MESSAGES: 'C', LC_ALL: undefined, ...options.env };
  if (options.connection) {
    const side = options.connection;
    Object.assign(
      env,
      // A password from the libpq password file stays there: the tool reads PGPASSFILE itself.
      libpqEnvironment(side.profile, side.passfile ? undefined : side.password, {
        database: sideDatabase(side),
        connectTimeoutSeconds: connectTimeoutOf(side),
      }),
      side.passfile ? { PGPASSFILE: side.passfile } : {},
    );
  }
  const started = performance.now();
  const stderrLines: string[] = [];
  let stdout = '';
  const child = execa(tool, args, {
    env,
    extendEnv: true,
    reject: false,
    stdin: options.onStdin ? 'pipe' : 'ignore',
    buffer: false,
    detached: true, // own process group: cancelling kills pg_dump's parallel workers too
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  const splitter = (stream: 'stdout' | 'stderr') => {
    let pending = '';
    const emit = (line: string): void => {
      if (stream === 'stderr') stderrLines.push(line);
      options.onLine?.(line, stream);
    };
    return {
      push(chunk: Buffer | string): void {
        const lines = (pending + chunk.toString()).split(/\r?\n/);
        pending = lines.pop() ?? '';
        lines.forEach(emit);
      },
      flush(): void {
        if (pending !== '') emit(pending);
        pending = '';
      },
    };
  };
  if (child.pid !== undefined && (options.stopWithUs ?? !options.captureStdout)) watchGroup(child.pid);
  const err = splitter('stderr');
  const out = splitter('stdout');
  child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
  if (options.onStdin && child.stdin) options.onStdin(child.stdin);
  if (options.onStdout && child.stdout) options.onStdout(child.stdout);
  else
    child.stdout?.on('data', (chunk: Buffer) => {
      if (options.captureStdout) stdout += chunk.toString();
      else out.push(chunk);
    });
  let cancelled = false;
  const kill = (): void => {
    cancelled = true;
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGINT');
    } catch {
      return;
    }
    setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 1500).unref();
  };
  if (options.signal?.aborted) kill();
  options.signal?.addEventListener('abort', kill, { once: true });
  const result = await child;
  options.signal?.removeEventListener('abort', kill);
  err.flush();
  out.flush();
  const run: ToolRun = {
    argv: [tool, ...args],
    exitCode: result.exitCode,
    cancelled,
    durationMs: performance.now() - started,
    stderrLines,
    stdout,
  };
  if (result.signal) run.signal = result.signal;
  if (result.failed && result.exitCode === undefined && !cancelled && result.message) {
    // Could not start at all (ENOENT, EACCES): say so as the tool would.
    stderrLines.push(`${tool}: ${result.message}`);
  }
  return run;
}
