/**
 * Schema rehearsal: before any data moves, dump the source's schema only, restore it into a
 * throwaway database on the target with the options the real restore will use, collect every
 * error grouped and explained as a real restore's are, and drop the throwaway database (also when
 * cancelled or failed). Seconds even for large databases, instead of learning it after hours.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RestoreErrorGroup } from './archive.js';
import { createDatabase } from './createDatabase.js';
import { quoteIdent } from './catalog.js';
import { dump } from './dump.js';
import { readDatabaseLocale } from './inspect.js';
import { restore } from './restore.js';
import { onDatabase, withSide, type Side } from './side.js';
import type { PreflightCheck } from './preflight.js';
import { explainSideError, failureOf, type StepFailure } from './step.js';

export interface RehearsalOptions {
  source: Side;
  /** The target server (its database is not touched: the rehearsal uses a database of its own). */
  target: Side;
  pgDump: string;
  pgRestore: string;
  /** The options of the real restore. */
  noOwner?: boolean;
  noAcl?: boolean;
  noTableAccessMethod?: boolean;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
}

interface Leftover {
  /** The throwaway database could not be dropped: its name and why. */
  leftover?: { database: string; error: string };
}

export type RehearsalResult = Leftover &
  (
    | { outcome: 'clean'; durationMs: number; entries: number }
    | { outcome: 'errors'; durationMs: number; entries: number; errors: RestoreErrorGroup[]; errorCount: number }
    | { outcome: 'skipped'; durationMs: number; reason: string; fix: string }
    | { outcome: 'failed'; durationMs: number; failure: StepFailure }
  );

/** A name nobody would choose, marked as ours: `hm_rehearsal_<random>`. */
export function rehearsalDatabaseName(): string {
  return `hm_rehearsal_${randomBytes(6).toString('hex')}`;
}

export async function rehearse(o: RehearsalOptions): Promise<RehearsalResult> {
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  const dir = mkdtempSync(join(tmpdir(), 'hm-rehearsal-'));
  const archive = join(dir, 'schema.dump');
  const name = rehearsalDatabaseName();
  const server = onDatabase(o.target, 'postgres');
  let created = false;
  const run = async (): Promise<RehearsalResult> => {
    const dumped = await dump({
      source: o.source,
      pgDump: o.pgDump,
      pgRestore: o.pgRestore,
      out: archive,
      format: 'custom',
      schemaOnly: true,
      // A restored subscription would keep the throwaway database from being dropped.
      noSubscriptions: true,
      ...(o.noOwner ? { noOwner: true } : {}),
      ...(o.noAcl ? { noAcl: true } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
    });
    if (!dumped.ok) return { outcome: 'failed', durationMs: elapsed(), failure: dumped.failure };
    // The throwaway database gets the source's locale, as the real one will; unreadable is a failure, not "default".
    let locale;
    try {
      locale = await readDatabaseLocale(o.source);
    } catch (err) {
      return { outcome: 'failed', durationMs: elapsed(), failure: failureOf(explainSideError(err, o.source)) };
    }
    const db = await createDatabase(server, name, locale);
    if (!db.ok) {
      if (db.failure.problem === 'permission_denied') {
        return {
          outcome: 'skipped',
          durationMs: elapsed(),
          reason: `The schema rehearsal was skipped: user "${o.target.profile.user}" may not create databases on the target.`,
          fix: 'Grant CREATEDB to that user for the rehearsal (or rehearse as an admin user); the migration itself can still run.',
        };
      }
      return { outcome: 'failed', durationMs: elapsed(), failure: db.failure };
    }
    created = true;
    o.onLine?.(`hydra-migrate: rehearsing the schema in the throwaway database "${name}"`);
    const restored = await restore({
      target: onDatabase(o.target, name),
      pgRestore: o.pgRestore,
      archive,
      ...(o.noOwner ? { noOwner: true } : {}),
      ...(o.noAcl ? { noAcl: true } : {}),
      ...(o.noTableAccessMethod ? { noTableAccessMethod: true } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onLine ? { onLine: o.onLine } : {}),
    });
    const entries = restored.toc?.entries.length ?? 0;
    if (restored.ok) return { outcome: 'clean', durationMs: elapsed(), entries };
    if (restored.failure.problem === 'restore_errors') {
      return { outcome: 'errors', durationMs: elapsed(), entries, errors: restored.errors, errorCount: restored.errorCount };
    }
    return { outcome: 'failed', durationMs: elapsed(), failure: restored.failure };
  };
  let result: RehearsalResult;
  try {
    result = await run();
  } catch (err) {
    if (created) await dropThrowaway(server, name);
    throw err;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  // Never silently left behind: a database that could not be dropped is reported with its name.
  const leftover = created ? await dropThrowaway(server, name) : undefined;
  return leftover ? { ...result, leftover: { database: name, error: leftover } } : result;
}

/** Drops the rehearsal database, ending any session still in it (FORCE on PG13+); the error, if it stays. */
async function dropThrowaway(server: Side, name: string): Promise<string | undefined> {
  try {
    await withSide(server, async (c) => {
      const { rows } = await c.query<{ v: number }>(`SELECT current_setting('server_version_num')::int AS v`);
      if ((rows[0]?.v ?? 0) >= 130000) {
        await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      } else {
        await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
        await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
      }
    });
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** The rehearsal as a readiness check: a blocker when the schema would not restore cleanly. */
export function rehearsalCheck(r: RehearsalResult): PreflightCheck {
  const check = outcomeCheck(r);
  if (!r.leftover) return check;
  const note = ` The throwaway database "${r.leftover.database}" could not be dropped (${r.leftover.error}).`;
  const drop = `Drop it by hand: DROP DATABASE ${quoteIdent(r.leftover.database)} WITH (FORCE);`;
  return {
    ...check,
    status: check.status === 'ok' ? 'warning' : check.status,
    detail: check.detail + note,
    fix: check.fix ? `${check.fix} ${drop}` : drop,
  };
}

function outcomeCheck(r: RehearsalResult): PreflightCheck {
  const title = 'Schema rehearsal on the target';
  const seconds = `${(r.durationMs / 1000).toFixed(1)} s`;
  switch (r.outcome) {
    case 'clean':
      return {
        id: 'rehearsal',
        title,
        status: 'ok',
        detail: `The schema restores cleanly (${r.entries} entries, rehearsed in ${seconds}).`,
      };
    case 'errors':
      return {
        id: 'rehearsal',
        title,
        status: 'blocker',
        detail: `Restoring the schema alone reported ${r.errorCount} error(s): ${r.errors.map((g) => `${g.title} (${g.count})`).join('; ')}.`,
        fix: [...new Set(r.errors.map((g) => g.fix))].join(' '),
        items: r.errors.flatMap((g) => g.names),
        examples: r.errors.flatMap((g) =>
          g.examples.slice(0, 2).flatMap((e) => [e.error, ...(e.command ? [`  Command was: ${e.command}`] : [])]),
        ),
      };
    case 'skipped':
      return { id: 'rehearsal', title, status: 'warning', detail: r.reason, fix: r.fix };
    case 'failed':
      // Cancelled: nothing was shown. A locale the target cannot create fails the real create-database too.
      return {
        id: 'rehearsal',
        title,
        status: r.failure.problem === 'cancelled' || r.failure.problem === 'locale_unavailable' ? 'blocker' : 'unknown',
        detail: r.failure.problem === 'cancelled' ? 'The rehearsal was cancelled.' : `The rehearsal could not run: ${r.failure.message}`,
        fix: r.failure.hint,
      };
  }
}
