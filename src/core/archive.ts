/**
 * Dump archives: the table of contents printed by `pg_restore -l`, the sha256 of an archive
 * (file or directory), and the grouping of pg_restore's errors by cause with a fix for each.
 */
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTool } from './run.js';
import { cancelledFailure, firstError, type Result } from './step.js';

export interface TocEntry {
  dumpId: number;
  /** e.g. TABLE, TABLE DATA, INDEX, FK CONSTRAINT, SEQUENCE SET, ACCESS METHOD */
  desc: string;
  schema: string;
  /** The object's name as printed (for TABLE DATA: the table name). */
  tag: string;
  owner: string;
  line: string;
}

export interface Toc {
  format?: string;
  entriesDeclared?: number;
  dumpedFromVersion?: string;
  dumpedByVersion?: string;
  database?: string;
  compression?: string;
  /** When pg_dump began, as the archive's header says ("2026-12-02 07:49:11 UTC"). */
  createdAt?: string;
  entries: TocEntry[];
}

/**
 * Kinds of TOC entries whose description has spaces, longest first so that "TABLE DATA" wins over
 * "TABLE". The list covers what pg_dump 12-17 writes.
 */
const DESCS = [
  'MATERIALIZED VIEW DATA',
  'DEFAULT ACL',
  'TABLE DATA',
  'SEQUENCE SET',
  'SEQUENCE OWNED BY',
  'FK CONSTRAINT',
  'CHECK CONSTRAINT',
  'LARGE OBJECT',
  'BLOB METADATA',
  'BLOBS',
  'BLOB',
  'ACCESS METHOD',
  'TEXT SEARCH CONFIGURATION',
  'TEXT SEARCH DICTIONARY',
  'TEXT SEARCH PARSER',
  'TEXT SEARCH TEMPLATE',
  'FOREIGN DATA WRAPPER',
  'FOREIGN TABLE',
  'FOREIGN SERVER',
  'USER MAPPING',
  'MATERIALIZED VIEW',
  'EVENT TRIGGER',
  'OPERATOR CLASS',
  'OPERATOR FAMILY',
  'PUBLICATION TABLES IN SCHEMA',
  'PUBLICATION TABLE',
  'ROW SECURITY',
  'INDEX ATTACH',
  'TABLE ATTACH',
  'DEFAULT',
  'SCHEMA',
  'EXTENSION',
  'COMMENT',
  'CONSTRAINT',
  'INDEX',
  'TABLE',
  'VIEW',
  'SEQUENCE',
  'FUNCTION',
  'PROCEDURE',
  'AGGREGATE',
  'TYPE',
  'DOMAIN',
  'TRIGGER',
  'RULE',
  'POLICY',
  'ACL',
  'CAST',
  'COLLATION',
  'CONVERSION',
  'OPERATOR',
  'PUBLICATION',
  'SUBSCRIPTION',
  'STATISTICS',
  'SHELL TYPE',
  'PROCEDURAL LANGUAGE',
  'TRANSFORM',
  'DATABASE PROPERTIES',
  'DATABASE',
  'ENCODING',
  'STDSTRINGS',
  'SEARCHPATH',
].sort((a, b) => b.length - a.length);

/**
 * Parses the output of `pg_restore -l`. Lines it cannot read are skipped, never guessed. The
 * listing prints names unquoted ("TABLE sp ace t1 owner"), so a schema name with a space cannot
 * be told from the word after it; with the archive's exact schema names (`schemas`, read by
 * readArchive) the longest one that starts the entry is its schema.
 */
