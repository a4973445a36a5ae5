/**
 * How many bytes each table's data takes in an archive, so a restore without the source at hand
 * (Restore Dump…, `hydra-migrate restore`) still shows its progress by bytes: a 100 GB table and an
 * empty one do not weigh the same. Directory archives: each data file's size. Custom archives: the
 * table of contents read from the file's own header (pg_dump's archive format, versions 1.12-1.16),
 * then each data block's size from the offsets pg_dump wrote, or, for an archive written through a
 * pipe (no offsets), by walking the data blocks' chunk headers. What is read is checked against
 * `pg_restore -l`'s entries: any doubt and the answer is undefined (the restore then counts entries).
 */
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Toc } from './archive.js';
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

const BLK_DATA = 1;
const BLK_BLOBS = 3;
const POS_SET = 2;

/** A forward reader over a file with a window buffer. */
class Reader {
  private buf = Buffer.alloc(1 << 16);
  private start = 0; // file offset of buf[0]
  private end = 0; // valid bytes in buf
  pos = 0;
  intSize = 4;
  offSize = 8;
  constructor(
    private readonly fd: number,
    readonly size: number,
  ) {}

  private fill(n: number): void {
    if (this.pos >= this.start && this.pos + n <= this.start + this.end) return;
    if (n > this.buf.length) this.buf = Buffer.alloc(n);
    this.start = this.pos;
    this.end = readSync(this.fd, this.buf, 0, this.buf.length, this.pos);
    if (this.end < n) throw new Error('archive ends early');
  }

  byte(): number {
    this.fill(1);
    return this.buf[this.pos++ - this.start]!;
  }

  bytes(n: number): Buffer {
    this.fill(n);
    const b = this.buf.subarray(this.pos - this.start, this.pos - this.start + n);
    this.pos += n;
    return b;
  }

  int(): number {
    const sign = this.byte();
    let v = 0;
    for (let i = 0; i < this.intSize; i++) v += this.byte() * 2 ** (8 * i);
    return sign ? -v : v;
  }

  str(): string | null {
    const n = this.int();
    if (n < 0) return null;
    return n === 0 ? '' : this.bytes(n).toString('utf8');
  }

  offset(): { set: boolean; at: number } {
    const flag = this.byte();
    let v = 0;
    for (let i = 0; i < this.offSize; i++) v += this.byte() * 2 ** (8 * i);
    return { set: flag === POS_SET, at: v };
  }

  deadline = Number.POSITIVE_INFINITY;

  skip(n: number): void {
    this.pos += n;
    if (this.pos > this.size) throw new Error('archive ends early');
    if (performance.now() > this.deadline) throw new Error('too long to walk');
  }
}

interface CustomSizes {
  entries: Map<number, number>;
  desc: Map<number, string>;
}

function customDataSizes(path: string): CustomSizes | undefined {
  const fd = openSync(path, 'r');
  try {
    const r = new Reader(fd, fstatSync(fd).size);
    if (r.bytes(5).toString('latin1') !== 'PGDMP') return undefined;
    const version = [r.byte(), r.byte(), r.byte()];
    // As pg_dump's MAKE_ARCHIVE_VERSION: (major * 256 + minor) * 256 + revision.
    const v = (version[0]! * 256 + version[1]!) * 256 + version[2]!;
    const at = (minor: number): boolean => v >= (1 * 256 + minor) * 256;
    if (version[0] !== 1 || !at(12) || at(17)) return undefined; // PostgreSQL 11 to 18's pg_dump
    r.intSize = r.byte();
    r.offSize = r.byte();
    if (r.byte() !== 1) return undefined; // archCustom
    if (at(15)) r.byte();
    else r.int(); // compression
    for (let i = 0; i < 7; i++) r.int(); // the dump's time
    r.str(); // database
    r.str(); // server version
    r.str(); // pg_dump version
    const count = r.int();
    const entries: { id: number; desc: string; offset: { set: boolean; at: number }; hadData: boolean; deps: number }[] = [];
    for (let i = 0; i < count; i++) {
      const id = r.int();
      const hadDumper = r.int();
      r.str(); // tableoid
      r.str(); // oid
      r.str(); // tag
      const desc = r.str() ?? '';
      r.int(); // section
      r.str(); // definition
      r.str(); // drop statement
      r.str(); // copy statement
      r.str(); // namespace
      r.str(); // tablespace
      if (at(14)) r.str(); // table access method
      if (at(16)) r.int(); // relkind
      r.str(); // owner
      r.str(); // with oids
      let deps = 0;
      while (r.str() !== null) deps++; // dependencies
      const offset = r.offset();
      entries.push({ id, desc, offset, hadData: hadDumper !== 0, deps });
    }
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
