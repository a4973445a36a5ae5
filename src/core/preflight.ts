/**
 * Readiness checks before a migration: both servers reachable, compatible tools, readable source,
 * extensions and table access methods (Hydra's columnar) available on the target, roles, an empty
 * target database, and the facts (encoding, locale, size) the next steps need.
 */
import type pg from 'pg';
import { formatBytes } from './catalog.js';
import { availableExtensions, ownerAndGranteeRoles, userSchemaSql } from './inspect.js';
import type { ServerInfo } from './pg.js';
import { opened, openTarget, reachableCheck, unreachableCheck } from './preflightSides.js';
import { locateTool, type LocatedTool, type PgTool } from './pgbin.js';
import { encryptionCheck } from './encryption.js';
import { rehearsalCheck, rehearse, type RehearsalResult } from './rehearse.js';
import { newerTargetCheck } from './targetVersion.js';
import { connectSide, sideDatabase, type Side } from './side.js';

export type CheckStatus = 'ok' | 'warning' | 'blocker' | 'unknown';

export interface PreflightCheck {
  id:
    | 'source'
    | 'target'
    | 'encryption'
    | 'tools'
    | 'source-read'
    | 'extensions'
    | 'access-methods'
    | 'roles'
    | 'target-database'
    | 'source-database'
    | 'target-version'
    | 'rehearsal';
  title: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
  /** Names involved (tables, extensions, roles), at most 50. */
  items?: string[];
  /** Lines shown under the check (e.g. the statements that failed), from the servers: untrusted text. */
  examples?: string[];
}

export interface PreflightReport {
  /** No blocker and every check could run. */
  ready: boolean;
  checks: PreflightCheck[];
  source?: ServerInfo;
  target?: ServerInfo;
  tools?: Partial<Record<PgTool, LocatedTool>>;
  sourceDatabase?: { name: string; encoding: string; collate: string; ctype: string; sizeBytes: number };
  targetDatabase: { name: string; exists: boolean; objects: number };
  /** The schema rehearsal, when asked for. */
  rehearsal?: RehearsalResult;
}

export interface PreflightOptions {
  source: Side;
  /** The target server and the database to restore into (created when missing). */
  target: Side;
  binDir?: string;
  /** The exact target database name the user confirmed may be restored into although not empty. */
  confirmNonEmptyDatabase?: string;
  /** Options for --no-owner/--no-acl: roles are then not needed on the target. */
  noOwner?: boolean;
  noAcl?: boolean;
  /** Restoring with --no-table-access-method: missing access methods are then a warning. */
  noTableAccessMethod?: boolean;
  /** Also rehearse the schema restore in a throwaway database on the target (seconds, no data). */
  rehearse?: boolean;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
}

const LIST_MAX = 50;

const names = (list: string[]): string[] =>
  list.length > LIST_MAX ? [...list.slice(0, LIST_MAX - 1), `… ${list.length - LIST_MAX + 1} more`] : list;
const preview = (list: string[], n = 5): string => list.slice(0, n).join(', ') + (list.length > n ? `, … (${list.length} in all)` : '');

