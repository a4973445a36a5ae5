/**
 * Sequences at the cutover: pg_dump copies each sequence's value as it read it, and a live source
 * moves on. "Set from source" raises every target sequence that is behind to the source's state,
 * never lowers one (a target already in use, or restarted on purpose, keeps its numbers: lowering
 * would hand out duplicates), and says what it did with each. "Behind" compares the value each
 * side would hand out next, in the sequence's direction (is_called and a negative increment
 * included); the write itself only ever moves the sequence forward.
 */
import type pg from 'pg';
import { withSide, type Side } from './side.js';

export type SequenceAction = 'set' | 'same' | 'kept_ahead' | 'missing_in_target' | 'unused';

export interface SequenceChange {
  schema: string;
  name: string;
  /** The next value the target would have handed out before (null: never used). */
  from: string | null;
  /** The next value the source hands out (null: never used there). */
  source: string | null;
  action: SequenceAction;
}

interface SequenceState {
  schema: string;
  name: string;
  oid: number;
  lastValue: bigint;
  isCalled: boolean;
  increment: bigint;
  /** The value nextval() would return (null: never called, so it would return last_value itself). */
  next: bigint;
  canUpdate: boolean;
}

async function readSequences(c: pg.Client, schemas: string[] | undefined, side: 'source' | 'target'): Promise<Map<string, SequenceState>> {
  // By oid, not by name: has_sequence_privilege on a name raises for a schema the user may not use.
  const { rows } = await c.query<{ s: string; n: string; oid: number; inc: string; readable: boolean; updatable: boolean }>(
    `SELECT n.nspname AS s, c.relname AS n, c.oid::int AS oid, q.seqincrement::text AS inc,
            has_sequence_privilege(c.oid, 'SELECT') AS readable, has_sequence_privilege(c.oid, 'UPDATE') AS updatable
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_sequence q ON q.seqrelid = c.oid
      WHERE c.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
        ${schemas?.length ? 'AND n.nspname = ANY($1)' : ''}`,
    schemas?.length ? [schemas] : [],
  );
  const unreadable = rows.filter((r) => !r.readable).map((r) => `${r.s}.${r.n}`);
  if (unreadable.length)
    throw new Error(
      `The ${side} user may not read ${unreadable.length} sequence(s) (${unreadable.slice(0, 5).join(', ')}${unreadable.length > 5 ? ', …' : ''}); nothing was set. Grant SELECT on them, or connect as their owner.`,
    );
  const out = new Map<string, SequenceState>();
  for (const r of rows) {
    // The relation itself: pg_sequences shows NULL for a sequence restarted (is_called false), which is not "never used".
    const { rows: v } = await c.query<{ last_value: string; is_called: boolean }>(
      `SELECT last_value::text AS last_value, is_called FROM ${quoteQualified(r.s, r.n)}`,
    );
    const lastValue = BigInt(v[0]!.last_value);
    const increment = BigInt(r.inc);
    const isCalled = v[0]!.is_called;
    out.set(`${r.s}\u0000${r.n}`, {
      schema: r.s,
      name: r.n,
      oid: r.oid,
      lastValue,
      isCalled,
      increment,
      next: isCalled ? lastValue + increment : lastValue,
      canUpdate: r.updatable,
    });
  }
  return out;
}

const quoteQualified = (schema: string, name: string): string => `"${schema.replace(/"/g, '""')}"."${name.replace(/"/g, '""')}"`;

/** Raises the target's sequences that are behind the source's (never lowers one). */
export async function syncSequences(
  source: Side,
  target: Side,
  o: { schemas?: string[]; dryRun?: boolean } = {},
): Promise<SequenceChange[]> {
  const src = await withSide(source, (c) => readSequences(c, o.schemas, 'source'));
  return withSide(target, async (c) => {
    const tgt = await readSequences(c, o.schemas, 'target');
    const changes: Array<SequenceChange & { state?: SequenceState; to?: SequenceState }> = [];
    for (const [key, s] of [...src].sort(([a], [b]) => a.localeCompare(b))) {
      const t = tgt.get(key);
      const base = {
        schema: s.schema,
        name: s.name,
        source: s.isCalled ? String(s.next) : null,
        from: t ? (t.isCalled ? String(t.next) : null) : null,
      };
      if (!t) changes.push({ ...base, action: 'missing_in_target' });
      else if (!s.isCalled) changes.push({ ...base, action: 'unused' });
      else {
        // Behind: the target would hand out a value the source has handed out already (in the sequence's direction).
        const up = s.increment > 0n;
        const behind = up ? t.next < s.next : t.next > s.next;
        if (t.next === s.next) changes.push({ ...base, action: 'same' });
        else if (!behind) changes.push({ ...base, action: 'kept_ahead' });
        else changes.push({ ...base, action: 'set', state: s, to: t });
      }
    }
    const toSet = changes.filter((ch) => ch.action === 'set');
    // Every one or none: a user who may not update one of them learns it before any is changed.
    const denied = toSet.filter((ch) => !ch.to!.canUpdate).map((ch) => `${ch.schema}.${ch.name}`);
    if (denied.length && !o.dryRun)
      throw new Error(
        `The target user may not update ${denied.length} sequence(s) (${denied.slice(0, 5).join(', ')}${denied.length > 5 ? ', …' : ''}); nothing was set. Grant UPDATE on them, or connect as their owner.`,
      );
    if (!o.dryRun)
      for (const ch of toSet) {
        const s = ch.state!;
        // Forward only, even if the target moved meanwhile: greatest/least against its value now.
        await c.query(
          `SELECT pg_catalog.setval($1::oid::regclass, ${s.increment > 0n ? 'greatest' : 'least'}($2::bigint, (SELECT last_value FROM ${quoteQualified(ch.schema, ch.name)})), true)`,
          [ch.to!.oid, String(s.lastValue)],
        );
      }
    return changes.map(({ state: _s, to: _t, ...rest }) => rest);
  });
}

/** One line per sequence that is not simply the same. */
export function sequenceChangeLines(changes: SequenceChange[]): string[] {
  const what: Record<SequenceAction, (c: SequenceChange) => string> = {
    set: (c) => `set ${c.schema}.${c.name}: next ${c.from ?? '(restarted)'} -> ${c.source}`,
    same: (c) => `same ${c.schema}.${c.name}: next ${c.source}`,
    kept_ahead: (c) =>
      `kept ${c.schema}.${c.name}: the target (next ${c.from ?? 'its start'}) is ahead of the source (next ${c.source}); never lowered`,
    missing_in_target: (c) => `missing ${c.schema}.${c.name}: not in the target`,
    unused: (c) => `unused ${c.schema}.${c.name}: never used on the source`,
  };
  return changes.filter((c) => c.action !== 'same').map((c) => what[c.action](c));
}
