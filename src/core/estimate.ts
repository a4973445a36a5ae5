/**
 * How long a migration will take, before it starts: from the source's sizes (data, TOAST, indexes,
 * the largest table), the plan the engine picked, and the throughput measured on these servers:
 * a short timed COPY of a slice of the largest table (what pg_dump does, on the same server), or
 * the times of earlier runs between the same servers (their ratio of actual to estimated time,
 * per phase, so the estimate learns).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { locateTool } from './pgbin.js';
import { choosePlan, planCompression, readDataShape, type DataShape, type MigrationPlan, type PlanKind, type PlanRequest } from './plan.js';
import { runTool } from './run.js';
import type { Side } from './side.js';

/** The phases of a migration as its steps report them. */
export type EstimatePhase = 'dump' | 'restore' | 'analyze';
export const ESTIMATE_PHASES: readonly EstimatePhase[] = ['dump', 'restore', 'analyze'];

export interface ThroughputSample {
  /** The table sampled (the largest). */
  table: string;
  /** Its on-disk bytes the sample covered (heap + TOAST, pro rata of its rows). */
  bytes: number;
  /** The COPY text the server sent for them. */
  textBytes: number;
  seconds: number;
  /** On-disk bytes per second through COPY TO STDOUT, one session. */
  bytesPerSecond: number;
}

export interface MigrationEstimate {
  /** Seconds per step (for a stream, `dump` is the dump and the load together). */
  seconds: Record<EstimatePhase, number>;
  totalSeconds: number;
  /** What it rests on. */
  basis: 'sample' | 'sample+history';
  sample: ThroughputSample;
  /** The correction factors learned from earlier runs between the same servers, if any. */
  learned?: Partial<Record<EstimatePhase, number>>;
}

/** How much of the largest table the sample reads: enough to time, little enough to take a small fraction of a second. */
export const SAMPLE_BYTES = 16 * 1024 * 1024;

/**
 * Times `COPY (SELECT * FROM <largest> LIMIT n) TO STDOUT` through psql, n the rows of about
 * SAMPLE_BYTES of the table, from its first byte to its last (psql's start, its connection and the
 * query's start are left out: on a small table they would dominate). undefined when there is no
 * table with data or the sample fails (the migration never depends on it).
 */
export async function sampleThroughput(
  side: Side,
  psql: string,
  shape: DataShape,
  signal?: AbortSignal,
): Promise<ThroughputSample | undefined> {
  const largest = shape.largest;
  if (!largest || largest.bytes <= 0 || !largest.sql) return undefined;
  const rows = largest.rows && largest.rows > 0 ? largest.rows : undefined;
  const fraction = Math.min(1, SAMPLE_BYTES / largest.bytes);
  const limit = rows ? Math.max(1, Math.ceil(rows * fraction)) : 100_000;
  const base = ['--no-psqlrc', '--no-password', '--quiet', '-v', 'ON_ERROR_STOP=1'];
  let textBytes = 0;
  let first: number | undefined;
  let last = 0;
  const started = performance.now();
  // A small largest table is copied a few times over in the one session, so the sample is long enough to time.
  const repeats = Math.min(8, Math.max(1, Math.floor(SAMPLE_BYTES / Math.min(largest.bytes, SAMPLE_BYTES))));
  const copy = `COPY (SELECT * FROM ONLY ${largest.sql} LIMIT ${limit}) TO STDOUT`;
  // A table locked by another session (ALTER TABLE, VACUUM FULL) must not hold the migration up: the sample is a help, never a wait.
  const limits = ['-c', `SET lock_timeout = '2s'`, '-c', `SET statement_timeout = '30s'`];
  const run = await runTool(psql, [...base, ...limits, ...Array.from({ length: repeats }, () => ['-c', copy]).flat()], {
    connection: side,
    onStdout: (out) => {
      out.on('data', (chunk: Buffer) => {
        const now = performance.now();
        first ??= now;
        last = now;
        textBytes += chunk.length;
      });
    },
    ...(signal ? { signal } : {}),
  });
  const elapsed = (performance.now() - started) / 1000;
  // A sample that fits in a few pipe reads has no span to speak of: a tenth of the whole run stands in.
  const seconds = Math.max(first === undefined ? 0 : (last - first) / 1000, elapsed / 10);
  if (run.exitCode !== 0 || seconds <= 0 || first === undefined) return undefined;
  // Without a row count (never analyzed) the share of the table read is unknown: the text size stands in.
  const bytes = (rows ? largest.bytes * Math.min(1, limit / rows) : textBytes / repeats) * repeats;
  if (bytes <= 0) return undefined;
  return { table: largest.name, bytes, textBytes, seconds, bytesPerSecond: bytes / seconds };
}