export async function preflight(o: PreflightOptions): Promise<PreflightReport> {
  const checks: PreflightCheck[] = [];
  const targetDb = sideDatabase(o.target);
  const sourceDb = sideDatabase(o.source);
  const report: PreflightReport = { ready: false, checks, targetDatabase: { name: targetDb, exists: false, objects: 0 } };
  let src: pg.Client | undefined;
  let tgt: pg.Client | undefined;
  try {
    // The two servers and the tools are reached at the same time; the checks keep their order.
    const [source, target, located] = await Promise.allSettled([
      opened(connectSide(o.source)),
      openTarget(o.target),
      Promise.all(
        (['pg_dump', 'pg_restore', 'psql'] as const).map((tool) =>
          locateTool(tool, o.binDir ? { binDir: o.binDir } : {}).then(
            (found) => ({ tool, found }),
            (err: Error) => ({ tool, missing: err.message }),
          ),
        ),
      ),
    ]);
    // 1. Source reachable and authenticated.
    if (source.status === 'fulfilled') {
      src = source.value.client;
      report.source = source.value.info;
      checks.push(reachableCheck('source', report.source));
    } else checks.push(unreachableCheck('source', source.reason));
    // 2. Target reachable (its database may not exist yet: then the maintenance database).
    if (target.status === 'fulfilled') {
      tgt = target.value.client;
      report.targetDatabase = {
        name: targetDb,
        exists: target.value.contents.exists,
        objects: target.value.contents.objects + target.value.contents.schemas,
      };
      report.target = target.value.info;
      checks.push(reachableCheck('target', report.target));
    } else checks.push(unreachableCheck('target', target.reason));

    const encryption = encryptionCheck([
      ['source', o.source, report.source],
      ['target', o.target, report.target],
    ]);
    if (encryption) checks.push(encryption);

    // 3. Tools located and compatible.
    const tools: Partial<Record<PgTool, LocatedTool>> = {};
    const missing: string[] = [];
    for (const t of located.status === 'fulfilled' ? located.value : []) {
      if ('found' in t) tools[t.tool] = t.found;
      else missing.push(t.missing);
    }
    report.tools = tools;
    const dumpTool = tools.pg_dump;
    const restoreTool = tools.pg_restore;
    const srcMajor = report.source ? Math.floor(report.source.serverVersionNum / 10000) : undefined;
    const tgtMajor = report.target ? Math.floor(report.target.serverVersionNum / 10000) : undefined;
    if (missing.length) {
      checks.push({
        id: 'tools',
        title: 'PostgreSQL client tools',
        status: 'blocker',
        detail: missing.join(' '),
        fix: "Install the PostgreSQL client of the source server's major version or newer, or set hydraMigrate.pgBinDir.",
      });
    } else if (dumpTool && srcMajor !== undefined && dumpTool.major < srcMajor) {
      checks.push({
        id: 'tools',
        title: 'PostgreSQL client tools',
        status: 'blocker',
        detail: `pg_dump ${dumpTool.version} (${dumpTool.path}) is older than the source server (PostgreSQL ${report.source!.serverVersion}); pg_dump refuses to dump a newer server.`,
        fix: `Install pg_dump ${srcMajor} or newer (e.g. postgresql-client-${srcMajor}) and point hydraMigrate.pgBinDir at its bin folder.`,
      });
    } else if (dumpTool && restoreTool && restoreTool.major < dumpTool.major) {
      checks.push({
        id: 'tools',
        title: 'PostgreSQL client tools',
        status: 'blocker',
        detail: `pg_restore ${restoreTool.version} is older than pg_dump ${dumpTool.version} and may not read its archives.`,
        fix: 'Use pg_dump and pg_restore from the same installation.',
      });
    } else {
      const newerTarget =
        dumpTool && tgtMajor !== undefined && tgtMajor > dumpTool.major
          ? ` The target is newer (PostgreSQL ${tgtMajor}); restoring an older dump into it is a supported upgrade.`
          : '';
      checks.push({
        id: 'tools',
        title: 'PostgreSQL client tools',
        status: 'ok',
        detail: `pg_dump ${dumpTool?.version} and pg_restore ${restoreTool?.version} (${dumpTool?.path.replace(/\/pg_dump$/, '')}).${newerTarget}`,
      });
    }

    if (src) {
      // 4. Everything the dump reads is readable.
      const unreadable = await src.query<{ name: string; kind: string }>(
        `SELECT format('%I.%I', n.nspname, c.relname) AS name, CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END AS kind
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p', 'm', 'S') AND ${userSchemaSql()}
            AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
            AND (NOT has_schema_privilege(n.oid, 'USAGE') OR NOT has_table_privilege(c.oid, 'SELECT'))
          ORDER BY 1`,
      );
      if (unreadable.rows.length) {
        const list = unreadable.rows.map((r) => `${r.name} (${r.kind})`);
        checks.push({
          id: 'source-read',
          title: 'Source readable',
          status: 'blocker',
          detail: `User ${report.source?.currentUser} cannot read ${list.length} table(s)/sequence(s): ${preview(list)}.`,
          fix: 'GRANT SELECT on them (and USAGE on their schemas) to this user, dump as their owner or a superuser, or exclude them from the dump.',
          items: names(list),
        });
      } else {
        checks.push({
          id: 'source-read',
          title: 'Source readable',
          status: 'ok',
          detail: 'Every table, materialized view and sequence is readable by this user.',
        });
      }

      // Source database facts.
      const db = await src.query<{ encoding: string; datcollate: string; datctype: string; size: string }>(
        `SELECT pg_encoding_to_char(encoding) AS encoding, datcollate, datctype, pg_database_size(oid) AS size FROM pg_database WHERE datname = current_database()`,
      );
      const d = db.rows[0]!;
      report.sourceDatabase = { name: sourceDb, encoding: d.encoding, collate: d.datcollate, ctype: d.datctype, sizeBytes: Number(d.size) };
      checks.push({
        id: 'source-database',
        title: 'Source database',
        status: 'ok',
        detail: `"${sourceDb}": ${d.encoding}, LC_COLLATE ${d.datcollate}, LC_CTYPE ${d.datctype}, ${formatBytes(Number(d.size))} on disk; the target needs at least that much free space (indexes are rebuilt).`,
      });
    }

    if (src && tgt) {
      // 5. Extensions.
      const exts = await src.query<{ extname: string; extversion: string }>(
        `SELECT extname, extversion FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1`,
      );
      const available = await availableExtensions(tgt);
      const missingExt = exts.rows.filter((e) => !available.has(e.extname)).map((e) => e.extname);
      // 6. Table access methods used by source tables, and who provides them.
      const ams = await src.query<{ amname: string; extname: string | null; tables: string[] }>(
        `SELECT am.amname, e.extname, array_agg(format('%I.%I', n.nspname, c.relname) ORDER BY n.nspname, c.relname) AS tables
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am am ON am.oid = c.relam
           LEFT JOIN pg_depend dep ON dep.classid = 'pg_am'::regclass AND dep.objid = am.oid AND dep.deptype = 'e'
           LEFT JOIN pg_extension e ON e.oid = dep.refobjid
          WHERE c.relkind IN ('r', 'm') AND am.amname <> 'heap' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          GROUP BY am.amname, e.extname ORDER BY 1`,
      );
      const targetAms = new Set(report.target?.tableAccessMethods ?? []);
      if (missingExt.length) {
        const affected = ams.rows.filter((a) => a.extname && missingExt.includes(a.extname));
        const amText = affected.length
          ? ` It provides the table access method ${affected.map((a) => `"${a.amname}" used by ${preview(a.tables, 3)}`).join('; ')}.`
          : '';
        checks.push({
          id: 'extensions',
          title: 'Extensions available on the target',
          status: 'blocker',
          detail: `The target server does not offer extension(s) used by the source: ${missingExt.join(', ')}.${amText}`,
          fix: affected.length
            ? 'Install the extension on the target server (managed services: enable it); or restore with --no-table-access-method so these tables become heap (their rows are kept); or exclude them from the dump.'
            : 'Install the extension on the target server (managed services: enable it in the console), or drop it from the source if unused.',
          items: missingExt,
        });
      } else {
        checks.push({
          id: 'extensions',
          title: 'Extensions available on the target',
          status: 'ok',
          detail: exts.rows.length
            ? `All available: ${exts.rows.map((e) => `${e.extname} ${e.extversion}`).join(', ')}.`
            : 'The source uses no extensions besides plpgsql.',
        });
      }
      const amProblems: string[] = [];
      for (const a of ams.rows) {
        if (targetAms.has(a.amname)) continue;
        if (a.extname && !missingExt.includes(a.extname)) continue; // created by CREATE EXTENSION on restore
        if (a.extname && missingExt.includes(a.extname)) {
          amProblems.push(`"${a.amname}" (extension ${a.extname}, not on the target) used by ${preview(a.tables, 3)}`);
        } else if (!report.target?.superuser) {
          amProblems.push(
            `"${a.amname}" (not part of an extension: only a superuser can create it on the target) used by ${preview(a.tables, 3)}`,
          );
        }
      }
      if (amProblems.length) {
        checks.push({
          id: 'access-methods',
          title: 'Table access methods (columnar)',
          status: o.noTableAccessMethod ? 'warning' : 'blocker',
          detail: `Without these access methods pg_restore silently creates the tables as heap (row counts still match): ${amProblems.join('; ')}.`,
          fix: o.noTableAccessMethod
            ? 'You chose --no-table-access-method: these tables will be heap on the target.'
            : 'Install the extension that provides the access method (Hydra: columnar) on the target; or restore with --no-table-access-method on purpose; or exclude these tables.',
          items: ams.rows.filter((a) => !targetAms.has(a.amname)).flatMap((a) => a.tables),
        });
      } else {
        checks.push({
          id: 'access-methods',
          title: 'Table access methods (columnar)',
          status: 'ok',
          detail: ams.rows.length
            ? `Used by the source and available: ${ams.rows.map((a) => `${a.amname} (${a.tables.length} tables)`).join(', ')}.`
            : 'All source tables use heap.',
        });
      }

      // What changes for a newer target (PostgreSQL 18).
      if (report.source && report.target) {
        const newer = await newerTargetCheck(src, tgt, report.source, report.target);
        if (newer) checks.push(newer);
      }

      // 7. Roles owning objects or holding privileges.
      const roles = { rows: (await ownerAndGranteeRoles(src)).map((rolname) => ({ rolname })) };
      const targetRoles = new Set((await tgt.query<{ rolname: string }>('SELECT rolname FROM pg_roles')).rows.map((r) => r.rolname));
      const missingRoles = roles.rows.map((r) => r.rolname).filter((r) => !targetRoles.has(r));
      if (missingRoles.length && !(o.noOwner && o.noAcl)) {
        checks.push({
          id: 'roles',
          title: 'Roles on the target',
          status: 'warning',
          detail: `Role(s) that own objects or hold privileges on the source are missing on the target: ${preview(missingRoles, 10)}. Without them every ALTER ... OWNER and GRANT fails.`,
          fix: 'Restore with --no-owner --no-acl (objects then belong to the restoring user), or create these roles on the target first.',
          items: names(missingRoles),
        });
      } else {
        checks.push({
          id: 'roles',
          title: 'Roles on the target',
          status: 'ok',
          detail: missingRoles.length
            ? `Missing roles (${preview(missingRoles)}) do not matter with --no-owner --no-acl.`
            : 'Every owner and grantee exists on the target.',
        });
      }
    }

    // 8. Target database.
    if (report.target) {
      const t = report.targetDatabase;
      if (!t.exists) {
        checks.push({
          id: 'target-database',
          title: 'Target database',
          status: 'ok',
          detail: `"${targetDb}" does not exist yet; it will be created from template0 with the source's encoding and locale.`,
        });
      } else if (t.objects === 0) {
        checks.push({ id: 'target-database', title: 'Target database', status: 'ok', detail: `"${targetDb}" exists and is empty.` });
      } else if (o.confirmNonEmptyDatabase === targetDb) {
        checks.push({
          id: 'target-database',
          title: 'Target database',
          status: 'warning',
          detail: `"${targetDb}" holds ${t.objects} objects; you confirmed restoring into it anyway.`,
          fix: 'Expect "already exists" errors and duplicated rows in tables without a primary key.',
        });
      } else {
        checks.push({
          id: 'target-database',
          title: 'Target database',
          status: 'blocker',
          detail: `"${targetDb}" exists and is not empty (${t.objects} objects). Restoring into it fails on every existing object and duplicates rows of tables without a primary key.`,
          fix: 'Choose a new database name, drop and recreate this one, or confirm this exact database explicitly.',
        });
      }
    }
  } finally {
    await Promise.all([src?.end().catch(() => undefined), tgt?.end().catch(() => undefined)]);
  }
  if (o.rehearse && report.source && report.target && report.tools?.pg_dump && report.tools.pg_restore) {
    report.rehearsal = await rehearse({
      source: o.source,
      target: o.target,
      pgDump: report.tools.pg_dump.path,
      pgRestore: report.tools.pg_restore.path,
      ...(report.tools.psql ? { psql: report.tools.psql.path } : {}),
      ...(o.noOwner ? { noOwner: true } : {}),
      ...(o.noAcl ? { noAcl: true } : {}),
      ...(o.noTableAccessMethod ? { noTableAccessMethod: true } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onLine ? { onLine: o.onLine } : {}),
    });
    checks.push(rehearsalCheck(report.rehearsal));
  }
  const blocked = checks.some((c) => c.status === 'blocker');
  // Cancelled while checking: nothing was shown to be ready.
  report.ready = !blocked && !!report.source && !!report.target && !o.signal?.aborted;
  return report;
}

/** Exit status for the CLI: 0 ready, 1 blocking problems, 2 could not check (a server unreachable). */
export function preflightExitCode(r: PreflightReport): 0 | 1 | 2 {
  if (!r.source || !r.target) return 2;
  return r.ready ? 0 : 1;
}
