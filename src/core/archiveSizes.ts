/**
 * How many bytes each table's data takes in an archive, so a restore without the source at hand
 * (Restore Dump…, `hydra-migrate restore`) still shows its progress by bytes: a 100 GB table and an
 * empty one do not weigh the same. Directory archives: each data file's size. Custom archives: the
 * table of contents read from the file's own header (pg_dump's archive format, versions 1.12-1.16),
 * then each data block's size from the offsets pg_dump wrote, or, for an archive written through a
 * pipe (no offsets), by walking the data blocks' chunk headers. What is read is checked against
 * `pg_restore -l`'s entries: any doubt and the answer is undefined (the restore then counts entries).
 */
import { closeSync, existsSync, fstatSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Toc } from './archive.js';
import { BLK_BLOBS, BLK_DATA, Reader, readHeaderAndToc } from './archiveFormat.js';
import type { TableWeight } from './progress.js';

/** dumpId → bytes of its data in the archive (compressed as stored), for the TABLE DATA entries of `toc`. */
export function archiveDataSizes(path: string, toc: Toc): Map<number, number> | undefined {
  try {
    const tables = toc.entries.filter((e) => e.desc === 'TABLE DATA');
    if (statSync(path).isDirectory()) {
      const out = new Map<number, number>();
      for (const e of tables) {
        const file = DATA_FILE_SUFFIXES.map((x) => join(path, `${e.dumpId}.dat${x}`)).find((f) => existsSync(f));
        if (!file) return undefined; // not this archive's table of contents
        out.set(e.dumpId, statSync(file).size);
      }
      return out;
    }
    const sizes = customDataSizes(path);
    if (!sizes) return undefined;
    const out = new Map<number, number>();
    for (const e of tables) {
      const bytes = sizes.entries.get(e.dumpId);
      if (bytes === undefined || sizes.desc.get(e.dumpId) !== e.desc) return undefined;
      out.set(e.dumpId, bytes);
    }
    return out;
  } catch {
    return undefined;
  }
}

/** A directory archive's data file: N.dat, compressed N.dat.gz (gzip), .lz4 or .zst (PostgreSQL 16+). */
export const DATA_FILE_SUFFIXES = ['', '.gz', '.lz4', '.zst'];

/** Walking a piped archive's blocks reads most of the file: given up after this long (then entries are counted). */
const WALK_MS = 1000;

interface CustomSizes {
  entries: Map<number, number>;
  desc: Map<number, string>;
}

function customDataSizes(path: string): CustomSizes | undefined {
  const fd = openSync(path, 'r');
  try {
    const r = Reader.ofFile(fd, fstatSync(fd).size);
    const header = readHeaderAndToc(r);
    if (!header) return undefined;
    const { entries } = header;
    const out: CustomSizes = { entries: new Map(), desc: new Map(entries.map((e) => [e.id, e.desc])) };
    const withData = entries.filter((e) => e.hadData);
    if (withData.length && withData.every((e) => e.offset.set)) {
      // Written to a file: pg_dump went back and wrote where each block starts.
      const starts = withData.map((e) => ({ id: e.id, at: e.offset.at })).sort((a, b) => a.at - b.at);
      for (const [i, s] of starts.entries()) out.entries.set(s.id, (starts[i + 1]?.at ?? r.size) - s.at);
      return out;
    }
    // Written through a pipe: the blocks follow the table of contents, each with its dumpId (within WALK_MS).
    r.deadline = performance.now() + WALK_MS;
    while (r.pos < r.size) {
      const from = r.pos;
      const type = r.byte();
      const id = r.int();
      if (type === BLK_DATA) skipChunks(r);
      else if (type === BLK_BLOBS) while (r.int() !== 0) skipChunks(r);
      else return undefined;
      out.entries.set(id, r.pos - from);
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

function skipChunks(r: Reader): void {
  for (let n = r.int(); n !== 0; n = r.int()) {
    if (n < 0) throw new Error('bad chunk');
    r.skip(n);
  }
}

/** COPY text bytes per stored byte of a compressed archive's table data (gzip of typical rows: 3-6). */
const COMPRESSION_RATIO = 4;

/**
 * Weights for a restore's progress from the archive alone: each table's data as stored, and its
 * index and constraint builds a quarter of the data again (their real size is not in the archive).
 * A table in flight moves by the bytes its COPY has taken against its stored size times
 * COMPRESSION_RATIO (1 for an uncompressed archive), at most 99% until it is done.
 */
export function archiveWeights(path: string, toc: Toc): { weights: Map<string, TableWeight>; indexBytes: number } | undefined {
  const sizes = archiveDataSizes(path, toc);
  if (!sizes) return undefined;
  const ratio = toc.compression === undefined || /^(0|none)$/i.test(toc.compression) ? 1 : COMPRESSION_RATIO;
  const weights = new Map<string, TableWeight>();
  let data = 0;
  for (const e of toc.entries) {
    if (e.desc !== 'TABLE DATA') continue;
    const name = `${e.schema}.${e.tag}`;
    const bytes = sizes.get(e.dumpId) ?? 0;
    data += bytes;
    weights.set(name, { name, bytes, rows: 0, copyBytes: bytes * ratio });
  }
  return { weights, indexBytes: Math.round(data / 4) };
}
