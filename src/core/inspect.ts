/**
 * Catalog probes shared by the readiness checks, create-database, dump and restore. Every query
 * here runs on a connection opened through connectSide (the user's connect timeout).
 */
import type pg from 'pg';
import { explainSideError } from './step.js';
import { withSide, type Side } from './side.js';

/**
 * SQL condition on a pg_namespace aliased `n`: true for user schemas, false for pg_catalog,
 * information_schema, pg_toast and the temporary schemas. The one system-schema filter.
 */
export function userSchemaSql(alias = 'n'): string {
  return `${alias}.nspname NOT IN ('pg_catalog', 'information_schema') AND ${alias}.nspname NOT LIKE 'pg\\_%'`;
}

export interface DatabaseContents {
  exists: boolean;
  /** User tables, views, sequences, functions... outside system schemas. */
  objects: number;
  /** Schemas other than public and system ones. */
  schemas: number;
}

/** SQL condition: the object `oid` (an expression) of catalog `classid` is not a member of an extension. */
export function notExtensionMember(classid: string, oid: string): string {
  return `NOT EXISTS (SELECT 1 FROM pg_depend dep WHERE dep.classid = '${classid}'::regclass AND dep.objid = ${oid} AND dep.deptype = 'e')`;
}

/** Whether the side's database exists and how much it holds (a restore target must be empty). */
export async function inspectDatabase(side: Side): Promise<DatabaseContents> {
  try {
    return await withSide(side, databaseContents);
  } catch (err) {
    if (explainSideError(err, side).problem === 'database_missing') return { exists: false, objects: 0, schemas: 0 };
    throw err;
  }
}

/** What the connected database holds (inspectDatabase on a connection that is open already). */
export async function databaseContents(client: pg.Client): Promise<DatabaseContents> {
  const { rows } = await client.query<{ objects: string; schemas: string }>(
    `SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE ${userSchemaSql()} AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND ${notExtensionMember('pg_class', 'c.oid')})
          + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE ${userSchemaSql()} AND ${notExtensionMember('pg_proc', 'p.oid')}) AS objects,
            (SELECT count(*) FROM pg_namespace n
              WHERE ${userSchemaSql()} AND n.nspname <> 'public' AND ${notExtensionMember('pg_namespace', 'n.oid')}) AS schemas`,
  );
  return { exists: true, objects: Number(rows[0]?.objects ?? 0), schemas: Number(rows[0]?.schemas ?? 0) };
}

/** Roles that own objects or hold privileges in the connected database (built-in pg_* roles excluded). */
export async function ownerAndGranteeRoles(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ rolname: string }>(
    `SELECT DISTINCT r.rolname FROM pg_roles r WHERE r.oid IN (
        SELECT relowner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE ${userSchemaSql()}
        UNION SELECT nspowner FROM pg_namespace n WHERE ${userSchemaSql()}
        UNION SELECT proowner FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
        UNION SELECT (aclexplode(relacl)).grantee FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               WHERE relacl IS NOT NULL AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        UNION SELECT (aclexplode(nspacl)).grantee FROM pg_namespace
               WHERE nspacl IS NOT NULL AND nspname NOT IN ('pg_catalog', 'information_schema'))
      AND r.rolname NOT LIKE 'pg\\_%' ORDER BY 1`,
  );
  return rows.map((r) => r.rolname);
}

/** Extensions installed in the connected database, plpgsql excluded. */
export async function installedExtensions(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ extname: string }>(`SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1`);
  return rows.map((r) => r.extname);
}

/** Extensions the connected server offers (pg_available_extensions). */
export async function availableExtensions(client: pg.Client): Promise<Set<string>> {
  const { rows } = await client.query<{ name: string }>('SELECT name FROM pg_available_extensions');
  return new Set(rows.map((r) => r.name));
}

