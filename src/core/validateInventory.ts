/**
 * What validation reads from each side's catalog: the tables with their kind, access method,
 * columns and integer key; the objects (schemas, views, functions, indexes, constraints, triggers,
 * types, extensions, large objects, access methods) with their definitions; the sequences.
 */
import type { CompareStatus } from '../shared/report.js';
import type pg from 'pg';
import { tableKind } from './catalog.js';
import { notExtensionMember, userSchemaSql } from './inspect.js';

/** Validation could not run (a server unreachable, a catalog unreadable, cancelled). */
export class ValidationError extends Error {}

export interface TableMeta {
  schema: string;
  name: string;
  kind: string;
  unlogged: boolean;
  am: string | null;
  columns: string;
  estimate: number | null;
  /** Single integer primary key column, for narrowing checksums down to ranges. */
  intKey: string | null;
  /**
   * Every column's type hashes its binary value the same on every server and version (see
   * BINARY_HASH_TYPES), so checksums may use hash_record_extended instead of the row's text.
   */
  binaryHash: boolean;
}

/**
 * Types whose extended hash tells apart every pair of values whose text differs: not enums or
 * OIDs (their hash is the OID), numeric (1.0 and 1.00 hash alike), jsonb (its hash ignores nesting
 * and numeric scale), interval ('1 mon' = '30 days'), floats (-0 = 0), arrays (the hash ignores
 * dimensions), nor types without a hash (json, point, xml). Domains count by their base type;
 * text-like columns only with a deterministic collation (a case-insensitive one hashes 'A' and 'a' alike).
 */
export const BINARY_HASH_TYPES = [
  'bool',
  'int2',
  'int4',
  'int8',
  'text',
  'varchar',
  'bpchar',
  'char',
  'bytea',
  'date',
  'time',
  'timestamp',
  'timestamptz',
  'uuid',
  'inet',
  'cidr',
  'macaddr',
];

/** Map key of a relation: schema and name joined by NUL (no identifier can contain it). */
export const tkey = (schema: string, name: string): string => `${schema}\u0000${name}`;

const SYSTEM = userSchemaSql();

export function schemaFilter(schemas: string[] | undefined, col = 'n.nspname'): { sql: string; values: unknown[] } {
  return schemas?.length ? { sql: ` AND ${col} = ANY($1::text[])`, values: [schemas] } : { sql: '', values: [] };
}

export async function tableInventory(c: pg.Client, schemas: string[] | undefined): Promise<TableMeta[]> {
  const f = schemaFilter(schemas);
  const { rows } = await c.query<{
    nspname: string;
    relname: string;
    relkind: string;
    relpersistence: string;
    relispartition: boolean;
    amname: string | null;
    cols: string | null;
    reltuples: number;
    intkey: string | null;
    binhash: boolean;
  }>(
    // One pass over each table's columns gives both its column list and whether every column hashes
    // in binary (hash_record_extended: PostgreSQL 14+); the nondeterministic collations are read once
    // (collisdeterministic exists from PostgreSQL 12: read through jsonb so older servers parse it).
    `WITH nondet AS (SELECT coalesce(array_agg(co.oid), '{}') AS oids FROM pg_collation co WHERE (to_jsonb(co) ->> 'collisdeterministic') = 'false')
     SELECT n.nspname, c.relname, c.relkind, c.relpersistence, c.relispartition, am.amname, c.reltuples::float8 AS reltuples, col.cols,
            (SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
              WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnkeyatts = 1 AND a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype)) AS intkey,
            current_setting('server_version_num')::int >= 140000 AND coalesce(col.binhash, true) AS binhash
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_am am ON am.oid = c.relam
       LEFT JOIN LATERAL (
         SELECT string_agg(quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END, ', ' ORDER BY a.attnum) AS cols,
                bool_and(base.typnamespace = 'pg_catalog'::regnamespace AND base.typname = ANY (ARRAY[${BINARY_HASH_TYPES.map((t) => `'${t}'`).join(', ')}]::name[])
                         AND a.attcollation <> ALL ((SELECT oids FROM nondet)::oid[])) AS binhash
           FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
             JOIN pg_type base ON base.oid = CASE WHEN ty.typtype = 'd' THEN ty.typbasetype ELSE ty.oid END
          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) col ON true
      WHERE c.relkind IN ('r', 'p', 'm') AND ${SYSTEM} AND ${notExtensionMember('pg_class', 'c.oid')}${f.sql}`,
    f.values,
  );
  return rows.map((r) => ({
    schema: r.nspname,
    name: r.relname,
    kind: tableKind(r.relkind, r.relispartition),
    unlogged: r.relpersistence === 'u',
    am: r.amname,
    columns: r.cols ?? '',
    estimate: r.reltuples >= 0 ? Math.round(r.reltuples) : null,
    intKey: r.intkey,
    binaryHash: r.binhash,
  }));
}

