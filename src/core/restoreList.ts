/**
 * Selective restores by schema: the entries of an archive's table of contents that a restore of
 * some schemas keeps, as a pg_restore --use-list.
 */
import type { Toc, TocEntry } from './archive.js';
import { quoteIdent } from './catalog.js';

/**
 * A pg_restore --use-list that keeps only the given schemas: their SCHEMA entries, everything
 * inside them, and the database-wide entries (extensions, access methods, large objects) they
 * may need.
 */
export function useListForSchemas(toc: Toc, schemas: string[]): string {
  return (
    entriesForSchemas(toc, schemas)
      .map((e) => e.line)
      .join('\n') + '\n'
  );
}

/** The entries a restore of these schemas keeps (see useListForSchemas). */
export function entriesForSchemas(toc: Toc, schemas: string[]): TocEntry[] {
  const keep = new Set(schemas);
  const global = new Set(['EXTENSION', 'ACCESS METHOD', 'COLLATION', 'ENCODING', 'STDSTRINGS', 'SEARCHPATH', 'DATABASE PROPERTIES']);
  // COMMENT and ACL entries of a kept schema (or an extension) are listed as "- SCHEMA name".
  // Their tags name the object as pg_dump quotes it: SCHEMA inventory, SCHEMA "Sales", SCHEMA "sp ace".
  const onKept = (tag: string): boolean =>
    tag.startsWith('EXTENSION ') || [...keep].some((k) => tag === `SCHEMA ${k}` || tag === `SCHEMA ${quoteIdent(k)}`);
  return toc.entries.filter(
    (e) =>
      keep.has(e.schema) ||
      (e.desc === 'SCHEMA' && keep.has(e.tag)) ||
      (e.schema === '-' && global.has(e.desc)) ||
      ((e.desc === 'COMMENT' || e.desc === 'ACL') && e.schema === '-' && onKept(e.tag)),
  );
}

/** The schemas an archive holds: those with objects and those with a SCHEMA entry (empty ones too). */
export function schemasInArchive(toc: Toc): Set<string> {
  const out = new Set(toc.entries.map((e) => e.schema).filter((s) => s !== '-'));
  for (const e of toc.entries) if (e.desc === 'SCHEMA') out.add(e.tag);
  return out;
}
