/**
 * Pieces of the streamed migration (stream.ts) that stand on their own: the post-data entry kinds,
 * syncing the archive to disk, waiting on a writable, both phases' output as one run, a taken archive path.
 */
import { closeSync, existsSync, fsyncSync, openSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import type { Writable } from 'node:stream';
import type { ToolRun } from './run.js';
import type { StepFailure } from './step.js';

/** The entries pg_restore --section=post-data restores (for progress). */
export const POST_DATA = new Set([
  'INDEX',
  'INDEX ATTACH',
  'CONSTRAINT',
  'FK CONSTRAINT',
  'CHECK CONSTRAINT',
  'TRIGGER',
  'EVENT TRIGGER',
  'RULE',
  'POLICY',
  'MATERIALIZED VIEW DATA',
  'PUBLICATION TABLE',
  'PUBLICATION TABLES IN SCHEMA',
  'STATISTICS',
]);

/** fsync a file or folder (pg_dump -f syncs its archive; the streamed one is written here). */
export function syncToDisk(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Resolves on the event, or when the emitter fails or closes first (never rejects). */
export function settled(e: EventEmitter, event: string): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      e.off(event, done).off('error', done).off('close', done);
      resolve();
    };
    e.on(event, done).on('error', done).on('close', done);
  });
}

/** Waits until a writable can take more, or is gone (closed, failed). */
export function drained(w: Writable): Promise<void> {
  return settled(w, 'drain');
}

/** Both phases' output as one run: their errors together, "errors ignored" summed. */
export function mergeRuns(a: ToolRun, b: ToolRun): ToolRun {
  let ignored = 0;
  let anyIgnored = false;
  const lines: string[] = [];
  for (const l of [...a.stderrLines, ...b.stderrLines]) {
    const m = /errors ignored on restore: (\d+)/.exec(l);
    if (m) {
      anyIgnored = true;
      ignored += Number(m[1]);
    } else lines.push(l);
  }
  if (anyIgnored) lines.push(`pg_restore: warning: errors ignored on restore: ${ignored}`);
  const exitCode = a.exitCode === 0 ? b.exitCode : a.exitCode;
  return {
    ...b,
    argv: b.argv,
    exitCode,
    cancelled: a.cancelled || b.cancelled,
    durationMs: a.durationMs + b.durationMs,
    stderrLines: lines,
  };
}

/** The archive path is taken (checked before the target database is created, and again here). */
export function outputExists(o: { out: string; overwrite?: boolean }): StepFailure | undefined {
  if (!existsSync(o.out) || o.overwrite) return undefined;
  return {
    problem: 'output_exists',
    message: `${o.out} exists already; it was left untouched.`,
    hint: 'Choose another output path, or allow overwriting it explicitly.',
  };
}
