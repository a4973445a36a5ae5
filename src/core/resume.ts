/**
 * Resume an interrupted restore: what is left to do, read from the target itself (not from a log a
 * killed process may not have finished writing). pg_restore creates the whole schema (pre-data) before
 * any data, loads each table in one COPY (a COPY that was killed left nothing: its transaction rolled
 * back), loads the large objects in one transaction, then builds indexes, constraints and the rest
 * of post-data, each one statement. So: the data must have begun (a table with rows, or an index or
 * constraint built: then the schema is complete; before that a new restore costs nothing); a table
 * with rows is loaded, an empty one is loaded; an object of post-data that exists was built; what may
 * run twice (sequence values, comments, grants, refreshes) runs again. Refused where rows cannot be
 * told apart: data as INSERTs, through the partition root, into an extension's configuration table,
 * or while other sessions are still in the database. The rest is restored with a -L list.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import type { Toc, TocEntry } from './archive.js';
import { qualifiedName } from './catalog.js';

export interface ResumePlan {
  /** The entries to restore, in the archive's order (a pg_restore -L list of these). */
  entries: TocEntry[];
  /** Tables already loaded (skipped). */
  loaded: string[];
  /** Tables to load (again). */
  toLoad: string[];
  /** Objects of post-data already built (skipped). */
  built: number;
}

export type ResumeDecision = { ok: true; plan: ResumePlan } | { ok: false; reason: string };

const RELATIONS = new Set(['TABLE', 'VIEW', 'MATERIALIZED VIEW', 'SEQUENCE', 'FOREIGN TABLE']);
/** Run again whatever happened: setting a value, a comment, a grant, a refresh, an attach. */
const REPEATABLE = new Set(['SEQUENCE SET', 'COMMENT', 'ACL', 'DEFAULT ACL', 'MATERIALIZED VIEW DATA', 'INDEX ATTACH']);
/** Post-data objects looked up by name ("table name" for constraints, triggers, rules, policies). */
const BY_NAME = new Set([
  'INDEX',
  'CONSTRAINT',
  'FK CONSTRAINT',
  'CHECK CONSTRAINT',
  'TRIGGER',
  'RULE',
  'POLICY',
  'STATISTICS',
  'PUBLICATION',
  'PUBLICATION TABLE',
  'EVENT TRIGGER',
]);
const LARGE_OBJECT_DATA = new Set(['BLOBS', 'BLOB DATA']);
/** Created before the data in pg_dump's order, and so complete once the data began. */
const PRE_DATA = new Set([
  'SCHEMA',
  ...RELATIONS,
  'EXTENSION',
  'ACCESS METHOD',
  'FUNCTION',
  'PROCEDURE',
  'AGGREGATE',
  'TYPE',
  'DOMAIN',
  'SHELL TYPE',
  'COLLATION',
  'CONVERSION',
  'OPERATOR',
  'OPERATOR CLASS',
  'OPERATOR FAMILY',
  'CAST',
  'TEXT SEARCH CONFIGURATION',
  'TEXT SEARCH DICTIONARY',
  'TEXT SEARCH PARSER',
  'TEXT SEARCH TEMPLATE',
  'FOREIGN DATA WRAPPER',
  'FOREIGN SERVER',
  'USER MAPPING',
  'PROCEDURAL LANGUAGE',
  'TRANSFORM',
  'TABLE ATTACH',
  'DEFAULT',
  'SEQUENCE OWNED BY',
  'BLOB',
  'BLOB METADATA',
  'LARGE OBJECT',
  'ENCODING',
  'STDSTRINGS',
  'SEARCHPATH',
  'DATABASE',
  'DATABASE PROPERTIES',
]);

const key = (schema: string, name: string): string => `${schema}\u0000${name}`;

/** The names of post-data objects in the database, as pg_dump tags them. */
const BUILT_SQL = `
  SELECT n.nspname AS s, t.relname || ' ' || x.conname AS tag FROM pg_constraint x JOIN pg_class t ON t.oid = x.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
  UNION ALL SELECT n.nspname, ty.typname || ' ' || x.conname FROM pg_constraint x JOIN pg_type ty ON ty.oid = x.contypid JOIN pg_namespace n ON n.oid = ty.typnamespace
  UNION ALL SELECT n.nspname, t.relname || ' ' || g.tgname FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid JOIN pg_namespace n ON n.oid = t.relnamespace WHERE NOT g.tgisinternal
  UNION ALL SELECT r.schemaname, r.tablename || ' ' || r.rulename FROM pg_rules r
  UNION ALL SELECT p.schemaname, p.tablename || ' ' || p.policyname FROM pg_policies p
  UNION ALL SELECT n.nspname, x.stxname FROM pg_statistic_ext x JOIN pg_namespace n ON n.oid = x.stxnamespace
  UNION ALL SELECT '-', pubname FROM pg_publication
  UNION ALL SELECT schemaname, pubname || ' ' || tablename FROM pg_publication_tables
  UNION ALL SELECT '-', evtname FROM pg_event_trigger`;

/**
 * What is left of restoring `toc` into the database `client` is connected to. `dataStatement`: the
 * first statement the archive loads a table with (a probe of its first TABLE DATA, "COPY …" or
 * "INSERT …"), and of its first partition's if it has partitions.
 */
