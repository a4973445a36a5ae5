/**
 * Sample data for tests: a Hydra-shaped database (a columnar stand-in table, see FACTS: an access
 * method named columnar over the heap handler), awkward identifiers, and a non-superuser role.
 */
import type { Side, SideRole } from '../../src/core/side.js';
import { literal, type TestServer } from './servers.js';

export const MIGRATOR = 'migrator';
export const MIGRATOR_PASSWORD = "Mïgr@tor:pa ss/w%rd'1";

/** Names that break naive SQL building. */
export const AWKWARD = {
  schemaQuote: 'sales "EU"',
  schemaDot: 'my.schema',
  schemaUnicode: 'ünïcødé',
  tableSemicolon: 'order items; DROP TABLE x',
  tableUnicode: '表格',
  table63: 't'.repeat(63),
};

export const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Creates the migrator role (login, password, not superuser) if it does not exist. */
export async function createMigrator(server: TestServer): Promise<void> {
  await server.sql(`DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${literal(MIGRATOR)}) THEN
      CREATE ROLE ${q(MIGRATOR)} LOGIN PASSWORD ${literal(MIGRATOR_PASSWORD)};
    END IF; END $$`);
}

/**
 * Creates database `name` owned by the migrator with:
 * - public.accounts (heap, 1000 rows, analyzed), public.events (USING columnar, 500 rows)
 * - schemas with awkward names and tables with awkward names
 * - a partitioned table with two partitions, a materialized view, an unlogged table
 */
export async function createSampleDatabase(server: TestServer, name: string): Promise<void> {
  await createMigrator(server);
  await server.sql(`CREATE DATABASE ${q(name)} OWNER ${q(MIGRATOR)} TEMPLATE template0 ENCODING 'UTF8'`);
  const a = AWKWARD;
  await server.sql(
    `
    CREATE ACCESS METHOD columnar TYPE TABLE HANDLER heap_tableam_handler;
    SET ROLE ${q(MIGRATOR)};
    CREATE TABLE public.accounts (id bigint PRIMARY KEY, name text NOT NULL, balance numeric(12,2));
    INSERT INTO public.accounts SELECT g, 'acct ' || g, g * 1.5 FROM generate_series(1, 1000) g;
    CREATE TABLE public.events (id bigint, at timestamptz, payload jsonb) USING columnar;
    INSERT INTO public.events SELECT g, now() - g * interval '1 minute', jsonb_build_object('n', g) FROM generate_series(1, 500) g;
    CREATE TABLE public.measurements (id bigint, day date NOT NULL, v double precision) PARTITION BY RANGE (day);
    CREATE TABLE public.measurements_2025 PARTITION OF public.measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    CREATE TABLE public.measurements_2026 PARTITION OF public.measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
    INSERT INTO public.measurements SELECT g, date '2025-06-01' + (g % 400), g FROM generate_series(1, 800) g;
    CREATE MATERIALIZED VIEW public.account_totals AS SELECT count(*) AS n, sum(balance) AS total FROM public.accounts;
    CREATE UNLOGGED TABLE public.scratch (k text);
    CREATE SCHEMA ${q(a.schemaQuote)};
    CREATE SCHEMA ${q(a.schemaDot)};
    CREATE SCHEMA ${q(a.schemaUnicode)};
    CREATE TABLE ${q(a.schemaQuote)}.${q(a.tableSemicolon)} (id int PRIMARY KEY);
    INSERT INTO ${q(a.schemaQuote)}.${q(a.tableSemicolon)} SELECT generate_series(1, 42);
    CREATE TABLE ${q(a.schemaDot)}.${q(a.table63)} (id int);
    CREATE TABLE ${q(a.schemaUnicode)}.${q(a.tableUnicode)} (id int) USING columnar;
    INSERT INTO ${q(a.schemaUnicode)}.${q(a.tableUnicode)} SELECT generate_series(1, 7);
    RESET ROLE;
    ANALYZE;
  `,
    name,
  );
}

/**
 * Adds what a real application database has to the sample database: a table without primary key,
 * sequences, views, functions, a trigger, large objects, a second schema owned by another role.
 */
export async function addMigrationObjects(server: TestServer, name: string): Promise<void> {
  await server.sql(
    `DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'app_owner') THEN CREATE ROLE app_owner; END IF; END $$`,
  );
  await server.sql(
    `
    CREATE SCHEMA inventory AUTHORIZATION app_owner;
    SET ROLE app_owner;
    CREATE TABLE inventory.products (sku text PRIMARY KEY, qty int NOT NULL DEFAULT 0);
    INSERT INTO inventory.products SELECT 'sku-' || g, g FROM generate_series(1, 300) g;
    GRANT USAGE ON SCHEMA inventory TO ${q(MIGRATOR)};
    GRANT SELECT ON ALL TABLES IN SCHEMA inventory TO ${q(MIGRATOR)};
    RESET ROLE;
    SET ROLE ${q(MIGRATOR)};
    CREATE TABLE public.audit_log (at timestamptz DEFAULT now(), what text);
    INSERT INTO public.audit_log (what) SELECT 'event ' || g FROM generate_series(1, 250) g;
    CREATE SEQUENCE public.invoice_no START 1000;
    SELECT setval('public.invoice_no', 1234);
    CREATE VIEW public.rich_accounts AS SELECT * FROM public.accounts WHERE balance > 1000;
    CREATE FUNCTION public.add_tax(numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 1.2';
    CREATE FUNCTION public.log_change() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN INSERT INTO public.audit_log (what) VALUES (TG_OP); RETURN NEW; END $f$;
    CREATE TRIGGER accounts_audit AFTER UPDATE ON public.accounts FOR EACH ROW EXECUTE FUNCTION public.log_change();
    CREATE INDEX accounts_name_idx ON public.accounts (name);
    SELECT lo_from_bytea(0, 'large object one'::bytea), lo_from_bytea(0, 'large object two'::bytea);
    RESET ROLE;
  `,
    name,
  );
}

/** A side on a test server: the migrator by default, the server's admin with `admin`. */
export function sideOn(server: TestServer, database: string, options: { admin?: boolean; role?: SideRole } = {}): Side {
  return {
    role: options.role ?? (server.kind === 'pg15' ? 'source' : 'target'),
    profile: { host: '127.0.0.1', port: server.port, database, user: options.admin ? server.adminUser : MIGRATOR, sslmode: 'disable' },
    password: options.admin ? server.adminPassword : MIGRATOR_PASSWORD,
    database,
  };
}

/**
 * Runs `work` while another session holds `table` of `server`'s database `db` in ACCESS EXCLUSIVE
 * mode, as a live source's session may; the lock is released after, whatever happened.
 */
export async function whileLocked<T>(server: TestServer, db: string, table: string, work: () => T | Promise<T>): Promise<T> {
  const { default: pg } = await import('pg');
  const locker = new pg.Client({
    host: '127.0.0.1',
    port: server.port,
    user: server.adminUser,
    password: server.adminPassword,
    database: db,
  });
  await locker.connect();
  try {
    await locker.query(`BEGIN; LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
    return await work();
  } finally {
    await locker.query('ROLLBACK').catch(() => undefined);
    await locker.end();
  }
}