/** The sample with the located psql; undefined when psql or the sample is not to be had. */
async function sampleSource(side: Side, shape: DataShape, binDir: string | undefined, signal: AbortSignal | undefined) {
  const psql = await locateTool('psql', binDir ? { binDir } : {}).catch(() => undefined);
  return psql && !signal?.aborted ? sampleThroughput(side, psql.path, shape, signal).catch(() => undefined) : undefined;
}

/**
 * The timed sample of the source's largest table, started while the checks run. It is a help, never
 * a wait nor a failure: undefined when psql or the sample is not to be had, and stopped (its psql
 * ended) when the plan stops waiting for it or the run ends, so the source is not read for nothing.
 */
export class SourceSample {
  private readonly stopper = new AbortController();
  private readonly sampling: Promise<ThroughputSample | undefined>;

  constructor(side: Side, shaping: Promise<DataShape | undefined>, binDir: string | undefined, signal: AbortSignal | undefined) {
    // The run's cancel stops it too (by hand: AbortSignal.any needs Node 20.3).
    if (signal?.aborted) this.stop();
    else signal?.addEventListener('abort', () => this.stop(), { once: true });
    const stop = this.stopper.signal;
    this.sampling = shaping.then((shape) => (shape && !stop.aborted ? sampleSource(side, shape, binDir, stop) : undefined));
  }

  /** The sample when it is in within `ms` (it is a COPY bounded by its own 30 s statement timeout); else undefined, and it stops. */
  async within(ms = 3000): Promise<ThroughputSample | undefined> {
    const late = Symbol('late');
    const first = await Promise.race([this.sampling, sleep(ms, late, { ref: false })]);
    if (first !== late) return first;
    this.stop();
    return undefined;
  }

  stop(): void {
    this.stopper.abort();
  }
}

/**
 * The model, each constant measured on bench/estimate.ts (pgbench scale 50, 400 tables; PG15 ->
 * PG17 on one 2-core machine) relative to the sampled COPY rate R, so a faster or slower pair of
 * servers scales them:
 * - dump: the data through pg_dump -Z1 into the archive at DUMP x R per job;
 * - load: COPY into the target at LOAD x R per job (parsing, WAL, heap);
 * - indexes: built at INDEX x R (of index bytes) per job;
 * - jobs: N jobs run a phase in max(largest share, 1 / (N x PARALLEL)) of one job's time;
 * - a stream overlaps dump and load: max(dump, load) x (1 + OVERLAP); the dominant table loaded by
 *   N sessions (plan.split) takes SPLIT of its one-session time (2 sessions, 2 cores shared by both
 *   servers: the load 5.1 s -> 4.4 s) and its indexes are built afterwards;
 * - per table: catalog work, one COPY and transaction each (PER_TABLE s); fixed: start, checks,
 *   the archive read back (FIXED s);
 * - analyze: vacuumdb's start (ANALYZE_FIXED s), its sample of each table (ANALYZE_PER_TABLE s)
 *   and of the data (ANALYZE x R).
 */
export const MODEL = {
  DUMP: 0.9,
  LOAD: 0.4,
  INDEX: 0.5,
  PARALLEL: 0.8,
  OVERLAP: 0.15,
  SPLIT: 0.86,
  PER_TABLE: 0.004,
  FIXED: 0.4,
  ANALYZE: 8,
  ANALYZE_PER_TABLE: 0.006,
  ANALYZE_FIXED: 0.2,
};