export function parseToc(text: string, schemas: string[] = []): Toc {
  const known = [...schemas].sort((a, b) => b.length - a.length);
  const toc: Toc = { entries: [] };
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (line.startsWith(';')) {
      const header = line.replace(/^;\s*/, '');
      let m: RegExpExecArray | null;
      if ((m = /^TOC Entries:\s*(\d+)/.exec(header))) toc.entriesDeclared = Number(m[1]);
      else if ((m = /^Format:\s*(\S+)/.exec(header))) toc.format = m[1];
      else if ((m = /^Dumped from database version:\s*(.+)$/.exec(header))) toc.dumpedFromVersion = m[1]!.trim();
      else if ((m = /^Dumped by pg_dump version:\s*(.+)$/.exec(header))) toc.dumpedByVersion = m[1]!.trim();
      else if ((m = /^dbname:\s*(.+)$/.exec(header))) toc.database = m[1]!.trim();
      else if ((m = /^Compression:\s*(.+)$/.exec(header))) toc.compression = m[1]!.trim();
      else if ((m = /^Archive created at\s+(.+)$/.exec(header))) toc.createdAt = m[1]!.trim();
      continue;
    }
    const m = /^(\d+);\s+\d+\s+\d+\s+(.*)$/.exec(line);
    if (!m) continue;
    const rest = m[2]!;
    const desc = DESCS.find((d) => rest === d || rest.startsWith(d + ' '));
    if (!desc) continue;
    const after = rest.slice(desc.length + 1);
    // "schema tag owner": schema is "-" for global objects; the owner is the last word (may be absent).
    // With a tag and an owner after it, a candidate schema leaves at least two words; prefer the longest such.
    const candidates = after.startsWith('- ') ? [] : known.filter((s) => after === s || after.startsWith(`${s} `));
    const named = candidates.find((s) => after.slice(s.length + 1).includes(' ')) ?? candidates[0];
    const parts = (named !== undefined ? after.slice(named.length + 1) : after).split(' ');
    const schema = named ?? parts.shift() ?? '';
    const owner = parts.length > 1 ? parts.pop()! : '';
    toc.entries.push({ dumpId: Number(m[1]), desc, schema, tag: parts.join(' '), owner, line });
  }
  return toc;
}

/** Entry counts by kind, most frequent first. */
export function summarizeToc(toc: Toc): Array<{ desc: string; count: number }> {
  const counts = new Map<string, number>();
  for (const e of toc.entries) counts.set(e.desc, (counts.get(e.desc) ?? 0) + 1);
  return [...counts].map(([desc, count]) => ({ desc, count })).sort((a, b) => b.count - a.count || a.desc.localeCompare(b.desc));
}

/**
 * Read in 1 MiB chunks into one buffer: through a read stream with its default 64 KiB chunks,
 * hashing a 361 MB directory archive took 1.6 s of this process's CPU on a 2-core machine (the
 * reads, not the sha256), 0.5 s so; the hashes run while pg_dump and the source share those cores.
 */
const HASH_CHUNK = 1024 * 1024;

async function hashFile(hash: Hash, file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(HASH_CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, HASH_CHUNK, null);
      if (bytesRead === 0) return;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
}

/** sha256 of one file, as sha256sum prints it. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await hashFile(hash, path);
  return hash.digest('hex');
}

/**
 * sha256 of a file; of a directory archive, the sha256 of its `sha256sum` listing (every file,
 * sorted by name), so that `(export LC_ALL=C; cd ARCHIVE && sha256sum * | sha256sum)` gives the same.
 * `known` holds the sums of files already hashed (while pg_dump was still writing the others).
 */
export async function archiveSha256(path: string, known?: ReadonlyMap<string, string>): Promise<string> {
  if (!statSync(path).isDirectory()) return sha256File(path);
  const names = readdirSync(path).sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : 1));
  let listing = '';
  for (const name of names) listing += `${known?.get(name) ?? (await sha256File(join(path, name)))}  ${name}\n`;
  return createHash('sha256').update(listing).digest('hex');
}

export function archiveSize(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, f) => sum + statSync(join(path, f)).size, 0);
}

export type RestoreErrorCause =
  'missing_role' | 'missing_extension' | 'access_method' | 'already_exists' | 'permission' | 'missing_object' | 'other';

export interface RestoreErrorGroup {
  cause: RestoreErrorCause;
  title: string;
  fix: string;
  count: number;
  /** Up to 5 examples: the error line and its `Command was:` line. */
  examples: Array<{ error: string; command?: string }>;
  /** Names involved (role names, extension names, ...), distinct. */
  names: string[];
}

