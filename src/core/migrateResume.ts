/**
 * Where an interrupted migration goes on (`migrate --resume`). An archive is never half-trusted:
 * pg_dump writes `PATH.partial` and only a dump read back whole is renamed to PATH (dump.ts,
 * stream.ts), so an archive at PATH is complete and is restored again instead of dumping again;
 * otherwise the dump starts over. A target that holds the interrupted run's objects is resumed
 * (resume.ts: what is in is kept, the rest restored); a missing or empty one is simply restored.
 * A stream cannot load into a partly loaded database, so a resumed migration without an archive
 * dumps to a file first (one custom archive, restored with jobs).
 */
import { existsSync, statSync } from 'node:fs';
import { choosePlan, type DataShape, type MigrationPlan } from './plan.js';

export interface ResumePoint {
  /** The complete archive of the interrupted run, restored without dumping again. */
  archive?: string;
  /** The target holds the interrupted run's objects: restore with `resume`. */
  resumeTarget: boolean;
  plan: MigrationPlan;
}

/** `path` with its .dir/.dump suffix replaced by `suffix` (other paths unchanged). */
export function withSuffixOf(path: string, suffix: '.dir' | '.dump'): string {
  return /\.(dir|dump)$/.test(path) ? path.replace(/\.(dir|dump)$/, suffix) : path;
}

/** The archive the interrupted run finished, at the requested path or with the other plan's suffix. */
export function completeArchive(dumpPath: string): string | undefined {
  return [dumpPath, withSuffixOf(dumpPath, '.dump'), withSuffixOf(dumpPath, '.dir')].find((p) => existsSync(p));
}

export function resumePoint(
  dumpPath: string,
  targetObjects: number,
  plan: MigrationPlan,
  shape: DataShape | undefined,
  jobs: number,
): ResumePoint {
  const archive = completeArchive(dumpPath);
  const resumeTarget = targetObjects > 0;
  const where = resumeTarget ? 'the target goes on where it stopped' : 'the target holds nothing of it yet, so it is restored whole';
  if (archive)
    return {
      archive,
      resumeTarget,
      plan: {
        ...plan,
        kind: statSync(archive).isDirectory() ? 'directory' : 'custom',
        reason: `Resuming: the interrupted run's archive ${archive} is complete and is restored again (not dumped again); ${where}.`,
      },
    };
  if (resumeTarget && plan.kind === 'stream') {
    const custom = choosePlan(shape, jobs, 'custom');
    return {
      resumeTarget,
      plan: {
        ...custom,
        reason: `Resuming: the interrupted dump left no complete archive, so the source is dumped again to a file (a stream cannot load into a partly loaded database), then ${where}. ${custom.reason}`,
      },
    };
  }
  return {
    resumeTarget,
    plan: { ...plan, reason: `Resuming: the interrupted dump left no complete archive, so it starts over; then ${where}. ${plan.reason}` },
  };
}
