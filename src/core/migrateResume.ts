/**
 * Where an interrupted migration goes on (`migrate --resume`). An archive is never half-trusted:
 * pg_dump writes `PATH.partial` and only a dump read back whole is renamed to PATH (dump.ts,
 * stream.ts), so an archive at PATH with no `PATH.partial` beside it (a later dump to the same path
 * that was cut) is complete and is restored again instead of dumping again, when it is a dump of
 * the same database; the target then goes on where it stopped (resume.ts). Without such an archive
 * the dump starts over, and a target that holds part of the interrupted run's data is dropped and
 * recreated first: rows of the old dump and of the new one are never mixed (the source may have
 * changed in between).
 */
import { existsSync, statSync } from 'node:fs';
import { readArchive } from './archive.js';
import type { MigrateOptions } from './migrateTypes.js';
import type { MigrationPlan } from './plan.js';
import { sideDatabase } from './side.js';

export interface ResumePoint {
  /** The complete archive of the interrupted run, restored without dumping again. */
  archive?: string;
  /** The target holds the interrupted run's objects: restore with `resume`. */
  resumeTarget: boolean;
  /** The target holds data of a dump that did not finish: drop and recreate it before loading again. */
  recreate: boolean;
  plan: MigrationPlan;
}

/** `path` with its .dir/.dump suffix replaced by `suffix` (other paths unchanged). */
export function withSuffixOf(path: string, suffix: '.dir' | '.dump'): string {
  return /\.(dir|dump)$/.test(path) ? path.replace(/\.(dir|dump)$/, suffix) : path;
}

/** The archive the interrupted run finished, at the requested path or with the other plan's suffix; none where a later dump to it was cut. */
export function completeArchive(dumpPath: string): string | undefined {
  return [...new Set([dumpPath, withSuffixOf(dumpPath, '.dump'), withSuffixOf(dumpPath, '.dir')])].find(
    (p) => existsSync(p) && !existsSync(`${p}.partial`),
  );
}

/**
 * `archive`: the complete archive found (and checked to be a dump of the source's database) or
 * undefined; `targetObjects`: what the target database holds now.
 */
export function resumePoint(
  archive: { path: string; createdAt?: string } | undefined,
  targetObjects: number,
  targetDb: string,
  plan: MigrationPlan,
): ResumePoint {
  const partly = targetObjects > 0;
  if (archive)
    return {
      archive: archive.path,
      resumeTarget: partly,
      recreate: false,
      plan: {
        ...plan,
        kind: statSync(archive.path).isDirectory() ? 'directory' : 'custom',
        reason: `Resuming: the interrupted run's archive ${archive.path}${archive.createdAt ? ` (dumped ${archive.createdAt})` : ''} is complete and is restored again (not dumped again); ${partly ? 'the target goes on where it stopped' : 'the target holds nothing of it yet, so it is restored whole'}.`,
      },
    };
  return {
    resumeTarget: false,
    recreate: partly,
    plan: {
      ...plan,
      reason: `Resuming: the interrupted dump left no complete archive, so it starts over${partly ? `, and "${targetDb}", partly loaded from it, is dropped and recreated first (rows of two dumps are never mixed)` : ''}. ${plan.reason}`,
    },
  };
}

/** The interrupted run's complete archive, if it is a dump of the source's database (else it is dumped again); none with overwriteDump. */
export async function keptArchive(
  o: Pick<MigrateOptions, 'dumpPath' | 'overwriteDump' | 'source' | 'signal'>,
  pgRestore: string,
): Promise<{ path: string; createdAt?: string } | undefined> {
  const path = o.overwriteDump ? undefined : completeArchive(o.dumpPath);
  if (!path) return undefined;
  const read = await readArchive(pgRestore, path, o.signal);
  if (!read.ok || read.value.database !== sideDatabase(o.source)) return undefined;
  return { path, ...(read.value.createdAt ? { createdAt: read.value.createdAt } : {}) };
}