const CAUSES: Array<{ cause: RestoreErrorCause; test: RegExp; title: (names: string[]) => string; fix: string }> = [
  {
    cause: 'missing_role',
    test: /role "([^"]+)" does not exist/,
    title: (n) => `Roles missing on the target: ${n.join(', ')}`,
    fix: 'Create these roles on the target first, or restore with --no-owner --no-acl so objects belong to the restoring user.',
  },
  {
    cause: 'missing_extension',
    // "does not exist": what follows a failed CREATE EXTENSION (COMMENT ON EXTENSION, ALTER EXTENSION).
    test: /extension "([^"]+)" is not available|could not open extension control file.*\/([^/]+)\.control|extension "([^"]+)" does not exist/,
    title: (n) => `Extensions not installed on the target server: ${n.join(', ')}`,
    fix: 'Install the extension packages on the target server (managed services: enable them in the provider console), then restore again.',
  },
  {
    cause: 'access_method',
    // pg_restore: "could not set default_table_access_method: ERROR: invalid value for parameter
    // "default_table_access_method": "columnar"" (the DETAIL names the missing access method).
    test: /access method "([^"]+)" does not exist|default_table_access_method": "([^"]+)"/i,
    title: (n) => `Table access method missing on the target: ${n.join(', ')} (tables were created as heap)`,
    fix: 'Install the extension that provides the access method (Hydra: columnar) on the target, or restore with --no-table-access-method on purpose.',
  },
  {
    cause: 'already_exists',
    test: /(?:relation|schema|type|function|constraint|index|sequence|extension|trigger|view|database|role) "?([^"]*)"? already exists|duplicate key value violates unique constraint "([^"]+)"|multiple primary keys/,
    title: (n) =>
      `Objects already exist in the target database${n.length ? ` (${n.slice(0, 5).join(', ')}${n.length > 5 ? ', …' : ''})` : ''}`,
    fix: 'Restore into a new, empty database (Create Database), or drop the existing objects first; never restore twice into the same database.',
  },
  {
    cause: 'permission',
    test: /permission denied to create (?:\w+ )+"([^"]+)"|permission denied (?:for|to) (?:\w+ )?"?([^"\s]+)"?|must be owner of (?:\w+ )?"?([^"\s]+)"?|must be superuser/,
    title: (n) => `The restoring user lacks privileges${n.length ? ` (${n.slice(0, 5).join(', ')})` : ''}`,
    fix: 'Restore as the database owner or a role with the needed privileges, or use --no-owner --no-acl.',
  },
  {
    cause: 'missing_object',
    test: /(?:relation|schema|type|function|collation) "([^"]+)" does not exist/,
    title: (n) => `Objects the dump depends on are missing on the target: ${n.slice(0, 5).join(', ')}`,
    fix: 'Usually a consequence of an earlier error (a missing extension or schema): fix the first error and restore again into a fresh database.',
  },
];

/**
 * Groups the `pg_restore: error:` messages of a run by cause. The `Command was:` line following
 * an error is attached to it.
 */
export function groupRestoreErrors(lines: string[]): { groups: RestoreErrorGroup[]; ignoredReported?: number; total: number } {
  const groups = new Map<RestoreErrorCause, RestoreErrorGroup>();
  let ignoredReported: number | undefined;
  let total = 0;
  let last: { error: string; command?: string } | undefined;
  for (const line of lines) {
    const ignored = /errors ignored on restore: (\d+)/.exec(line);
    if (ignored) {
      ignoredReported = Number(ignored[1]);
      continue;
    }
    const cmd = /^\s*Command was: (.*)$/.exec(line);
    if (cmd && last) {
      last.command = cmd[1]!.trim();
      continue;
    }
    if (!/^pg_restore: error: /.test(line)) {
      if (last && /^(DETAIL|HINT|LINE \d+):/.test(line.trim())) last.error += ` ${line.trim()}`;
      continue;
    }
    total++;
    const text = line.replace(/^pg_restore: error: (could not execute query: )?/, '');
    const match = CAUSES.find((c) => c.test.test(text));
    const cause = match?.cause ?? 'other';
    let group = groups.get(cause);
    if (!group) {
      group = {
        cause,
        title: '',
        fix: match?.fix ?? 'See the full output above for the statement that failed.',
        count: 0,
        examples: [],
        names: [],
      };
      groups.set(cause, group);
    }
    group.count++;
    const m = match ? match.test.exec(text) : null;
    const name = m ? (m.slice(1).find((x) => x !== undefined) ?? '') : '';
    if (name && !group.names.includes(name)) group.names.push(name);
    last = { error: text };
    if (group.examples.length < 5) group.examples.push(last);
  }
  for (const g of groups.values()) {
    const c = CAUSES.find((x) => x.cause === g.cause);
    g.title = c ? c.title(g.names) : `Other errors (${g.count})`;
  }
  const out: { groups: RestoreErrorGroup[]; ignoredReported?: number; total: number } = {
    groups: [...groups.values()].sort((a, b) => b.count - a.count),
    total,
  };
  if (ignoredReported !== undefined) out.ignoredReported = ignoredReported;
  return out;
}