/** The estimate for `plan` over `shape` at the sampled rate, corrected by what earlier runs between the same servers learned. */
export function estimateMigration(
  plan: MigrationPlan,
  shape: DataShape,
  sample: ThroughputSample,
  learned?: Partial<Record<EstimatePhase, number>>,
): MigrationEstimate {
  const R = sample.bytesPerSecond;
  const data = shape.dataBytes;
  const share = shape.largest && data > 0 ? shape.largest.bytes / data : 1;
  const indexShare = shape.largestIndexes && shape.indexBytes > 0 ? shape.largestIndexes.bytes / shape.indexBytes : 1;
  const spread = (jobs: number, s: number): number => (jobs > 1 ? Math.max(s, 1 / (jobs * MODEL.PARALLEL)) : 1);
  const dumpOne = data / (MODEL.DUMP * R);
  const loadOne = data / (MODEL.LOAD * R);
  const indexOne = shape.indexBytes / (MODEL.INDEX * R);
  const perTable = shape.tables * MODEL.PER_TABLE;
  const seconds: Record<EstimatePhase, number> = { dump: 0, restore: 0, analyze: 0 };
  if (plan.kind === 'stream') {
    // The dominant table loaded by several sessions: its share of the load at SPLIT of one session's time; its indexes afterwards.
    const afterwards = plan.indexJobs > 1 || plan.split !== undefined;
    const load = plan.split ? loadOne * (1 - share + share * MODEL.SPLIT) : loadOne;
    seconds.dump = Math.max(dumpOne, load) * (1 + MODEL.OVERLAP) + (afterwards ? 0 : indexOne) + 2 * perTable;
    seconds.restore = afterwards ? indexOne * spread(plan.indexJobs, indexShare) : 0;
  } else {
    const jobs = plan.kind === 'directory' ? plan.jobs : 1;
    seconds.dump = dumpOne * spread(jobs, share) + perTable;
    seconds.restore = loadOne * spread(plan.jobs, share) + indexOne * spread(plan.jobs, indexShare) + perTable;
  }
  seconds.analyze =
    MODEL.ANALYZE_FIXED + shape.tables * MODEL.ANALYZE_PER_TABLE + Math.min(data, shape.tables * 30_000 * 200) / (MODEL.ANALYZE * R);
  seconds.dump += MODEL.FIXED;
  const known = learned && Object.keys(learned).length > 0;
  if (known) for (const p of ESTIMATE_PHASES) seconds[p] *= learned[p] ?? 1;
  const totalSeconds = ESTIMATE_PHASES.reduce((sum, p) => sum + seconds[p], 0);
  return { seconds, totalSeconds, basis: known ? 'sample+history' : 'sample', sample, ...(known ? { learned } : {}) };
}

/**
 * The plan a migration between these servers would pick and its estimate, without moving
 * anything (`preflight`): the source's sizes, a timed sample, what earlier runs taught.
 */
export async function planAndEstimate(o: {
  source: Side;
  target: Side;
  jobs: number;
  requested?: PlanRequest;
  binDir?: string;
  history?: EstimateHistory;
  skipAnalyze?: boolean;
  signal?: AbortSignal;
  /** Where the archive will go, and its zlib level if one is asked: the plan then says whether it is compressed. */
  archiveFolder?: string;
  compress?: number;
}): Promise<{ plan: MigrationPlan; estimate?: MigrationEstimate }> {
  const shape = await readDataShape(o.source).catch(() => undefined);
  const plan = planCompression(choosePlan(shape, o.jobs, o.requested ?? 'auto'), o.compress, o.archiveFolder);
  if (!shape) return { plan };
  const sample = await sampleSource(o.source, shape, o.binDir, o.signal);
  if (!sample) return { plan };
  const estimate = estimateMigration(plan, shape, sample, o.history?.read(EstimateHistory.key(o.source, o.target, plan.kind)));
  if (o.skipAnalyze) withoutAnalyze(estimate);
  return { plan, estimate };
}

/** The estimate of a migration that skips analyze. */
export function withoutAnalyze(e: MigrationEstimate): void {
  e.totalSeconds -= e.seconds.analyze;
  e.seconds.analyze = 0;
}

/** "about 2 h 10 min: dump 40 min, restore 1 h 15 min, analyze 15 min" */
export function describeEstimate(e: MigrationEstimate, streamed: boolean): string {
  const parts = [
    `${streamed ? 'dump and load' : 'dump'} ${roughDuration(e.seconds.dump)}`,
    ...(e.seconds.restore >= 0.5 || !streamed ? [`${streamed ? 'indexes' : 'restore'} ${roughDuration(e.seconds.restore)}`] : []),
    `analyze ${roughDuration(e.seconds.analyze)}`,
  ];
  const basis =
    e.basis === 'sample+history'
      ? 'from a sample of the largest table and earlier runs between these servers'
      : `from a ${roughDuration(e.sample.seconds)} sample of ${e.sample.table}`;
  return `about ${roughDuration(e.totalSeconds)}: ${parts.join(', ')} (${basis})`;
}

