/** The CLI's option readers shared by the verbs: each turns a value into what core wants, or a UsageError that says how to fix it. */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConnectionStringError, parseConnectionString } from '../core/connection.js';
import { EstimateHistory } from '../core/estimate.js';
import { DEFAULT_LOCK_WAIT_TIMEOUT_SECONDS, type ArchiveFormat } from '../core/dump.js';
import { PLAN_REQUESTS, type PlanRequest } from '../core/plan.js';
import { duration, failureLines, progressEvent, progressPercent, progressText } from '../core/present/steps.js';
import { plain } from '../core/present/style.js';
import { DEFAULT_CONNECT_TIMEOUT_SECONDS, PgpassError, withPgpass, type Side, type SideRole } from '../core/side.js';
import { defaultJobs, type StepFailure, type StepProgress } from '../core/step.js';
import { UsageError, type Io } from './io.js';

export type Values = Record<string, string | boolean | string[] | undefined>;

export const str = (v: Values, k: string): string | undefined => (typeof v[k] === 'string' ? v[k] : undefined);
export const bool = (v: Values, k: string): boolean => v[k] === true;
export const list = (v: Values, k: string): string[] => (Array.isArray(v[k]) ? v[k] : []);

/** --connect-timeout SECONDS (default 10), for every connection a verb opens, its tools' included. */
export function connectTimeoutOption(v: Values): number {
  const text = str(v, 'connect-timeout');
  if (text === undefined) return DEFAULT_CONNECT_TIMEOUT_SECONDS;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError('--connect-timeout must be a positive number of seconds.');
  return n;
}

/** --lock-wait-timeout SECONDS (default 30): how long a dump or a validation waits for a locked table. */
export function lockWaitOption(v: Values): number {
  const text = str(v, 'lock-wait-timeout');
  if (text === undefined) return DEFAULT_LOCK_WAIT_TIMEOUT_SECONDS;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > 86_400) throw new UsageError('--lock-wait-timeout must be a positive number of seconds.');
  return n;
}

/** The side named by --source/--target (or --like, a source), its password from the environment. */
export function sideFrom(v: Values, option: 'source' | 'target' | 'like', role: SideRole, env: NodeJS.ProcessEnv): Side {
  const uri = str(v, option);
  if (!uri) throw new UsageError(`--${option} postgresql://user@host:port/dbname is required.`);
  try {
    const parsed = parseConnectionString(uri, env);
    const password = env[role === 'source' ? 'HYDRA_SOURCE_PASSWORD' : 'HYDRA_TARGET_PASSWORD'] ?? parsed.password ?? env.PGPASSWORD;
    // Then, as libpq: the password file (PGPASSFILE or ~/.pgpass).
    return withPgpass(
      { role, profile: parsed.target, password, database: parsed.target.database, connectTimeoutSeconds: connectTimeoutOption(v) },
      env,
    );
  } catch (e) {
    if (e instanceof ConnectionStringError) throw new UsageError(`--${option}: ${e.message}`);
    if (e instanceof PgpassError) throw new UsageError(`--${option}: ${e.message}`);
    throw e;
  }
}

export function side(v: Values, key: SideRole, env: NodeJS.ProcessEnv): Side {
  return sideFrom(v, key, key, env);
}

export function jobsOf(v: Values): number {
  const text = str(v, 'jobs');
  if (text === undefined) return defaultJobs();
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new UsageError('--jobs must be a whole number from 1 to 64.');
  return n;
}

/** --compress: pg_dump's zlib level 0-9, or undefined when not given. */
export function compressOf(v: Values): number | undefined {
  const text = str(v, 'compress');
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 9) throw new UsageError('--compress must be 0 to 9.');
  return n;
}

export function formatOf(v: Values): ArchiveFormat {
  const f = str(v, 'format') ?? 'directory';
  if (f === 'custom' || f === 'c') return 'custom';
  if (f === 'directory' || f === 'd') return 'directory';
  throw new UsageError(`--format must be custom or directory (not "${f}").`);
}

export function planOf(v: Values): PlanRequest {
  const p = str(v, 'plan');
  if (p === undefined) return str(v, 'format') !== undefined ? formatOf(v) : 'auto';
  if (!(PLAN_REQUESTS as readonly string[]).includes(p))
    throw new UsageError(`--plan must be one of ${PLAN_REQUESTS.join(', ')} (not "${p}").`);
  if (str(v, 'format') !== undefined) throw new UsageError('Give --plan or --format, not both.');
  return p as PlanRequest;
}

export function failureText(f: StepFailure): string {
  return failureLines(f, plain).join('\n');
}

export const ms = duration;

/**
 * Where the CLI keeps what earlier migrations taught the estimate: `HYDRA_MIGRATE_STATE_DIR`, else
 * `$XDG_STATE_HOME/hydra-migrate`, else `~/.local/state/hydra-migrate` (estimates.json; hosts and ports only).
 */
export function estimateHistoryOf(env: NodeJS.ProcessEnv): EstimateHistory {
  const dir = env.HYDRA_MIGRATE_STATE_DIR || join(env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state'), 'hydra-migrate');
  return new EstimateHistory(join(dir, 'estimates.json'));
}

/**
 * How a verb reports progress: `--progress json` one JSON object per line on stderr (percent
 * never going back within a phase, at most 4 a second except the first and the last), else the
 * status line of a terminal, else nothing (the tools' own lines say it).
 */
export function progressReporter(v: Values, io: Io): ((step: string, p: StepProgress) => void) | undefined {
  const mode = str(v, 'progress');
  if (mode !== undefined && mode !== 'json' && mode !== 'none') throw new UsageError(`--progress takes json or none (not "${mode}").`);
  if (mode === 'none') return undefined;
  if (mode === 'json') {
    const last = new Map<string, { percent: number; at: number; table?: string }>();
    return (step, p) => {
      const phase = p.phase ?? step;
      const before = last.get(phase);
      const percent = Math.max(before?.percent ?? 0, progressPercent(p));
      const now = Date.now();
      // At most four a second; the same percent of the same table once a second.
      if (before && percent === before.percent && p.label === before.table && now - before.at < 1000) return;
      if (before && percent !== 100 && now - before.at < 250) return;
      last.set(phase, { percent, at: now, ...(p.label ? { table: p.label } : {}) });
      io.stderr(JSON.stringify(progressEvent(phase, percent, p)));
    };
  }
  const status = io.status;
  if (!status) return undefined;
  return (step, p) => status(progressPercent(p) >= 100 ? '' : `${step}: ${progressText(p)}`);
}
