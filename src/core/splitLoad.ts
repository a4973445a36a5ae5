/**
 * One large table's rows loaded by N sessions at once, fed from the streamed archive: the target
 * parses, checks and writes COPY rows on one core per session, and for a table that holds most of
 * the data that single core is what the whole migration waits on (pg_restore cannot split a
 * table). The table's stored data is inflated here, cut at row ends and spread over the sessions,
 * each in its own transaction; all commit only once every session has taken its share, so the
 * table ends up with all of its rows or none (a cut, a cancel or a failure rolls every session
 * back, which is what a resume expects of a table: empty or complete).
 */
import { createInflate, type Inflate } from 'node:zlib';
import type pg from 'pg';
import type { from as CopyFrom } from 'pg-copy-streams';
import { connectSide, type Side } from './side.js';
import { settled } from './streamParts.js';

export interface SplitLoadOptions {
  target: Side;
  /** The archive entry's COPY statement ("COPY public.t (a, b) FROM stdin;"). */
  copyStmt: string;
  /** For messages: schema.table. */
  table: string;
  /** The table, quoted for SQL ("schema"."table"). */
  qualifiedName: string;
  sessions: number;
  /** The archive's data is zlib-compressed (gzip archives); else plain COPY text. */
  compressed: boolean;
  /** The archive's session statements (client_encoding, standard_conforming_strings, search_path). */
  archiveSettings: string[];
  /** Settings of the restore sessions (as pg_restore's PGOPTIONS). */
  restoreSettings?: Record<string, string>;
}

/** What pg_restore sets on its own sessions before it loads data (pg_backup_archiver.c, _doSetFixedOutputState). */
const RESTORE_SESSION = [
  'SET statement_timeout = 0',
  'SET lock_timeout = 0',
  'SET idle_in_transaction_session_timeout = 0',
  'SET check_function_bodies = false',
  'SET xmloption = content',
  'SET client_min_messages = warning',
  'SET row_security = off',
  // PostgreSQL 17+ (pg_restore 17 sets it; the sessions' transactions last the whole dump).
  "SELECT pg_catalog.set_config('transaction_timeout', '0', false) WHERE current_setting('server_version_num')::int >= 170000",
];

/** The end-of-data marker and the blank lines after it fit in this many bytes. */
const END_MARKER_ROOM = 8;

/** The rows held back at the end, without pg_dump's end-of-data marker (`\.` on its own line, then blank lines). */
export function withoutEndMarker(tail: Buffer): Buffer {
  const text = tail.toString('latin1'); // one char per byte: the bytes come back unchanged
  const m = /(^|\n)\\\.\n*$/.exec(text);
  return m ? Buffer.from(text.slice(0, m.index + m[1]!.length), 'latin1') : tail;
}

/** Bytes queued for one session before the stream waits for it. */
const HIGH_WATER = 1 << 20;

interface Session {
  client: pg.Client;
  copy?: ReturnType<typeof CopyFrom>;
  failed?: Error;
}

/** The load failed at its commit: `partly` when some sessions had committed (the table holds some of its rows). */
export class PartlyLoaded extends Error {
  constructor(
    message: string,
    readonly partly: boolean,
  ) {
    super(message);
  }
}

export class SplitLoad {
  private carry: Buffer[] = [];
  private inflater?: Inflate;
  private started = false;
  private release!: () => void;
  /** Resolved when the sessions have begun their COPY, or the load was stopped. */
  private readonly go = new Promise<void>((resolve) => (this.release = resolve));
  private failure?: Error;
  private constructor(
    private readonly o: SplitLoadOptions,
    private readonly sessions: Session[],
    private readonly copyFrom: typeof CopyFrom,
  ) {}

  /** Connects the sessions and opens their transactions (the table need not exist yet). */
  static async open(o: SplitLoadOptions): Promise<SplitLoad> {
    // Loaded here, not at the top: the extension's activation does not pay for it.
    const { from: copyFrom } = await import('pg-copy-streams');
    const clients = await Promise.allSettled(
      // Keepalives: a session may wait in its COPY for a long time before the table's rows arrive.
      Array.from({ length: o.sessions }, () => connectSide(o.target, { applicationName: 'hydra-migrate load', keepAlive: true })),
    );
    const ok = clients.flatMap((c) => (c.status === 'fulfilled' ? [c.value] : []));
    const refused = clients.find((c) => c.status === 'rejected');
    if (refused) {
      await Promise.all(ok.map((c) => c.end().catch(() => undefined)));
      throw refused.reason;
    }
    const load = new SplitLoad(
      o,
      ok.map((client) => ({ client })),
      copyFrom,
    );
    const settings = [
      ...RESTORE_SESSION,
      ...o.archiveSettings,
      ...Object.entries(o.restoreSettings ?? {}).map(([k, v]) => `SET ${k} = '${v.replace(/'/g, "''")}'`),
    ];
    try {
      await Promise.all(load.sessions.map((s) => s.client.query(['BEGIN', ...settings].join(';\n'))));
    } catch (err) {
      await load.abort();
      throw err;
    }
    return load;
  }

  /** How many sessions load the rows. */
  get size(): number {
    return this.sessions.length;
  }

