/**
 * What every step shares: callbacks for output and progress, the failure shape with its problem
 * kinds, and the explanation of a tool that failed.
 */
import { cpus } from 'node:os';
import { explainConnectionError, redact, type ConnectionProblem, type ErrorContext, type ExplainedError } from './errors.js';
import type { ToolRun } from './run.js';
import { connectTimeoutOf, sideDatabase, type Side } from './side.js';

export interface StepProgress {
  done: number;
  total: number;
  /** What is being worked on, e.g. a table name. */
  label?: string;
  /** Progress by bytes (done/total are then these bytes): the data moved and all of it. */
  bytesDone?: number;
  bytesTotal?: number;
  /** Seconds left at the rate so far (absent until there is enough of it). */
  etaSeconds?: number;
  /** The phase the bytes belong to: dump, restore, load. */
  phase?: string;
}

export interface StepCallbacks {
  signal?: AbortSignal;
  onLine?: (line: string) => void;
  onProgress?: (p: StepProgress) => void;
  /** Called once with the command line to show (password never included). */
  onCommand?: (command: string) => void;
}

/** Why a step did not succeed: connection problems plus the steps' own. */
export type StepProblem =
  | ConnectionProblem
  | 'cancelled'
  | 'tool_failed'
  | 'tool_missing'
  | 'output_exists'
  | 'archive_missing'
  | 'not_an_archive'
  | 'truncated_archive'
  | 'archive_unreadable'
  | 'schema_not_in_archive'
  | 'target_not_empty'
  | 'restore_errors'
  | 'database_exists'
  | 'locale_unavailable'
  | 'create_failed'
  | 'not_ready'
  | 'transfer_failed'
  | 'ssh_auth'
  | 'host_key'
  | 'path'
  | 'checksum_mismatch'
  | 'lock_timeout'
  | 'incomplete_archive'
  | 'database_in_use'
  | 'drop_failed'
  | 'protected_database'
  | 'not_resumable';

export interface StepFailure {
  problem: StepProblem;
  /** What happened, in one sentence. */
  message: string;
  /** What to do about it. */
  hint: string;
}

export function failureOf(e: ExplainedError): StepFailure {
  return { problem: e.problem, message: e.message, hint: e.hint };
}

/** The failure of a step the user cancelled. */
export function cancelledFailure(message: string, hint: string): StepFailure {
  return { problem: 'cancelled', message, hint };
}

/** The explained error carried by a ConnectionError, or an explanation of any other error. */
export function explainSideError(err: unknown, side: Side): ExplainedError {
  return (err as { explained?: ExplainedError }).explained ?? explainConnectionError(err, errorContext(side));
}

function errorContext(side: Side): ErrorContext {
  const p = side.profile;
  return {
    host: p.host,
    port: p.port,
    user: p.user,
    database: sideDatabase(side),
    password: side.password,
    timeoutSeconds: connectTimeoutOf(side),
  };
}

/** libpq conninfo for --dbname that is safe for any database name (quotes, spaces, '=', unicode). */
export function conninfoDbname(name: string): string {
  return `dbname='${name.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The default number of parallel jobs: the machine's cores, at most 8. */
export function defaultJobs(): number {
  return Math.max(1, Math.min(8, cpus().length));
}

/** The tool's first `error:` line without its `tool: error: ` prefix. */
export function firstError(run: ToolRun): string | undefined {
  return run.stderrLines.find((l) => /error:/.test(l))?.replace(/^\S+: error: /, '');
}

/** The first explained connection/tool failure found in the tool's messages. */
export function explainToolFailure(run: ToolRun, side: Side | undefined): StepFailure {
  const errors = run.stderrLines.filter((l) => /error:|FATAL|fatal:/i.test(l));
  const text = (errors.length ? errors : run.stderrLines.slice(-5)).join('\n');
  const explained = explainConnectionError({ message: text }, side ? errorContext(side) : {});
  if (explained.problem !== 'unknown') return failureOf(explained);
  return {
    problem: 'tool_failed',
    message: redact(firstError(run) ?? `${run.argv[0]} exited with code ${run.exitCode}`, side?.password),
    hint: 'See the full output above.',
  };
}

/** A result that is either a value or a failure, never both. */
export type Result<T> = { ok: true; value: T } | { ok: false; failure: StepFailure };

/**
 * Session settings for the migration's restore sessions, given through PGOPTIONS. None by default:
 * measured (bench/migration.ts, the README's Performance section), synchronous_commit=off and a
 * larger maintenance_work_mem made the stream of pgbench scale 50 4-11% faster and the directory
 * plans no faster, while connection poolers (PgBouncer, the pooled endpoints of managed services)
 * refuse the `options` startup parameter they travel in, which would fail the restore after the dump.
 */
export const RESTORE_SETTINGS: Record<string, string> = {};

/** Step callbacks whose calls wait, in order, until release(): the output of a step that began before the one shown ends. */
export function heldCallbacks(cb: StepCallbacks): { cb: StepCallbacks; release: () => void } {
  let queue: Array<() => void> | undefined = [];
  const hold =
    <A>(f: ((a: A) => void) | undefined) =>
    (a: A): void => {
      if (queue) queue.push(() => f?.(a));
      else f?.(a);
    };
  return {
    cb: { ...cb, onLine: hold(cb.onLine), onCommand: hold(cb.onCommand), onProgress: hold(cb.onProgress) },
    release: () => {
      const q = queue ?? [];
      queue = undefined;
      for (const f of q) f();
    },
  };
}
