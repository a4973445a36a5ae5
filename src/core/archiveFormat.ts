/**
 * pg_dump's custom archive format (pg_backup_archiver.c, pg_backup_custom.c), versions 1.12-1.16
 * (pg_dump 11 to 18): a reader over a file or over the first bytes of a stream, and the header and
 * table of contents both read the same way.
 */
import { readSync } from 'node:fs';

export const BLK_DATA = 1;
export const BLK_BLOBS = 3;
const POS_SET = 2;

/** The bytes asked for are not there (yet): a file that ends early, or a stream that has not sent them. */
export class ArchiveEndsEarly extends Error {
  constructor() {
    super('archive ends early');
  }
}

/** A forward reader with a window buffer, over a file (fd) or a buffer held in memory. */
export class Reader {
  private buf: Buffer = Buffer.alloc(1 << 16);
  private start = 0; // offset of buf[0]
  private end = 0; // valid bytes in buf
  pos = 0;
  intSize = 4;
  offSize = 8;
  deadline = Number.POSITIVE_INFINITY;
  private constructor(
    private readonly read: (into: Buffer, at: number) => number,
    readonly size: number,
  ) {}

  static ofFile(fd: number, size: number): Reader {
    return new Reader((into, at) => readSync(fd, into, 0, into.length, at), size);
  }

  static ofBuffer(b: Buffer): Reader {
    const r = new Reader(() => 0, b.length);
    r.buf = b;
    r.end = b.length;
    return r;
  }

  private fill(n: number): void {
    if (this.pos >= this.start && this.pos + n <= this.start + this.end) return;
    if (this.pos + n > this.size) throw new ArchiveEndsEarly();
    if (n > this.buf.length) this.buf = Buffer.alloc(n);
    this.start = this.pos;
    this.end = this.read(this.buf, this.pos);
    if (this.end < n) throw new ArchiveEndsEarly();
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

  skip(n: number): void {
    this.pos += n;
    if (this.pos > this.size) throw new ArchiveEndsEarly();
    if (performance.now() > this.deadline) throw new Error('too long to walk');
  }
}

export interface RawTocEntry {
  id: number;
  desc: string;
  tag: string;
  namespace: string;
  /** The catalog OID of the object (for TABLE DATA: the table's). */
  oid: string;
  copyStmt: string;
  /** The entry's SQL (for ENCODING: the SET client_encoding statement). */
  defn: string;
  /** Table access method ('' before archive 1.14 or for the default). */
  tableam: string;
  offset: { set: boolean; at: number };
  hadData: boolean;
  deps: number;
}

export interface RawHeader {
  /** none, gzip, lz4, zstd. */
  compression: 'none' | 'gzip' | 'lz4' | 'zstd' | 'unknown';
  entries: RawTocEntry[];
}

/** The header and table of contents from the reader's start; undefined when it is not a custom archive this reads. */
export function readHeaderAndToc(r: Reader): RawHeader | undefined {
  if (r.bytes(5).toString('latin1') !== 'PGDMP') return undefined;
  const version = [r.byte(), r.byte(), r.byte()];
  // As pg_dump's MAKE_ARCHIVE_VERSION: (major * 256 + minor) * 256 + revision.
  const v = (version[0]! * 256 + version[1]!) * 256 + version[2]!;
  const at = (minor: number): boolean => v >= (1 * 256 + minor) * 256;
  if (version[0] !== 1 || !at(12) || at(17)) return undefined; // PostgreSQL 11 to 18's pg_dump
  r.intSize = r.byte();
  r.offSize = r.byte();
  if (r.byte() !== 1) return undefined; // archCustom
  let compression: RawHeader['compression'];
  if (at(15)) compression = (['none', 'gzip', 'lz4', 'zstd'] as const)[r.byte()] ?? 'unknown';
  else compression = r.int() === 0 ? 'none' : 'gzip'; // a zlib level; -1 is zlib's default
  for (let i = 0; i < 7; i++) r.int(); // the dump's time
  r.str(); // database
  r.str(); // server version
  r.str(); // pg_dump version
  const count = r.int();
  const entries: RawTocEntry[] = [];
  for (let i = 0; i < count; i++) {
    const id = r.int();
    const hadDumper = r.int();
    r.str(); // tableoid
    const oid = r.str() ?? '';
    const tag = r.str() ?? '';
    const desc = r.str() ?? '';
    r.int(); // section
    const defn = r.str() ?? '';
    r.str(); // drop statement
    const copyStmt = r.str() ?? '';
    const namespace = r.str() ?? '';
    r.str(); // tablespace
    const tableam = at(14) ? (r.str() ?? '') : '';
    if (at(16)) r.int(); // relkind
    r.str(); // owner
    r.str(); // with oids
    let deps = 0;
    while (r.str() !== null) deps++; // dependencies
    const offset = r.offset();
    entries.push({ id, desc, tag, namespace, oid, copyStmt, defn, tableam, offset, hadData: hadDumper !== 0, deps });
  }
  return { compression, entries };
}
