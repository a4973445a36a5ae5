/**
 * Catalog queries for the explorer: databases, schemas, tables. Every name is passed as a query
 * parameter, so any identifier (quotes, spaces, dots, unicode, 63 bytes) works unchanged.
 */

/** Runs one parameterised query and returns its rows (a pg client, pool or PoolCache binding). */
export type QueryFn = <R extends Record<string, unknown>>(text: string, values?: unknown[]) => Promise<R[]>;

export interface DatabaseInfo {
  name: string;
  encoding: string;
  collate: string;
  ctype: string;
  /** Bytes; undefined when the user may not connect (no CONNECT privilege). */
  sizeBytes?: number;
  allowConnections: boolean;
  canConnect: boolean;
}

export interface SchemaInfo {
  name: string;
  owner: string;
  tableCount: number;
}

export type TableKind = 'table' | 'partitioned table' | 'partition' | 'materialized view' | 'foreign table';

/** The kind of a relation from pg_class.relkind and relispartition. */
export function tableKind(relkind: string, relispartition: boolean): TableKind {
  if (relkind === 'p') return 'partitioned table';
  if (relkind === 'm') return 'materialized view';
  if (relkind === 'f') return 'foreign table';
  return relispartition ? 'partition' : 'table';
}

export interface TableInfo {
  schema: string;
  name: string;
  kind: TableKind;
  unlogged: boolean;
  /** pg_class.reltuples; undefined when the table was never vacuumed or analyzed. */
  estimatedRows?: number;
  /** Total size with indexes and TOAST, in bytes. */
  sizeBytes: number;
  /** Table access method (heap, columnar, ...); undefined for kinds without storage. */
  accessMethod?: string;
  /** A partition: the partitioned table it belongs to (in the same schema; one elsewhere is listed on its own). */
  parent?: string;
  /** A partitioned table: its partitions, nested (sizes and estimates summed into it). */
  partitions?: TableInfo[];
}

const toNumber = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

export async function listDatabases(query: QueryFn): Promise<DatabaseInfo[]> {
  const rows = await query<{
    datname: string;
    encoding: string;
    datcollate: string;
    datctype: string;
    size: string | null;
    datallowconn: boolean;
    can_connect: boolean;
  }>(`SELECT d.datname, pg_encoding_to_char(d.encoding) AS encoding, d.datcollate, d.datctype,
            CASE WHEN d.datallowconn AND has_database_privilege(d.oid, 'CONNECT') THEN pg_database_size(d.oid) END AS size,
            d.datallowconn, has_database_privilege(d.oid, 'CONNECT') AS can_connect
       FROM pg_database d
      WHERE NOT d.datistemplate
      ORDER BY d.datname COLLATE "C"`);
  return rows.map((r) => {
    const db: DatabaseInfo = {
      name: r.datname,
      encoding: r.encoding,
      collate: r.datcollate,
      ctype: r.datctype,
      allowConnections: r.datallowconn,
      canConnect: r.can_connect,
    };
    if (r.size !== null) db.sizeBytes = toNumber(r.size);
    return db;
  });
}

export async function listSchemas(query: QueryFn): Promise<SchemaInfo[]> {
  const rows = await query<{ nspname: string; owner: string; tables: string }>(
    `SELECT n.nspname, pg_get_userbyid(n.nspowner) AS owner,
            (SELECT count(*) FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind IN ('r', 'p', 'm', 'f')) AS tables
       FROM pg_namespace n
      WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
        AND n.nspname NOT LIKE 'pg\\_temp\\_%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend dep
                         WHERE dep.classid = 'pg_namespace'::regclass AND dep.objid = n.oid AND dep.deptype = 'e')
      ORDER BY n.nspname COLLATE "C"`,
  );
  return rows.map((r) => ({ name: r.nspname, owner: r.owner, tableCount: toNumber(r.tables) }));
}

export async function listTables(query: QueryFn, schema: string): Promise<TableInfo[]> {
  const rows = await query<{
    relname: string;
    relkind: string;
    relpersistence: string;
    relispartition: boolean;
    reltuples: number;
    size: string;
    amname: string | null;
    parent: string | null;
  }>(
    `SELECT c.relname, c.relkind, c.relpersistence, c.relispartition, c.reltuples::float8 AS reltuples,
            pg_total_relation_size(c.oid) AS size, am.amname,
            (SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
              WHERE i.inhrelid = c.oid AND c.relispartition AND p.relnamespace = c.relnamespace) AS parent
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_am am ON am.oid = c.relam
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'm', 'f')
      ORDER BY c.relname COLLATE "C"`,
    [schema],
  );
  return nestPartitions(
    rows.map((r) => {
      const kind = tableKind(r.relkind, r.relispartition);
      const t: TableInfo = { schema, name: r.relname, kind, unlogged: r.relpersistence === 'u', sizeBytes: toNumber(r.size) };
      if (r.reltuples >= 0 && r.relkind !== 'p') t.estimatedRows = Math.round(r.reltuples);
      if (r.amname !== null) t.accessMethod = r.amname;
      if (r.parent !== null) t.parent = r.parent;
      return t;
    }),
  );
}

/**
 * Partitions beneath their partitioned table (at any depth), which then weighs what they weigh: its
 * size is its own plus theirs, its estimate their sum (when every one has an estimate). A partition
 * whose parent is not in the list stays at the top.
 */
export function nestPartitions(tables: TableInfo[]): TableInfo[] {
  const byName = new Map(tables.map((t) => [t.name, { ...t }]));
  const top: TableInfo[] = [];
  for (const t of byName.values()) {
    const parent = t.parent !== undefined ? byName.get(t.parent) : undefined;
    if (parent && parent !== t) (parent.partitions ??= []).push(t);
    else top.push(t);
  }
  const total = (t: TableInfo, seen: Set<TableInfo>): void => {
    if (!t.partitions || seen.has(t)) return;
    seen.add(t);
    let rows: number | undefined = 0;
    for (const p of t.partitions) {
      total(p, seen);
      t.sizeBytes += p.sizeBytes;
      rows = rows !== undefined && p.estimatedRows !== undefined ? rows + p.estimatedRows : undefined;
    }
    if (rows !== undefined) t.estimatedRows = rows;
  };
  const seen = new Set<TableInfo>();
  for (const t of top) total(t, seen);
  return top;
}

/** Tables in list order with their partitions right after them, and how deep each is nested. */
export function flattenPartitions(tables: TableInfo[], depth = 0): Array<{ table: TableInfo; depth: number }> {
  return tables.flatMap((table) => [{ table, depth }, ...flattenPartitions(table.partitions ?? [], depth + 1)]);
}

/** A table access method that is not PostgreSQL's built-in heap (Hydra's columnar, for instance). */
export function isNonHeap(table: TableInfo): boolean {
  return table.accessMethod !== undefined && table.accessMethod !== 'heap';
}

/** Quotes an identifier for SQL the way quote_ident does (always quoted, inner quotes doubled). */
export function quoteIdent(name: string): string {
  if (name.includes('\u0000')) throw new Error('An identifier cannot contain a NUL character.');
  return `"${name.replace(/"/g, '""')}"`;
}

/** schema.table, both quoted. */
export function qualifiedName(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '?';
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} ${units[i]}` : `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

export function formatCount(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  if (n < 1_000_000_000) return `${(n / 1_000_000).toFixed(n < 10_000_000 ? 1 : 0)}M`;
  return `${(n / 1_000_000_000).toFixed(1)}G`;
}