/** The number of ordinary tables pg_dump will dump, for progress; undefined when it cannot tell. */
export async function countTablesToDump(
  side: Side,
  schemas: string[] | undefined,
  excluded: string[] | undefined,
): Promise<number | undefined> {
  try {
    return await withSide(side, async (client) => {
      const { rows } = await client.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'r' AND ${userSchemaSql()}
            AND (cardinality($1::text[]) = 0 OR n.nspname = ANY($1)) AND NOT (n.nspname = ANY($2))`,
        [schemas ?? [], excluded ?? []],
      );
      return Number(rows[0]?.n ?? 0);
    });
  } catch {
    return undefined; // pg_dump will report the connection problem itself
  }
}

export interface DatabaseLocale {
  encoding: string;
  collate: string;
  ctype: string;
  /** 'libc' or 'icu' (PG15+). */
  provider?: string;
  icuLocale?: string;
}

/** Reads the encoding and locale of a database (for CREATE DATABASE ... like the source). */
export async function readDatabaseLocale(side: Side): Promise<DatabaseLocale> {
  return withSide(side, async (client) => {
    const { rows } = await client.query<{ d: Record<string, unknown>; encoding: string }>(
      `SELECT to_jsonb(d) AS d, pg_encoding_to_char(d.encoding) AS encoding FROM pg_database d WHERE d.datname = current_database()`,
    );
    const d = rows[0]!.d;
    const locale: DatabaseLocale = { encoding: rows[0]!.encoding, collate: String(d.datcollate), ctype: String(d.datctype) };
    if (d.datlocprovider === 'i') {
      locale.provider = 'icu';
      const icu = d.daticulocale ?? d.datlocale;
      if (typeof icu === 'string') locale.icuLocale = icu;
    }
    return locale;
  });
}

/** What a dump selection of exact names should hold: every ordinary and partitioned table, as [schema, name]. */
export async function selectedTables(
  side: Side,
  selection: { schemas?: string[]; excludeSchemas?: string[]; tables?: Array<[string, string]>; excludeTables?: Array<[string, string]> },
): Promise<Array<[string, string]>> {
  const pairs = (list: Array<[string, string]> | undefined): [string[], string[]] => [
    (list ?? []).map((t) => t[0]),
    (list ?? []).map((t) => t[1]),
  ];
  const [tSchemas, tNames] = pairs(selection.tables);
  const [xSchemas, xNames] = pairs(selection.excludeTables);
  return withSide(side, async (client) => {
    const { rows } = await client.query<{ s: string; n: string }>(
      `SELECT n.nspname AS s, c.relname AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND ${userSchemaSql()} AND ${notExtensionMember('pg_class', 'c.oid')}
          AND (cardinality($1::text[]) = 0 OR n.nspname = ANY($1)) AND NOT (n.nspname = ANY($2))
          AND (cardinality($3::text[]) = 0 OR (n.nspname, c.relname) IN (SELECT * FROM unnest($3::text[], $4::text[])))
          AND (n.nspname, c.relname) NOT IN (SELECT * FROM unnest($5::text[], $6::text[]))
        ORDER BY 1, 2`,
      [selection.schemas ?? [], selection.excludeSchemas ?? [], tSchemas, tNames, xSchemas, xNames],
    );
    return rows.map((r) => [r.s, r.n] as [string, string]);
  });
}

export interface ConnectionBudget {
  /** Connections this user can still open on the server now (free slots, the role's limit). */
  free: number;
  /** What that is made of, for the terminal. */
  reason: string;
}

/**
 * How many more connections this user may open: the server's free slots (max_connections less the
 * reserved ones and those in use) and the role's own limit, whichever is smaller. A small managed
 * server runs out fast: parallel jobs, validation pools and the explorer all count.
 */
export async function connectionBudget(side: Side): Promise<ConnectionBudget> {
  return withSide(side, (client) => budgetOn(client, side.profile.user));
}

/**
 * The budget read on a connection of the work's own (it counts as free: the work's pool includes
 * it), so the work needs no connection of its own to ask.
 */
export async function budgetOn(client: pg.Client, user: string): Promise<ConnectionBudget> {
  const { rows } = await client.query<{ max: number; reserved: number; used: number; rolelimit: number; mine: number }>(
    `SELECT current_setting('max_connections')::int AS max,
            current_setting('superuser_reserved_connections')::int
              + coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0) AS reserved,
            -- pg_stat_database counts every role's sessions (pg_stat_activity hides other roles' backend types).
            (SELECT coalesce(sum(numbackends), 0)::int FROM pg_stat_database) AS used,
            (SELECT rolconnlimit FROM pg_roles WHERE rolname = current_user) AS rolelimit,
            (SELECT count(*)::int FROM pg_stat_activity WHERE usename = current_user AND backend_type = 'client backend') AS mine`,
  );
  const r = rows[0]!;
  const serverFree = r.max - r.reserved - r.used + 1;
  const roleFree = r.rolelimit >= 0 ? r.rolelimit - r.mine + 1 : Number.POSITIVE_INFINITY;
  const free = Math.max(0, Math.min(serverFree, roleFree));
  const reason =
    roleFree < serverFree
      ? `role ${user} may open ${r.rolelimit} connections and has ${r.mine - 1} open`
      : `max_connections ${r.max}, ${r.reserved} reserved, ${r.used - 1} in use`;
  return { free, reason };
}

/** Parallel workers within half of the free connections (at least 1), and the sentence that says why. */
export function withinBudget(wanted: number, budget: ConnectionBudget, extra = 0): { n: number; note?: string } {
  const allowed = Math.max(1, Math.floor(budget.free / 2) - extra);
  if (wanted <= allowed) return { n: wanted };
  return {
    n: allowed,
    note: `${allowed} instead of ${wanted}: ${budget.free} connection(s) free on ${budget.reason}; at most half are used`,
  };
}

/**
 * The jobs a parallel tool may use on this side: `wanted`, lowered to half of the free connections
 * (less `extra` connections the tool opens besides its workers); says so through `onLine`.
 * Unchanged when the server cannot be asked (the tool reports the connection problem itself).
 */
export async function budgetedJobs(side: Side, wanted: number, extra: number, onLine?: (line: string) => void): Promise<number> {
  const budget = await connectionBudget(side).catch(() => undefined);
  if (!budget) return wanted;
  const { n, note } = withinBudget(wanted, budget, extra);
  if (note) onLine?.(`hydra-migrate: jobs ${note}`);
  return n;
}
