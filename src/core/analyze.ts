/** Analyze: vacuumdb --analyze-only on the restored database, so the planner has statistics. */
import { displayCommand, runTool } from './run.js';
import { sideDatabase, type Side } from './side.js';
import { cancelledFailure, conninfoDbname, explainToolFailure, type StepCallbacks, type StepFailure } from './step.js';

export interface AnalyzeOptions extends StepCallbacks {
  target: Side;
  vacuumdb: string;
  jobs?: number;
}

interface AnalyzeRun {
  command: string;
  durationMs: number;
  cancelled: boolean;
}

export type AnalyzeResult = (AnalyzeRun & { ok: true; failure?: undefined }) | (AnalyzeRun & { ok: false; failure: StepFailure });

export function buildAnalyzeArgs(database: string, jobs: number | undefined): string[] {
  const args = ['--analyze-only', '--no-password', `--dbname=${conninfoDbname(database)}`];
  if (jobs && jobs > 1) args.push(`--jobs=${jobs}`);
  return args;
}

export async function analyze(o: AnalyzeOptions): Promise<AnalyzeResult> {
  const args = buildAnalyzeArgs(sideDatabase(o.target), o.jobs);
  const command = displayCommand([o.vacuumdb, ...args], o.target);
  o.onCommand?.(command);
  const run = await runTool(o.vacuumdb, args, {
    connection: o.target,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onLine ? { onLine: o.onLine } : {}),
  });
  const common = { command, durationMs: run.durationMs, cancelled: run.cancelled };
  if (run.exitCode === 0 && !run.cancelled) return { ok: true, ...common };
  const failure = run.cancelled
    ? cancelledFailure('ANALYZE was cancelled.', 'Run it again later; the data is complete.')
    : explainToolFailure(run, o.target);
  return { ok: false, ...common, failure };
}
