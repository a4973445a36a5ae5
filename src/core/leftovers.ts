/**
 * What pg_restore leaves behind, set from the source on request (like sequences.ts):
 * - Large objects' owners: restored with --no-owner, every large object belongs to the role that
 *   restored it. Matched by OID (pg_dump keeps large objects' OIDs), each one whose owner differs is
 *   given its source owner's role, where the target has that role; never any other change.
 * - Columnar tables' options (Hydra's and Citus' columnar: compression, compression level, stripe
 *   and chunk group row limits) live in the extension's own catalog (`columnar.options`), which
 *   pg_dump does not carry: a restored table gets the target's defaults. Compared per table and
 *   re-applied with the extension's own `alter_columnar_table_set` where the target offers it. They
 *   apply to data written from then on: the stripes loaded by the restore keep the defaults.
 */
import type pg from 'pg';
import { qualifiedName, quoteIdent } from './catalog.js';
import { withSide, type Side } from './side.js';

export type OwnerAction = 'set' | 'same' | 'missing_role' | 'missing_in_target';

export interface LargeObjectOwners {
  /** Large objects on the source. */
  total: number;
  /** Per source owner whose large objects the target gives to another role (or lacks). */
  groups: { sourceOwner: string; targetOwners: string[]; count: number; action: OwnerAction; oids: string[] }[];
}

const BATCH = 500;

