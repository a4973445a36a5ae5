/**
 * Schema rehearsal: before any data moves, dump the source's schema only, restore it into a
 * throwaway database on the target with the options the real restore will use, collect every
 * error grouped and explained as a real restore's are, and drop the throwaway database (also when
 * cancelled or failed). Seconds even for large databases, instead of learning it after hours.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { groupRestoreErrors, readArchive, type RestoreErrorGroup } from './archive.js';
import { createDatabase } from './createDatabase.js';
import { quoteIdent } from './catalog.js';
import { dump } from './dump.js';
import { inspectDatabase, readDatabaseLocale } from './inspect.js';
import { restore } from './restore.js';
import { runTool } from './run.js';
import { onDatabase, sideDatabase, withSide, type Side } from './side.js';
import type { PreflightCheck } from './preflight.js';
import { explainSideError, explainToolFailure, failureOf, type StepFailure } from './step.js';

export interface RehearsalOptions {
  source: Side;
  /** The target server (its database is not touched: the rehearsal uses a database of its own). */
  target: Side;
  pgDump: string;
  pgRestore: string;
  /** psql, for the rehearsal inside a rolled-back transaction (default: beside pg_restore). */
  psql?: string;
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

/**
 * Where the schema was rehearsed: a throwaway database, or (the target user may not create
 * databases) the empty target database itself, inside one transaction that was rolled back.
 */
export type RehearsalMode = { mode: 'database' } | { mode: 'transaction'; database: string; user: string };

