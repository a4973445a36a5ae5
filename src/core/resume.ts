/**
 * Resume an interrupted restore: what is left to do, read from the target itself (not from a log a
 * killed process may not have finished writing). pg_restore creates the schema (pre-data) one entry
 * after the other in the archive's order, loads each table in one COPY (a COPY that was killed left
 * nothing: its transaction rolled back), then builds indexes and constraints, each one statement.
 * So: the schema must be complete (else nothing can be trusted: restore again into a recreated
 * database); a table with rows is loaded, an empty one is loaded (again); an index, constraint or
 * trigger that exists was built; the statements that may run twice (sequence values, comments,
 * grants, refreshes of materialized views) run again. The rest is restored with a -L list.
 */
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
  /** Indexes, constraints and triggers already built (skipped). */
  built: number;
}

export type ResumeDecision = { ok: true; plan: ResumePlan } | { ok: false; reason: string };

const PRE_DATA_CHECKED = new Set(['SCHEMA', 'TABLE', 'VIEW', 'MATERIALIZED VIEW', 'SEQUENCE', 'FOREIGN TABLE']);
const DATA = new Set(['TABLE DATA']);
/** Run again whatever happened: setting a value, a comment, a grant, a refresh. */
const REPEATABLE = new Set(['SEQUENCE SET', 'SEQUENCE OWNED BY', 'COMMENT', 'ACL', 'DEFAULT ACL', 'MATERIALIZED VIEW DATA', 'DEFAULT']);
const POST_DATA_BY_NAME = new Set(['INDEX', 'CONSTRAINT', 'FK CONSTRAINT', 'CHECK CONSTRAINT', 'TRIGGER', 'RULE', 'POLICY']);
const LARGE_OBJECT_META = new Set(['BLOB', 'BLOB METADATA', 'LARGE OBJECT']);
const LARGE_OBJECT_DATA = new Set(['BLOBS', 'BLOB DATA']);
const SECTION_NONE = new Set(['ENCODING', 'STDSTRINGS', 'SEARCHPATH', 'DATABASE', 'DATABASE PROPERTIES']);

const key = (schema: string, name: string): string => `${schema}\u0000${name}`;

/** What is left of restoring `toc` into the database `client` is connected to. */
export async function planResume(client: pg.Client, toc: Toc): Promise<ResumeDecision> {
  const rels = await client.query<{ s: string; n: string; k: string }>(
    `SELECT n.nspname AS s, c.relname AS n, c.relkind AS k FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'`,
  );
  const relations = new Map(rels.rows.map((r) => [key(r.s, r.n), r.k]));
  const schemas = new Set((await client.query<{ s: string }>('SELECT nspname AS s FROM pg_namespace')).rows.map((r) => r.s));
  // Constraints, triggers, rules and policies are listed by pg_dump as "table name".
  const named = await client.query<{ s: string; tag: string }>(
    `SELECT n.nspname AS s, t.relname || ' ' || x.conname AS tag FROM pg_constraint x JOIN pg_class t ON t.oid = x.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
     UNION ALL SELECT n.nspname, t.relname || ' ' || g.tgname FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid JOIN pg_namespace n ON n.oid = t.relnamespace WHERE NOT g.tgisinternal
     UNION ALL SELECT r.schemaname, r.tablename || ' ' || r.rulename FROM pg_rules r
     UNION ALL SELECT p.schemaname, p.tablename || ' ' || p.policyname FROM pg_policies p`,
  );
  const builtNames = new Set(named.rows.map((r) => key(r.s, r.tag)));

  // 1. The schema: the last object of it that can be looked up must be there (it was created last).
  const pre = toc.entries.filter((e) => PRE_DATA_CHECKED.has(e.desc));
  const exists = (e: TocEntry): boolean => (e.desc === 'SCHEMA' ? schemas.has(e.tag) : relations.has(key(e.schema, e.tag)));
  const missing = pre.filter((e) => !exists(e));
  if (missing.length)
    return {
      ok: false,
      reason: `The schema was not restored completely (${missing.length} object(s) missing, e.g. ${missing[0]!.desc} ${missing[0]!.schema}.${missing[0]!.tag}): the restore stopped before the data. Drop and recreate the database and restore again.`,
    };

  // 2. Large objects: all or nothing (their data is loaded object by object).
  const lo = toc.entries.some((e) => LARGE_OBJECT_DATA.has(e.desc));
  let loadLargeObjects = false;
  if (lo) {
    const { rows } = await client.query<{ meta: string; data: string }>(
      'SELECT (SELECT count(*) FROM pg_largeobject_metadata)::text AS meta, (SELECT count(DISTINCT loid) FROM pg_largeobject)::text AS data',
    );
    const data = Number(rows[0]!.data);
    if (data > 0)
      return {
        ok: false,
        reason: `The large objects were being loaded (${data} of ${rows[0]!.meta} have data): they cannot be told apart. Drop and recreate the database and restore again.`,
      };
    loadLargeObjects = true;
  }

  // 3. The data: one atomic COPY per table, so a table with rows is complete.
  const loaded: string[] = [];
  const toLoad: string[] = [];
  const entries: TocEntry[] = [];
  let built = 0;
  for (const e of toc.entries) {
    if (SECTION_NONE.has(e.desc) || PRE_DATA_CHECKED.has(e.desc)) continue;
    if (DATA.has(e.desc)) {
      const kind = relations.get(key(e.schema, e.tag));
      if (kind === undefined)
        return {
          ok: false,
          reason: `The table ${e.schema}.${e.tag} of the archive is not in the database: drop and recreate it and restore again.`,
        };
      const { rows } = await client.query<{ has: boolean }>(`SELECT EXISTS (SELECT 1 FROM ONLY ${qualifiedName(e.schema, e.tag)}) AS has`);
      if (rows[0]!.has) loaded.push(`${e.schema}.${e.tag}`);
      else {
        toLoad.push(`${e.schema}.${e.tag}`);
        entries.push(e);
      }
      continue;
    }
    if (POST_DATA_BY_NAME.has(e.desc)) {
      const done = e.desc === 'INDEX' ? relations.has(key(e.schema, e.tag)) : builtNames.has(key(e.schema, e.tag));
      if (done) built++;
      else entries.push(e);
      continue;
    }
    if (LARGE_OBJECT_DATA.has(e.desc)) {
      if (loadLargeObjects) entries.push(e);
      continue;
    }
    // Large objects' metadata and the rest of the schema were created with it; what may run twice runs again.
    if (LARGE_OBJECT_META.has(e.desc)) continue;
    if (REPEATABLE.has(e.desc) || !isPreData(e)) entries.push(e);
  }
  return { ok: true, plan: { entries, loaded, toLoad, built } };
}

/** Pre-data kinds beyond the ones looked up (created with the schema, before the data). */
function isPreData(e: TocEntry): boolean {
  return [
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
    'STATISTICS',
  ].includes(e.desc);
}