/** Compares (and, unless `dryRun`, sets) the owners of the target's large objects from the source's. */
export async function syncLargeObjectOwners(source: Side, target: Side, o: { dryRun?: boolean } = {}): Promise<LargeObjectOwners> {
  const read = (c: pg.Client) =>
    c.query<{ oid: string; owner: string }>('SELECT oid::text AS oid, pg_get_userbyid(lomowner) AS owner FROM pg_largeobject_metadata');
  const src = (await withSide(source, read)).rows;
  return withSide(target, async (c) => {
    const there = new Map((await read(c)).rows.map((r) => [r.oid, r.owner]));
    const roles = new Set((await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles')).rows.map((r) => r.rolname));
    const byOwner = new Map<string, LargeObjectOwners['groups'][number]>();
    for (const { oid, owner } of src) {
      const now = there.get(oid);
      const action: OwnerAction =
        now === undefined ? 'missing_in_target' : now === owner ? 'same' : roles.has(owner) ? 'set' : 'missing_role';
      if (action === 'same') continue;
      const key = `${owner}\u0000${action}`;
      const g = byOwner.get(key) ?? { sourceOwner: owner, targetOwners: [], count: 0, action, oids: [] };
      g.count++;
      g.oids.push(oid);
      if (now !== undefined && !g.targetOwners.includes(now)) g.targetOwners.push(now);
      byOwner.set(key, g);
    }
    const groups = [...byOwner.values()];
    if (!o.dryRun) {
      // One transaction: every owner set, or none (a role this login may not hand objects to fails it whole).
      await c.query('BEGIN');
      let giving = '';
      try {
        for (const g of groups.filter((x) => x.action === 'set')) {
          giving = g.sourceOwner;
          for (let i = 0; i < g.oids.length; i += BATCH)
            await c.query(
              g.oids
                .slice(i, i + BATCH)
                .map((oid) => `ALTER LARGE OBJECT ${Number(oid)} OWNER TO ${quoteIdent(g.sourceOwner)};`)
                .join('\n'),
            );
        }
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        if ((err as { code?: string }).code !== '42501') throw err;
        const login = target.profile.user;
        throw new Error(
          `${(err as Error).message}: no large object's owner was changed. The login ${login} may only give objects to roles it is a member of: GRANT ${quoteIdent(giving)} TO ${quoteIdent(login)}, or run this as a superuser.`,
        );
      }
    }
    return { total: src.length, groups };
  });
}

export function largeObjectOwnerLines(r: LargeObjectOwners, dryRun = false): string[] {
  const verb = dryRun ? 'would be given to' : 'given to';
  const lines = r.groups.map((g) => {
    const from = g.targetOwners.length ? ` (owned by ${g.targetOwners.join(', ')} on the target)` : '';
    if (g.action === 'set') return `${g.count} large object(s) ${verb} ${g.sourceOwner}${from}`;
    if (g.action === 'missing_role')
      return `${g.count} large object(s) of ${g.sourceOwner} kept as they are${from}: the target has no role ${g.sourceOwner} (create it, then run this again)`;
    return `${g.count} large object(s) of ${g.sourceOwner} are missing in the target (restore them first)`;
  });
  const same = r.total - r.groups.reduce((n, g) => n + g.count, 0);
  lines.push(`${r.total} large object(s) on the source, ${same} already owned as there.`);
  return lines;
}

export interface ColumnarOptions {
  chunkGroupRowLimit: number | null;
  stripeRowLimit: number | null;
  compression: string | null;
  compressionLevel: number | null;
}

export type ColumnarAction = 'set' | 'same' | 'missing_in_target' | 'not_offered';

export interface ColumnarChange {
  schema: string;
  name: string;
  source: ColumnarOptions;
  target?: ColumnarOptions;
  action: ColumnarAction;
}

interface ColumnarRow {
  schema: string;
  name: string;
  chunk: number | null;
  stripe: number | null;
  compression: string | null;
  level: number | null;
}

/** Each columnar table's options, or undefined when the server's columnar extension keeps none. */
async function readColumnarOptions(c: pg.Client): Promise<Map<string, ColumnarRow> | undefined> {
  const has = await c.query<{ ok: boolean }>(`SELECT to_regclass('columnar.options') IS NOT NULL AS ok`);
  if (!has.rows[0]?.ok) return undefined;
  const { rows } = await c.query<ColumnarRow>(
    `SELECT n.nspname AS schema, cl.relname AS name, o.chunk_group_row_limit::int AS chunk, o.stripe_row_limit::int AS stripe,
            o.compression::text AS compression, o.compression_level::int AS level
       FROM columnar.options o JOIN pg_class cl ON cl.oid = o.relation JOIN pg_namespace n ON n.oid = cl.relnamespace`,
  );
  return new Map(rows.map((r) => [`${r.schema}\u0000${r.name}`, r]));
}

const options = (r: ColumnarRow): ColumnarOptions => ({
  chunkGroupRowLimit: r.chunk,
  stripeRowLimit: r.stripe,
  compression: r.compression,
  compressionLevel: r.level,
});

/** Compares (and, unless `dryRun`, re-applies) the columnar tables' options from the source's. */
export async function syncColumnarOptions(source: Side, target: Side, o: { dryRun?: boolean } = {}): Promise<ColumnarChange[]> {
  const src = await withSide(source, readColumnarOptions);
  if (!src?.size) return [];
  return withSide(target, async (c) => {
    const there = await readColumnarOptions(c);
    // The extension's own setter, wherever it lives (pg_catalog in Citus, columnar in some builds):
    // a member of an extension, never a function of that name someone else created.
    const setter = (
      await c.query<{ fn: string }>(
        `SELECT format('%I.%I', n.nspname, p.proname) AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE p.proname = 'alter_columnar_table_set' AND p.pronargs = 5
            AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
          ORDER BY n.nspname = 'columnar' DESC LIMIT 1`,
      )
    ).rows[0]?.fn;
    const changes: ColumnarChange[] = [];
    for (const [key, row] of src) {
      const t = there?.get(key);
      const action: ColumnarAction = !there || !setter ? 'not_offered' : !t ? 'missing_in_target' : same(row, t) ? 'same' : 'set';
      changes.push({ schema: row.schema, name: row.name, source: options(row), ...(t ? { target: options(t) } : {}), action });
    }
    if (!o.dryRun && setter) {
      await c.query('BEGIN');
      try {
        for (const ch of changes.filter((x) => x.action === 'set'))
          await c.query(`SELECT ${setter}($1::regclass, $2::int, $3::int, $4::name, $5::int)`, [
            qualifiedName(ch.schema, ch.name),
            ch.source.chunkGroupRowLimit,
            ch.source.stripeRowLimit,
            ch.source.compression,
            ch.source.compressionLevel,
          ]);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
    return changes;
  });
}

function same(a: ColumnarRow, b: ColumnarRow): boolean {
  return a.chunk === b.chunk && a.stripe === b.stripe && a.compression === b.compression && a.level === b.level;
}

const describeOptions = (x: ColumnarOptions): string =>
  `compression ${x.compression ?? '-'} level ${x.compressionLevel ?? '-'}, stripes of ${x.stripeRowLimit ?? '-'} rows, chunk groups of ${x.chunkGroupRowLimit ?? '-'}`;

export function columnarChangeLines(changes: ColumnarChange[], dryRun = false): string[] {
  return changes
    .filter((ch) => ch.action !== 'same')
    .map((ch) => {
      const name = `${ch.schema}.${ch.name}`;
      if (ch.action === 'set')
        return `${name}: ${dryRun ? 'would be set to' : 'set to'} ${describeOptions(ch.source)} (was ${describeOptions(ch.target!)}); data written from now on uses them`;
      if (ch.action === 'missing_in_target')
        return `${name}: not a columnar table on the target (restore it first, or check its access method)`;
      return `${name}: ${describeOptions(ch.source)} on the source; the target's columnar extension keeps no options (install the same extension there)`;
    });
}