export interface NamedObject {
  kind: string;
  schema: string;
  name: string;
  /** Compared between sides when present (definition, version). */
  def?: string;
}

/**
 * Tables that another session holds ACCESS EXCLUSIVE (ALTER TABLE, VACUUM FULL, LOCK TABLE), as
 * quoted "schema"."name": reading their index definitions would wait for the lock.
 */
export async function lockedTables(c: pg.Client): Promise<string[]> {
  const { rows } = await c.query<{ name: string }>(
    `SELECT DISTINCT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name
       FROM pg_locks l JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE l.granted AND l.mode = 'AccessExclusiveLock' AND l.pid <> pg_backend_pid()
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  return rows.map((r) => r.name);
}

/** The objects of a database; index definitions of `locked` tables are left out (on both sides alike). */
export async function objectInventory(c: pg.Client, schemas: string[] | undefined, locked: string[] = []): Promise<NamedObject[]> {
  const f = schemaFilter(schemas);
  const q = async <R extends pg.QueryResultRow>(sql: string, extra: unknown[] = []): Promise<R[]> =>
    (await c.query<R>(sql, [...f.values, ...extra])).rows;
  // The locked tables go as a bind parameter after the schema filter's (only the index query uses it).
  const skip = `$${f.values.length + 1}::text[]`;
  const out: NamedObject[] = [];
  for (const r of await q<{ s: string }>(
    `SELECT n.nspname AS s FROM pg_namespace n WHERE ${SYSTEM} AND ${notExtensionMember('pg_namespace', 'n.oid')}${f.sql}`,
  )) {
    out.push({ kind: 'schema', schema: r.s, name: r.s });
  }
  for (const r of await q<{ s: string; n: string; k: string }>(
    `SELECT n.nspname AS s, c.relname AS n, c.relkind AS k FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v', 'm', 'f') AND ${SYSTEM} AND ${notExtensionMember('pg_class', 'c.oid')}${f.sql}`,
  )) {
    out.push({ kind: r.k === 'v' ? 'view' : r.k === 'm' ? 'materialized view' : 'foreign table', schema: r.s, name: r.n });
  }
  for (const r of await q<{ s: string; n: string; k: string }>(
    `SELECT n.nspname AS s, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS n, p.prokind AS k FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE ${SYSTEM} AND ${notExtensionMember('pg_proc', 'p.oid')}${f.sql}`,
  )) {
    out.push({
      kind: r.k === 'p' ? 'procedure' : r.k === 'a' ? 'aggregate' : r.k === 'w' ? 'window function' : 'function',
      schema: r.s,
      name: r.n,
    });
  }
  // The lookup of each index's table is paid only when some table is locked (rarely).
  const def = `regexp_replace(pg_get_indexdef(c.oid), ' ON (ONLY )?\\S+ ', ' ON ')`;
  for (const r of await q<{ s: string; n: string; d: string }>(
    `SELECT n.nspname AS s, c.relname AS n,
        ${
          locked.length
            ? `CASE WHEN (SELECT quote_ident(tn.nspname) || '.' || quote_ident(t.relname) FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
                    JOIN pg_namespace tn ON tn.oid = t.relnamespace WHERE i.indexrelid = c.oid) = ANY (${skip}) THEN NULL ELSE ${def} END`
            : def
        } AS d
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('i', 'I') AND ${SYSTEM} AND ${notExtensionMember('pg_class', 'c.oid')}${f.sql}`,
    locked.length ? [locked] : [],
  )) {
    out.push({ kind: 'index', schema: r.s, name: r.n, def: r.d });
  }
  // PostgreSQL 18 catalogs NOT NULL as constraints (contype 'n') that older servers do not have:
  // nullability is compared with each table's columns instead, on every version alike.
  for (const r of await q<{ s: string; t: string; n: string; d: string }>(
    `SELECT n.nspname AS s, cl.relname AS t, co.conname AS n, pg_get_constraintdef(co.oid) AS d FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE co.contype <> 'n' AND ${SYSTEM}${f.sql}`,
  )) {
    out.push({ kind: 'constraint', schema: r.s, name: `${r.t}.${r.n}`, def: r.d });
  }
  for (const r of await q<{ s: string; t: string; n: string }>(
    `SELECT n.nspname AS s, cl.relname AS t, tg.tgname AS n FROM pg_trigger tg JOIN pg_class cl ON cl.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE NOT tg.tgisinternal AND ${SYSTEM}${f.sql}`,
  )) {
    out.push({ kind: 'trigger', schema: r.s, name: `${r.t}.${r.n}` });
  }
  for (const r of await q<{ s: string; n: string }>(
    `SELECT n.nspname AS s, c.relname AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND ${SYSTEM} AND ${notExtensionMember('pg_class', 'c.oid')}${f.sql}`,
  )) {
    out.push({ kind: 'sequence', schema: r.s, name: r.n });
  }
  for (const r of await q<{
    s: string;
    n: string;
    k: string;
  }>(`SELECT n.nspname AS s, t.typname AS n, t.typtype AS k FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE t.typtype IN ('e', 'd', 'r', 'm', 'c') AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c') AND ${SYSTEM} AND ${notExtensionMember('pg_type', 't.oid')}${f.sql}`)) {
    out.push({ kind: 'type', schema: r.s, name: r.n });
  }
  for (const r of (await c.query<{ n: string; v: string }>(`SELECT extname AS n, extversion AS v FROM pg_extension`)).rows) {
    out.push({ kind: 'extension', schema: '', name: r.n, def: r.v });
  }
  for (const r of (await c.query<{ n: string }>(`SELECT amname AS n FROM pg_am WHERE amtype = 't'`)).rows) {
    out.push({ kind: 'table access method', schema: '', name: r.n });
  }
  const lo = (await c.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_largeobject_metadata`)).rows[0]!.n;
  out.push({ kind: 'large objects', schema: '', name: 'count', def: lo });
  return out;
}

/** Last values of the sequences; a failure to read them fails the validation (never "match"). */
export async function sequenceValues(
  c: pg.Client,
  schemas: string[] | undefined,
  side: 'source' | 'target',
): Promise<Map<string, bigint | null>> {
  const f = schemaFilter(schemas, 'schemaname');
  let rows: Array<{ s: string; n: string; v: string | null; readable: boolean }>;
  try {
    // last_value is NULL for a sequence the user may not read (and for one never used): tell them apart.
    ({ rows } = await c.query<{ s: string; n: string; v: string | null; readable: boolean }>(
      `SELECT schemaname AS s, sequencename AS n, last_value::text AS v,
              has_sequence_privilege(format('%I.%I', schemaname, sequencename), 'SELECT, USAGE') AS readable
         FROM pg_sequences WHERE schemaname NOT IN ('pg_catalog', 'information_schema')${f.sql}`,
      f.values,
    ));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ValidationError(
      `Could not read the sequences of the ${side}: ${message}. Grant the validating user SELECT on pg_sequences (or validate as the owner).`,
    );
  }
  const unreadable = rows.filter((r) => !r.readable).map((r) => `${r.s}.${r.n}`);
  if (unreadable.length) {
    throw new ValidationError(
      `Could not read ${unreadable.length} sequence(s) of the ${side} (${unreadable.slice(0, 5).join(', ')}${unreadable.length > 5 ? ', …' : ''}): ` +
        'the validating user has no SELECT or USAGE on them. Grant it, or validate as their owner.',
    );
  }
  return new Map(rows.map((r) => [tkey(r.s, r.n), r.v === null ? null : BigInt(r.v)]));
}

/** What was compared for an object, in words: its definition, the extension's version, the count of large objects. */
export function objectDetail(
  kind: string,
  status: CompareStatus,
  source: string | undefined,
  target: string | undefined,
): string | undefined {
  const one = source ?? target;
  if (kind === 'large objects')
    return status === 'match' ? `${source ?? '0'} on both sides` : `source ${source ?? '0'}, target ${target ?? '0'}`;
  if (kind === 'extension' && status === 'different') return `version ${source ?? '?'} on the source, ${target ?? '?'} on the target`;
  if (kind === 'extension' && status === 'match') return one ? `version ${one}` : undefined;
  if (status === 'different') return `source: ${source ?? ''} / target: ${target ?? ''}`;
  const what = one && kind === 'extension' ? `version ${one}` : one;
  if (status === 'missing_in_target') return what ? `only on the source: ${what}` : 'only on the source';
  if (status === 'extra_in_target') return what ? `only on the target: ${what}` : 'only on the target';
  return one;
}

/** Pairs two lists by key (sorted by key), each side present or not. */
export function compareByKey<T>(src: T[], tgt: T[], key: (x: T) => string): Array<{ key: string; source?: T; target?: T }> {
  const a = new Map(src.map((x) => [key(x), x]));
  const b = new Map(tgt.map((x) => [key(x), x]));
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.map((k) => {
    const e: { key: string; source?: T; target?: T } = { key: k };
    const s = a.get(k);
    const t = b.get(k);
    if (s !== undefined) e.source = s;
    if (t !== undefined) e.target = t;
    return e;
  });
}
