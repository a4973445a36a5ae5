/**
 * Sequences at the cutover: pg_dump copies each sequence's value as it read it, and a live source
 * moves on. "Set from source" raises every target sequence that is behind to the source's value,
 * never lowers one (a target already in use keeps its numbers: lowering would hand out
 * duplicates), and says what it did with each.
 */
import type pg from 'pg';
import { withSide, type Side } from './side.js';

export type SequenceAction = 'set' | 'same' | 'kept_ahead' | 'missing_in_target' | 'unused';

export interface SequenceChange {
  schema: string;
  name: string;
  /** The target's value before (null: never used). */
  from: string | null;
  /** The source's value (null: never used there). */
  source: string | null;
  action: SequenceAction;
}

async function readSequences(
  c: pg.Client,
  schemas: string[] | undefined,
  side: 'source' | 'target',
): Promise<Map<string, { schema: string; name: string; value: string | null }>> {
  // last_value is NULL both for a sequence never used and for one the user may not read: told apart.
  const { rows } = await c.query<{ s: string; n: string; v: string | null; readable: boolean }>(
    `SELECT schemaname AS s, sequencename AS n, last_value::text AS v,
            has_sequence_privilege(format('%I.%I', schemaname, sequencename), 'SELECT, USAGE') AS readable
       FROM pg_sequences WHERE schemaname NOT IN ('pg_catalog', 'information_schema')${schemas?.length ? ' AND schemaname = ANY($1)' : ''}`,
    schemas?.length ? [schemas] : [],
  );
  const unreadable = rows.filter((r) => !r.readable).map((r) => `${r.s}.${r.n}`);
  if (unreadable.length)
    throw new Error(
      `The ${side} user may not read ${unreadable.length} sequence(s) (${unreadable.slice(0, 5).join(', ')}${unreadable.length > 5 ? ', …' : ''}); nothing was set. Grant SELECT on them, or connect as their owner.`,
    );
  return new Map(rows.map((r) => [`${r.s}\u0000${r.n}`, { schema: r.s, name: r.n, value: r.v }]));
}

/** Raises the target's sequences that are behind the source's to the source's values (never lowers one). */
export async function syncSequences(
  source: Side,
  target: Side,
  o: { schemas?: string[]; dryRun?: boolean } = {},
): Promise<SequenceChange[]> {
  const src = await withSide(source, (c) => readSequences(c, o.schemas, 'source'));
  return withSide(target, async (c) => {
    const tgt = await readSequences(c, o.schemas, 'target');
    const changes: SequenceChange[] = [];
    for (const [key, s] of [...src].sort(([a], [b]) => a.localeCompare(b))) {
      const t = tgt.get(key);
      const base = { schema: s.schema, name: s.name, source: s.value, from: t?.value ?? null };
      if (!t) changes.push({ ...base, action: 'missing_in_target' });
      else if (s.value === null) changes.push({ ...base, action: 'unused' });
      else if (t.value !== null && BigInt(t.value) > BigInt(s.value)) changes.push({ ...base, action: 'kept_ahead' });
      else if (t.value !== null && BigInt(t.value) === BigInt(s.value)) changes.push({ ...base, action: 'same' });
      else {
        if (!o.dryRun)
          await c.query(`SELECT pg_catalog.setval(format('%I.%I', $1::text, $2::text)::regclass, $3::bigint, true)`, [
            s.schema,
            s.name,
            s.value,
          ]);
        changes.push({ ...base, action: 'set' });
      }
    }
    return changes;
  });
}

/** One line per sequence that is not simply the same. */
export function sequenceChangeLines(changes: SequenceChange[]): string[] {
  const what: Record<SequenceAction, (c: SequenceChange) => string> = {
    set: (c) => `set ${c.schema}.${c.name}: ${c.from ?? 'never used'} -> ${c.source}`,
    same: (c) => `same ${c.schema}.${c.name}: ${c.source}`,
    kept_ahead: (c) => `kept ${c.schema}.${c.name}: the target (${c.from}) is ahead of the source (${c.source}); never lowered`,
    missing_in_target: (c) => `missing ${c.schema}.${c.name}: not in the target`,
    unused: (c) => `unused ${c.schema}.${c.name}: never used on the source`,
  };
  return changes.filter((c) => c.action !== 'same').map((c) => what[c.action](c));
}