/** The SQL identifier at the start of `text` (quoted or not), unquoted. */
function leadingIdentifier(text: string): string | undefined {
  const quoted = /^"((?:[^"]|"")*)"/.exec(text);
  if (quoted) return quoted[1]!.replace(/""/g, '"');
  return /^[^\s;]+/.exec(text)?.[0];
}

/**
 * The exact names of the archive's schemas, from the SQL pg_restore writes for each SCHEMA entry
 * (a `-L` list of those entries only). Only needed when a schema entry's listing is ambiguous (a
 * name with a space); empty when none is, or when the archive cannot be read that way.
 */
async function exactSchemaNames(pgRestore: string, path: string, toc: Toc, signal?: AbortSignal): Promise<string[]> {
  const entries = toc.entries.filter((e) => e.desc === 'SCHEMA');
  if (!entries.some((e) => e.tag.includes(' '))) return [];
  const dir = mkdtempSync(join(tmpdir(), 'hm-schemas-'));
  try {
    const list = join(dir, 'schemas.list');
    writeFileSync(list, entries.map((e) => e.line).join('\n') + '\n');
    const run = await runTool(pgRestore, ['--schema-only', '--no-owner', '--no-acl', `--use-list=${list}`, '--file=-', path], {
      captureStdout: true,
      stopWithUs: true,
      ...(signal ? { signal } : {}),
    });
    if (run.exitCode !== 0) return [];
    const names: string[] = [];
    for (const m of run.stdout.matchAll(/^CREATE SCHEMA (.+);$/gm)) {
      const name = leadingIdentifier(m[1]!);
      if (name !== undefined) names.push(name);
    }
    return names;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads an archive's table of contents with pg_restore -l; explains files that are not archives. */
export async function readArchive(pgRestore: string, path: string, signal?: AbortSignal): Promise<Result<Toc>> {
  if (!existsSync(path)) {
    return {
      ok: false,
      failure: { problem: 'archive_missing', message: `There is no archive at ${path}.`, hint: 'Check the path, or run the dump first.' },
    };
  }
  const run = await runTool(pgRestore, ['--list', path], { captureStdout: true, ...(signal ? { signal } : {}) });
  if (run.cancelled)
    return { ok: false, failure: cancelledFailure('Reading the archive was cancelled.', 'Run the step again when ready.') };
  if (run.exitCode === 0) {
    const plain = parseToc(run.stdout);
    const schemas = await exactSchemaNames(pgRestore, path, plain, signal);
    return { ok: true, value: schemas.length ? parseToc(run.stdout, schemas) : plain };
  }
  const text = run.stderrLines.join('\n');
  if (/does not appear to be a valid archive|input file is too short|unsupported version|did not find magic string/.test(text)) {
    return {
      ok: false,
      failure: {
        problem: 'not_an_archive',
        message: `${path} is not a pg_dump archive (custom or directory format).`,
        hint: 'Choose a file made by pg_dump -Fc or a directory made by pg_dump -Fd. Plain SQL dumps are restored with psql.',
      },
    };
  }
  if (/could not read from input file|end of file|unexpected end/i.test(text)) {
    return {
      ok: false,
      failure: {
        problem: 'truncated_archive',
        message: `${path} is truncated: the archive ends before its table of contents does.`,
        hint: 'The dump or the copy did not finish. Dump again (or copy again) and compare the sha256.',
      },
    };
  }
  return {
    ok: false,
    failure: {
      problem: 'archive_unreadable',
      message: `pg_restore could not read ${path}: ${firstError(run) ?? text.trim()}`,
      hint: 'Check the file and that pg_restore is at least as new as the pg_dump that wrote it.',
    },
  };
}
