/** The options, steps and result of a migration (migrate.ts). */
import type { ArchiveFormat, ArchiveInfo, DumpResult } from './dump.js';
import type { EstimateHistory, MigrationEstimate } from './estimate.js';
import type { MigrationPlan, PlanRequest } from './plan.js';
import type { PreflightReport } from './preflight.js';
import type { RestoreResult } from './restore.js';
import type { Side } from './side.js';
import type { SourceSnapshot } from './snapshot.js';
import type { StepFailure, StepProgress } from './step.js';

export type MigrateStepName = 'preflight' | 'dump' | 'create-database' | 'restore' | 'analyze';

export interface MigrateStepRecord {
  step: MigrateStepName;
  ok: boolean;
  skipped?: boolean;
  durationMs: number;
  command?: string;
  failure?: StepFailure;
  detail?: string;
  /** The dump step's archive (without its table of contents). */
  archive?: Omit<ArchiveInfo, 'toc'>;
}

export interface MigrateOptions {
  source: Side;
  /** Target server; `database` is the database to create/restore into. */
  target: Side;
  /**
   * The archive. A path ending in .dir or .dump gets the suffix of the format the plan writes
   * (the result's archive says where it went).
   */
  dumpPath: string;
  /** How the data moves (default auto: from the source's sizes, see plan.ts). */
  plan?: PlanRequest;
  /** The streamed plan's index jobs (default from the sizes, see streamIndexJobs; 1: in the load's own pass). */
  indexJobs?: number;
  /** The streamed plan loads a table at least this large with `jobs` sessions at once (default SPLIT_MIN_BYTES, 256 MiB). */
  splitMinBytes?: number;
  /** Older name for plan 'directory' / 'custom'. */
  format?: ArchiveFormat;
  jobs?: number;
  /**
   * The archive's zlib level (pg_dump --compress; the streamed plan's custom archive or the directory
   * plan's). Default: 1, or 0 for a directory archive when its disk has room (see uncompressedArchive).
   */
  compress?: number;
  noOwner?: boolean;
  noAcl?: boolean;
  noTableAccessMethod?: boolean;
  binDir?: string;
  overwriteDump?: boolean;
  confirmNonEmptyDatabase?: string;
  /**
   * Go on with an interrupted migration into the same target (needs `confirmNonEmptyDatabase`):
   * its complete archive is restored again, else the dump starts over; see migrateResume.ts.
   */
  resume?: boolean;
  skipAnalyze?: boolean;
  /** How long pg_dump waits for a table another session has locked (default 30 s). */
  lockWaitTimeoutSeconds?: number;
  /** Rehearse the schema restore on the target before the dump; stop if anything would fail. */
  rehearse?: boolean;
  /**
   * Dump the source as of an exported snapshot, held after a successful migration for the
   * validation to count the source on the same snapshot (see snapshot.ts): the caller releases
   * `result.snapshot`. Released here when the migration fails or is cancelled.
   */
  snapshot?: boolean;
  /** The snapshot, once exported (before the dump), or why none could be (the dump then reads the source live). */
  onSnapshot?: (snapshot: SourceSnapshot | undefined, error?: string) => void;
  signal?: AbortSignal;
  onStep?: (step: MigrateStepName, state: 'start' | 'end', record?: MigrateStepRecord) => void;
  onLine?: (step: MigrateStepName, line: string) => void;
  /** A step's command line, as soon as it is known (before it runs). */
  onCommand?: (step: MigrateStepName, command: string) => void;
  onProgress?: (step: MigrateStepName, p: StepProgress) => void;
  /** The plan, once chosen (after the readiness checks, before the dump), and how long it should take. */
  onPlan?: (plan: MigrationPlan, dumpPath: string, estimate?: MigrationEstimate) => void;
  /**
   * Where the estimate learns from earlier runs between the same servers (actual against
   * estimated time per phase); without it the estimate rests on the sample alone.
   */
  estimateHistory?: EstimateHistory;
  /** The readiness report, as soon as it is known (before the preflight step ends). */
  onPreflight?: (report: PreflightReport) => void;
}

export interface MigrateResult {
  ok: boolean;
  steps: MigrateStepRecord[];
  preflight?: PreflightReport;
  plan?: MigrationPlan;
  /** The time estimate made before the dump (none when the source holds no data or the sample failed). */
  estimate?: MigrationEstimate;
  /** The snapshot the dump read, still held after a successful migration: release it after validating. */
  snapshot?: SourceSnapshot;
  dump?: DumpResult;
  restore?: RestoreResult;
  failedStep?: MigrateStepName;
  durationMs: number;
}
