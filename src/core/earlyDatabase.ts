/**
 * The target database of a migration created early: while pg_dump runs (streamed: while it reads
 * the source's catalog; else during the whole dump), since CREATE DATABASE takes a tenth of a second
 * or more and needs neither. A dump that fails before anything went into it, or a cancel, drops it
 * again (when still empty), so the target is left as it was.
 */
import { createDatabase, type CreateDatabaseResult } from './createDatabase.js';
import { inspectDatabase, type DatabaseLocale } from './inspect.js';
import type { MigrateStepRecord } from './migrateTypes.js';
import { dropDatabase } from './dropDatabase.js';
import { onDatabase, type Side } from './side.js';
import { explainSideError, failureOf, type StepFailure } from './step.js';

export interface EarlyCreation {
  created: CreateDatabaseResult;
  /** How long CREATE DATABASE took (with its connection). */
  ms: number;
}

export class EarlyDatabase {
  private creation: Promise<EarlyCreation> | undefined;

  constructor(
    private readonly target: Side,
    private readonly name: string,
    /** The source's encoding and locale (read while the checks ran; read again when that failed). */
    private readonly locale: () => Promise<DatabaseLocale>,
  ) {}

  /** Starts creating the database. Never rejects: a failure is the result's. */
  start(): void {
    const t1 = performance.now();
    this.creation = this.locale()
      .then(
        (locale) => createDatabase(onDatabase(this.target, 'postgres'), this.name, locale),
        (err: unknown): CreateDatabaseResult => ({ ok: false, sql: '', failure: failureOf(explainSideError(err, this.target)) }),
      )
      .then((created) => ({ created, ms: performance.now() - t1 }));
  }

  /** The creation, when it was started (and not dropped again). */
  get started(): Promise<EarlyCreation> | undefined {
    return this.creation;
  }

  /**
   * Drops the database created early, when it was and is still empty (no object of its own, nobody
   * connected: never WITH (FORCE)); says what became of it in `failure`'s hint, and in the detail of
   * the create step's `record` when that was reported done before the dump failed (streamed).
   */
  async dropAgain(failure?: StepFailure, record?: MigrateStepRecord): Promise<void> {
    const made = await this.creation;
    this.creation = undefined;
    if (!made) return;
    let said = 'Nothing was created on the target.';
    if (made.created.ok) {
      said = `"${this.name}", created on the target for this run, was dropped again.`;
      try {
        const contents = await inspectDatabase(onDatabase(this.target, this.name));
        if (contents.objects > 0) throw new Error(`it holds ${contents.objects} object(s) now`);
        const dropped = await dropDatabase(onDatabase(this.target, 'postgres'), this.name, { force: false });
        if (!dropped.ok) throw new Error(dropped.failure.message);
        if (record) record.detail = `${record.detail ? `${record.detail}; ` : ''}dropped again after the dump failed`;
      } catch (err) {
        said = `"${this.name}" was created on the target for this run and left: it could not be dropped again (${err instanceof Error ? err.message : String(err)}).`;
      }
    }
    if (failure) failure.hint = `${failure.hint} ${said}`.trim();
  }
}