export async function planResume(client: pg.Client, toc: Toc, dataStatement: (e: TocEntry) => Promise<string>): Promise<ResumeDecision> {
  const refuse = (reason: string): ResumeDecision => ({
    ok: false,
    reason: `${reason} Drop and recreate the database and restore again.`,
  });
  // Rows hidden by row-level security would look like a table not loaded: an error instead.
  await client.query('SET row_security = off');
  const others = Number(
    (
      await client.query<{ n: string }>(
        // Idle sessions hold nothing that could still commit; a COPY or an index build being finished does.
        `SELECT count(*)::text AS n FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state IS DISTINCT FROM 'idle'`,
      )
    ).rows[0]!.n,
  );
  if (others > 0)
    return {
      ok: false,
      reason: `${others} other session(s) are working in the database (the interrupted restore's may still be finishing a COPY or an index): wait until they end, or end them, and resume again.`,
    };
  const rels = await client.query<{ s: string; n: string; k: string; part: boolean; ext: boolean }>(
    `SELECT n.nspname AS s, c.relname AS n, c.relkind AS k, c.relispartition AS part,
            EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e') AS ext
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'`,
  );
  const relations = new Map(rels.rows.map((r) => [key(r.s, r.n), r]));
  const built = new Set((await client.query<{ s: string; tag: string }>(BUILT_SQL)).rows.map((r) => key(r.s, r.tag)));

  // The way the archive loads tables: one COPY into the table itself, or rows could not be counted as loaded.
  const data = toc.entries.filter((e) => e.desc === 'TABLE DATA');
  const probes = [data[0], data.find((e) => relations.get(key(e.schema, e.tag))?.part)].filter((e): e is TocEntry => e !== undefined);
  for (const e of probes) {
    const first = (await dataStatement(e)).trim();
    if (!first.startsWith('COPY '))
      return refuse(
        `The archive loads its tables with INSERTs (pg_dump --inserts), which commit row by row: a table cannot be told loaded.`,
      );
    if (!first.includes(e.tag))
      return refuse(
        `The archive loads partitions through their root (pg_dump --load-via-partition-root): a partition cannot be told loaded.`,
      );
  }

  // 1. Loaded tables, and whether the data had begun (then the schema was complete).
  const loaded: string[] = [];
  const toLoad: string[] = [];
  const loading: TocEntry[] = [];
  for (const e of data) {
    const rel = relations.get(key(e.schema, e.tag));
    if (!rel)
      return refuse(`The table ${e.schema}.${e.tag} of the archive is not in the database: the schema was not restored completely.`);
    if (rel.ext)
      return refuse(`${e.schema}.${e.tag} is a configuration table of an extension: its own rows and the archive's cannot be told apart.`);
    const { rows } = await client.query<{ has: boolean }>(`SELECT EXISTS (SELECT 1 FROM ONLY ${qualifiedName(e.schema, e.tag)}) AS has`);
    if (rows[0]!.has) loaded.push(`${e.schema}.${e.tag}`);
    else {
      toLoad.push(`${e.schema}.${e.tag}`);
      loading.push(e);
    }
  }
  const postBuilt = toc.entries.filter((e) => BY_NAME.has(e.desc) && isBuilt(e, relations, built)).length;
  if (!loaded.length && !postBuilt)
    return refuse('The restore stopped before any data arrived: its schema may be incomplete, and a new restore costs nothing yet.');
  const missing = toc.entries.filter((e) => RELATIONS.has(e.desc) && !relations.has(key(e.schema, e.tag)));
  if (missing.length)
    return refuse(
      `The schema is incomplete (${missing.length} object(s) missing, e.g. ${missing[0]!.desc} ${missing[0]!.schema}.${missing[0]!.tag}).`,
    );

  // 2. Large objects: loaded in one transaction, so any data means all of it.
  let largeObjectsLoaded = false;
  if (toc.entries.some((e) => LARGE_OBJECT_DATA.has(e.desc)))
    largeObjectsLoaded = Number((await client.query<{ n: string }>('SELECT count(*)::text AS n FROM pg_largeobject')).rows[0]!.n) > 0;

  // 3. What is left, in the archive's order.
  const entries: TocEntry[] = [];
  const load = new Set(loading);
  for (const e of toc.entries) {
    if (e.desc === 'TABLE DATA') {
      if (load.has(e)) entries.push(e);
    } else if (BY_NAME.has(e.desc)) {
      if (!isBuilt(e, relations, built)) entries.push(e);
    } else if (LARGE_OBJECT_DATA.has(e.desc)) {
      if (!largeObjectsLoaded) entries.push(e);
    } else if (REPEATABLE.has(e.desc) || !PRE_DATA.has(e.desc)) entries.push(e);
  }
  return { ok: true, plan: { entries, loaded, toLoad, built: postBuilt } };
}

function isBuilt(e: TocEntry, relations: Map<string, unknown>, built: Set<string>): boolean {
  return e.desc === 'INDEX' ? relations.has(key(e.schema, e.tag)) : built.has(key(e.schema, e.tag));
}

/**
 * The first statement pg_restore would run for one TABLE DATA entry ("COPY …" or "INSERT …"), read
 * from its script output and stopped there (a table's data can be gigabytes).
 */
export async function firstDataStatement(pgRestore: string, archive: string, entry: TocEntry): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'hm-probe-'));
  try {
    const list = join(dir, 'one.list');
    writeFileSync(list, `${entry.line}\n`);
    return await new Promise<string>((resolve, reject) => {
      const child = spawn(pgRestore, ['--file=-', `--use-list=${list}`, archive], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      let done = false;
      const finish = (value: string): void => {
        if (done) return;
        done = true;
        child.kill('SIGKILL');
        resolve(value);
      };
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        text += chunk;
        const m = /^(COPY |INSERT ).*$/m.exec(text);
        if (m) finish(m[0]);
        else if (text.length > 1_000_000) finish('');
      });
      child.on('error', reject);
      child.on('close', () => finish(/^(COPY |INSERT ).*$/m.exec(text)?.[0] ?? ''));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