export type RehearsalResult = Leftover &
  (
    | ({ outcome: 'clean'; durationMs: number; entries: number } & RehearsalMode)
    | ({ outcome: 'errors'; durationMs: number; entries: number; errors: RestoreErrorGroup[]; errorCount: number } & RehearsalMode)
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
      if (db.failure.problem === 'permission_denied') return rehearseInTransaction(o, archive, dir, elapsed);
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
    if (restored.ok) return { outcome: 'clean', mode: 'database', durationMs: elapsed(), entries };
    if (restored.failure.problem === 'restore_errors') {
      return {
        outcome: 'errors',
        mode: 'database',
        durationMs: elapsed(),
        entries,
        errors: restored.errors,
        errorCount: restored.errorCount,
      };
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

/**
 * psql meta-commands that would leave the rolled-back session (connect elsewhere, include or run
 * something else). pg_restore writes no transaction control into a script unless asked
 * (--single-transaction, --transaction-size: never here); the database is checked empty afterwards
 * all the same. `\\restrict` (pg_dump 15.14+, 17.6+) is allowed.
 */
const LEAVES_SESSION = /^\\(?:c|connect|i|include|ir|include_relative|o|out|!|g|gexec|gset)(?:\s|$)/m;

/**
 * The fallback when the target user may not create databases: the schema script (pg_restore
 * --file) run by psql inside one transaction that is rolled back, into the target database
 * itself and only if it is empty. ON_ERROR_ROLLBACK gives every statement a savepoint, so every
 * error is reported (not only the first, as --single-transaction would) and the rest goes on.
 */
async function rehearseInTransaction(o: RehearsalOptions, archive: string, dir: string, elapsed: () => number): Promise<RehearsalResult> {
  const user = o.target.profile.user;
  const database = sideDatabase(o.target);
  const skipped = (why: string, fix: string): RehearsalResult => ({
    outcome: 'skipped',
    durationMs: elapsed(),
    reason: `The schema rehearsal was skipped: user "${user}" may not create databases on the target, ${why}`,
    fix,
  });
  let contents;
  try {
    contents = await inspectDatabase(o.target);
  } catch (err) {
    return { outcome: 'failed', durationMs: elapsed(), failure: failureOf(explainSideError(err, o.target)) };
  }
  if (!contents.exists) {
    return skipped(
      `and the target database "${database}" does not exist yet to rehearse inside.`,
      `Have "${database}" created for this user (the migration needs it too, since it cannot create it), or grant CREATEDB; then run the checks again.`,
    );
  }
  if (contents.objects > 0 || contents.schemas > 0) {
    return skipped(
      `and the target database "${database}" is not empty (a rehearsal inside it would collide with what it holds).`,
      'Grant CREATEDB to that user for the rehearsal (or rehearse as an admin user); the migration itself can still run.',
    );
  }
  const script = join(dir, 'schema.sql');
  const flags = [
    ...(o.noOwner ? ['--no-owner'] : []),
    ...(o.noAcl ? ['--no-acl'] : []),
    ...(o.noTableAccessMethod ? ['--no-table-access-method'] : []),
  ];
  const written = await runTool(o.pgRestore, [...flags, `--file=${script}`, archive], o.signal ? { signal: o.signal } : {});
  if (written.cancelled) return { outcome: 'failed', durationMs: elapsed(), failure: cancelledRehearsal() };
  if (written.exitCode !== 0) return { outcome: 'failed', durationMs: elapsed(), failure: explainToolFailure(written, undefined) };
  // Never run a script that could take the session elsewhere.
  if (LEAVES_SESSION.test(readFileSync(script, 'utf8'))) {
    return skipped(
      'and the schema script holds psql commands that would leave the session, so it cannot be rolled back as a whole.',
      'Grant CREATEDB to that user for the rehearsal (or rehearse as an admin user); the migration itself can still run.',
    );
  }
  const toc = await readArchive(o.pgRestore, archive, o.signal);
  const entries = toc.ok ? toc.value.entries.length : 0;
  o.onLine?.(
    `hydra-migrate: user "${user}" may not create databases; rehearsing the schema inside "${database}" in one transaction that is rolled back`,
  );
  const psql = o.psql ?? join(dirname(o.pgRestore), 'psql');
  const run = await runTool(
    psql,
    [
      '--no-psqlrc',
      '--no-password',
      '--quiet',
      '--echo-errors',
      // psql opens the transaction itself and never commits it (not even after a stray COMMIT: the
      // rest goes into a new one); the last command rolls it back.
      '-v',
      'AUTOCOMMIT=off',
      '-v',
      'ON_ERROR_ROLLBACK=on',
      '-v',
      'ON_ERROR_STOP=0',
      '-f',
      script,
      '-c',
      'ROLLBACK',
    ],
    { connection: o.target, ...(o.signal ? { signal: o.signal } : {}), ...(o.onLine ? { onLine: (l: string) => o.onLine?.(l) } : {}) },
  );
  if (run.cancelled) return { outcome: 'failed', durationMs: elapsed(), failure: cancelledRehearsal() };
  const lines = psqlErrorsAsRestoreLines(run.stderrLines);
  // psql ends 0 when statements failed (ON_ERROR_STOP off); anything else is psql itself failing.
  if (run.exitCode !== 0) return { outcome: 'failed', durationMs: elapsed(), failure: explainToolFailure(run, o.target) };
  // The rollback is checked, not assumed: the database must be as empty as it was.
  const after = await inspectDatabase(o.target).catch(() => undefined);
  if (!after || after.objects > 0 || after.schemas > 0) {
    return {
      outcome: 'failed',
      durationMs: elapsed(),
      failure: {
        problem: 'tool_failed',
        message: after
          ? `After the rolled-back rehearsal "${database}" holds ${after.objects} object(s) and ${after.schemas} schema(s).`
          : `Whether "${database}" is still empty after the rehearsal could not be read.`,
        hint: `Look at "${database}" before restoring into it; drop what the rehearsal left, or recreate the database.`,
      },
    };
  }
  const mode = { mode: 'transaction' as const, database, user };
  const grouped = groupRestoreErrors(lines);
  if (grouped.total === 0) return { outcome: 'clean', ...mode, durationMs: elapsed(), entries };
  return { outcome: 'errors', ...mode, durationMs: elapsed(), entries, errors: grouped.groups, errorCount: grouped.total };
}

function cancelledRehearsal(): StepFailure {
  return { problem: 'cancelled', message: 'The rehearsal was cancelled.', hint: 'Run the checks again when ready.' };
}

/**
 * psql's messages (`psql:FILE:LINE: ERROR:  …`, and with --echo-errors `…: STATEMENT:  …`) in the
 * shape of pg_restore's (`pg_restore: error: could not execute query: ERROR:  …`, `Command was: …`),
 * so they are grouped and explained by the same rules as a real restore's.
 */
export function psqlErrorsAsRestoreLines(lines: string[]): string[] {
  const out: string[] = [];
  // psql prefixes a message's first line only: its DETAIL, HINT, LINE and CONTEXT lines follow bare.
  let inError = false;
  for (const line of lines) {
    const m = /^(?:psql:.*?:\d+: )?(ERROR|FATAL|DETAIL|HINT|STATEMENT|CONTEXT|LINE \d+):\s+(.*)$/.exec(line);
    if (!m) {
      inError = inError && /^\s/.test(line); // an indented continuation (a query's later lines) keeps it open
      continue;
    }
    const [, kind, text] = m;
    if (kind === 'ERROR' || kind === 'FATAL') {
      out.push(`pg_restore: error: could not execute query: ${kind}:  ${text}`);
      inError = true;
    } else if (!inError) {
      continue;
    } else if (kind === 'STATEMENT') {
      out.push(`Command was: ${text}`);
    } else out.push(`${kind}:  ${text}`);
  }
  return out;
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

function where(r: RehearsalMode): string {
  return r.mode === 'transaction'
    ? `; user "${r.user}" may not create databases, so it ran inside "${r.database}" in one transaction that was rolled back`
    : '';
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
        detail: `The schema restores cleanly (${r.entries} entries, rehearsed in ${seconds}${where(r)}).`,
      };
    case 'errors':
      return {
        id: 'rehearsal',
        title,
        status: 'blocker',
        detail: `Restoring the schema alone reported ${r.errorCount} error(s)${where(r)}: ${r.errors.map((g) => `${g.title} (${g.count})`).join('; ')}.`,
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