  /** The table exists on the target (pg_restore created it): the sessions start their COPY. */
  start(): void {
    if (this.started || this.failure) return;
    this.started = true;
    const text = this.o.copyStmt.trim().replace(/;$/, '');
    for (const s of this.sessions) {
      s.copy = s.client.query(this.copyFrom(text, { highWaterMark: HIGH_WATER }));
      s.copy.on('error', (err: Error) => {
        s.failed ??= err;
        // The others stop at once too (never idle in their COPY until the dump ends): all roll back.
        void this.abort(err);
      });
    }
    if (this.o.compressed) {
      this.inflater = createInflate({ chunkSize: 256 * 1024 });
      this.inflater.on('error', (err) => (this.failure ??= err));
      this.inflater.on('data', (text: Buffer) => {
        if (!this.dispatch(text)) {
          this.inflater!.pause();
          void this.roomInSessions().then(() => this.inflater?.resume());
        }
      });
    }
    this.release();
  }

  /** Why the load failed, if it did (then the rest of the stream is dropped). */
  get failed(): Error | undefined {
    return this.failure;
  }

  /** The next stored bytes of the table's data. Waits while the sessions are behind. */
  async write(stored: Buffer): Promise<void> {
    await this.go;
    if (this.failure) return;
    if (this.inflater) {
      if (!this.inflater.write(stored)) await settled(this.inflater, 'drain');
    } else if (!this.dispatch(stored)) await this.roomInSessions();
  }

  /**
   * Rows that end at least END_MARKER_ROOM bytes before the end of what has arrived go to the
   * session with the least queued; the rest waits for more, as it may be pg_dump's end-of-data
   * marker (`\.` and blank lines, written into the archive after the last row), which is dropped
   * at the end. false: a session's queue is full.
   */
  private dispatch(text: Buffer): boolean {
    // A long value (no row end in this piece) is only kept, never copied again while it grows.
    if (text.lastIndexOf(0x0a) < 0) {
      this.carry.push(text);
      return true;
    }
    const buf = this.carry.length ? Buffer.concat([...this.carry, text]) : text;
    this.carry = [];
    const limit = buf.length - END_MARKER_ROOM;
    const cut = limit > 0 ? buf.lastIndexOf(0x0a, limit - 1) + 1 : 0;
    if (cut <= 0) {
      this.carry = [buf];
      return true;
    }
    this.carry = [buf.subarray(cut)];
    return this.send(buf.subarray(0, cut));
  }

  private send(rows: Buffer): boolean {
    if (this.failure) return true;
    const s = this.sessions.reduce((a, b) => (b.copy!.writableLength < a.copy!.writableLength ? b : a));
    return s.copy!.write(rows);
  }

  private async roomInSessions(): Promise<void> {
    while (!this.failure) {
      const busy = this.sessions.filter((s) => s.copy!.writableNeedDrain && !s.failed);
      if (busy.length < this.sessions.length) return;
      // The first session to drain (or fail) ends the wait; every listener is taken off again.
      await new Promise<void>((resolve) => {
        const done = (): void => {
          for (const s of busy) s.copy!.off('drain', done).off('error', done).off('close', done);
          resolve();
        };
        for (const s of busy) s.copy!.on('drain', done).on('error', done).on('close', done);
      });
    }
  }

  /** The table's data has ended: every session finishes its COPY, then all commit. Rows loaded by each session. */
  async end(): Promise<number[]> {
    this.start();
    if (this.inflater && !this.failure) {
      const ended = settled(this.inflater, 'end');
      this.inflater.end();
      await ended;
    }
    const rest = withoutEndMarker(Buffer.concat(this.carry));
    if (!this.failure && rest.length) this.send(rest);
    this.carry = [];
    await Promise.all(
      this.sessions.map(async (s) => {
        if (s.failed || !s.copy) return;
        const finished = settled(s.copy, 'finish');
        s.copy.end();
        await finished;
      }),
    );
    if (this.failure) {
      await this.abort();
      throw this.failure;
    }
    const commits = await Promise.allSettled(this.sessions.map((s) => s.client.query('COMMIT')));
    await Promise.all(this.sessions.map((s) => s.client.end().catch(() => undefined)));
    const refused = commits.find((c) => c.status === 'rejected');
    if (refused) {
      // Some sessions may have committed (a lost reply cannot tell): the table is emptied, so it is never taken as loaded.
      const emptied = await connectSide(this.o.target, { applicationName: 'hydra-migrate load' })
        .then(async (c) => {
          try {
            await c.query(`TRUNCATE ONLY ${this.o.qualifiedName}`);
            return true;
          } finally {
            await c.end().catch(() => undefined);
          }
        })
        .catch(() => false);
      throw new PartlyLoaded(
        `committing failed (${String(refused.reason)})${emptied ? '; the rows of the sessions that had committed were removed again' : ''}`,
        !emptied,
      );
    }
    return this.sessions.map((s) => s.copy!.rowCount);
  }

  /** Rolls every session back (their connections closed): none of the table's rows stay. */
  async abort(reason?: Error): Promise<void> {
    this.failure ??= reason ?? new Error('the load was stopped');
    this.release();
    this.inflater?.destroy();
    await Promise.all(this.sessions.map((s) => s.client.end().catch(() => undefined)));
  }
}