/** Seconds per phase to one decimal, for JSON. */
export function roundSeconds(seconds: Record<EstimatePhase, number>): Record<EstimatePhase, number> {
  const out = { ...seconds };
  for (const p of ESTIMATE_PHASES) out[p] = Math.round(seconds[p] * 10) / 10;
  return out;
}

/** Seconds in the words of a clock: "45 s", "12 min", "2 h 10 min". */
export function roughDuration(seconds: number): string {
  if (seconds < 10) return `${Math.max(0.1, Math.round(seconds * 10) / 10)} s`;
  if (seconds < 90) return `${Math.round(seconds)} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? `${h} h ${m} min` : `${h} h`;
}

/** Actual against estimated, per phase that ran: what the next estimate between the same servers multiplies by. */
export function learnedFactors(
  e: MigrationEstimate,
  actualSeconds: Partial<Record<EstimatePhase, number>>,
): Partial<Record<EstimatePhase, number>> {
  const out: Partial<Record<EstimatePhase, number>> = {};
  for (const p of ESTIMATE_PHASES) {
    const actual = actualSeconds[p];
    // The uncorrected estimate: the factor applies to the model, not to an earlier correction.
    const model = e.seconds[p] / (e.learned?.[p] ?? 1);
    if (actual === undefined || model < 0.5 || actual <= 0) continue;
    out[p] = Math.min(5, Math.max(0.2, actual / model));
  }
  return out;
}

/**
 * What earlier runs taught, per pair of servers (no names of databases, no users, no passwords):
 * a JSON file of `{ "<source host:port> -> <target host:port> (<plan>)": { dump, restore, analyze } }`.
 */
export class EstimateHistory {
  constructor(private readonly file: string) {}

  /** Per pair of servers and plan: a stream's "dump" phase holds the load too, a directory plan's does not. */
  static key(source: Side, target: Side, plan: PlanKind): string {
    return `${source.profile.host}:${source.profile.port} -> ${target.profile.host}:${target.profile.port} (${plan})`;
  }

  /** A whole run's steps (actual against estimated time per phase); never a reason for the run to fail. */
  learnRun(
    source: Side,
    target: Side,
    plan: PlanKind,
    e: MigrationEstimate,
    steps: { step: string; durationMs: number; skipped?: boolean }[],
  ): void {
    const actual: Partial<Record<EstimatePhase, number>> = {};
    for (const s of steps)
      if ((ESTIMATE_PHASES as readonly string[]).includes(s.step) && !s.skipped) actual[s.step as EstimatePhase] = s.durationMs / 1000;
    try {
      this.learn(EstimateHistory.key(source, target, plan), learnedFactors(e, actual));
    } catch {
      // The history is a help: a file that cannot be written teaches nothing.
    }
  }

  read(key: string): Partial<Record<EstimatePhase, number>> | undefined {
    const all = this.all();
    const entry = all[key];
    if (!entry || typeof entry !== 'object') return undefined;
    // Only sane factors: a hand-edited or damaged entry must not turn an hour into a minute.
    const out: Partial<Record<EstimatePhase, number>> = {};
    for (const p of ESTIMATE_PHASES) {
      const f = (entry as Record<string, unknown>)[p];
      if (typeof f === 'number' && f >= 0.2 && f <= 5) out[p] = f;
    }
    return Object.keys(out).length ? out : undefined;
  }

  /** Blends the new factors with what was known (the newest run weighs half). */
  learn(key: string, factors: Partial<Record<EstimatePhase, number>>): void {
    if (!Object.keys(factors).length) return;
    const all = this.all();
    const before = all[key] ?? {};
    const next: Partial<Record<EstimatePhase, number>> = { ...before };
    for (const p of ESTIMATE_PHASES) {
      const f = factors[p];
      if (f === undefined) continue;
      const old = before[p];
      next[p] = old === undefined ? f : Math.sqrt(old * f);
    }
    all[key] = next;
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(all, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.file);
  }

  private all(): Record<string, Partial<Record<EstimatePhase, number>>> {
    if (!existsSync(this.file)) return {};
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.file, 'utf8'));
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
        ? (parsed as Record<string, Partial<Record<EstimatePhase, number>>>)
        : {};
    } catch {
      return {}; // a damaged file teaches nothing; it is rewritten by the next run
    }
  }
}
