/**
 * Progress by bytes, with an ETA: each table weighs its size in the catalog (heap + TOAST), a
 * table counts as done when the tool says so, and the tables being copied right now count by the
 * rows the server reports having processed (pg_stat_progress_copy, PG14+, polled twice a second).
 * A 100 GB table and an empty one no longer weigh the same, and a long COPY moves the bar.
 */
import type pg from 'pg';
import { notExtensionMember, userSchemaSql } from './inspect.js';
import { connectSide, withSide, type Side } from './side.js';
import type { StepProgress } from './step.js';

export interface TableWeight {
  /** schema.name, as pg_dump and pg_restore print it. */
  name: string;
  bytes: number;
  /** The catalog's row estimate (reltuples); 0 or less when unknown. */
  rows: number;
  /** Without rows: the bytes its COPY is expected to move (from the archive), for the share of a table in flight. */
  copyBytes?: number;
}

/**
 * Every ordinary table's size and row estimate, keyed by `schema.name` (what pg_dump copies data of:
 * no materialized views, which are refreshed on restore, no tables of extensions). A table locked by another
 * session makes pg_table_size wait: after 2 s the catalog's page counts stand in.
 */
export async function tableWeights(side: Side, signal?: AbortSignal): Promise<Map<string, TableWeight>> {
  return withSide(
    side,
    async (client) => {
      const query = (bytes: string) =>
        client.query<{ name: string; bytes: string; rows: number }>(
          `SELECT format('%s.%s', n.nspname, c.relname) AS name, ${bytes} AS bytes, c.reltuples::float8 AS rows
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE c.relkind = 'r' AND ${userSchemaSql()} AND ${notExtensionMember('pg_class', 'c.oid')}`,
        );
      await client.query(`SET lock_timeout = '2s'`);
      const { rows } = await query('pg_table_size(c.oid)').catch(async (err: { code?: string }) => {
        if (err.code !== '55P03') throw err;
        return query(
          `(c.relpages::bigint + coalesce((SELECT relpages FROM pg_class tc WHERE tc.oid = c.reltoastrelid), 0)) * current_setting('block_size')::bigint`,
        );
      });
      return new Map(rows.map((r) => [r.name, { name: r.name, bytes: Number(r.bytes), rows: Number(r.rows) }]));
    },
    signal ? { signal } : {},
  );
}

/** The rows and bytes each table being copied on a server has processed so far (pg_stat_progress_copy). */
export type CopySample = Map<string, { tuples: number; bytes: number }>;

/**
 * Polls the COPY commands running in the side's database every `intervalMs` until stopped. A
 * server without pg_stat_progress_copy (before PG14) or a failing poll just stops sampling.
 */
export function watchCopies(side: Side, onSample: (s: CopySample) => void, intervalMs = 500): { stop: () => Promise<void> } {
  let stopped = false;
  let client: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  const poll = async (): Promise<void> => {
    if (stopped || !client) return;
    try {
      const { rows } = await client.query<{ name: string; tuples: string; bytes: string }>(
        `SELECT format('%s.%s', n.nspname, c.relname) AS name, p.tuples_processed AS tuples, p.bytes_processed AS bytes
           FROM pg_stat_progress_copy p JOIN pg_class c ON c.oid = p.relid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE p.datname = current_database() AND p.pid <> pg_backend_pid()`,
      );
      // A table loaded by several sessions at once has a row for each: their sum is the table's.
      const sample: CopySample = new Map();
      for (const r of rows) {
        const had = sample.get(r.name);
        sample.set(r.name, { tuples: (had?.tuples ?? 0) + Number(r.tuples), bytes: (had?.bytes ?? 0) + Number(r.bytes) });
      }
      onSample(sample);
      if (!stopped) timer = setTimeout(() => void poll(), intervalMs);
    } catch {
      stopped = true;
    }
  };
  const started = (async () => {
    try {
      client = await connectSide(side, { applicationName: 'hydra-migrate progress' });
      client.on('error', () => (stopped = true));
      timer = setTimeout(() => void poll(), intervalMs);
    } catch {
      stopped = true;
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await started;
      await client?.end().catch(() => undefined);
    },
  };
}

/**
 * The bytes done of one phase: tables finished, plus the share of their rows the tables in flight
 * have copied (at most 99% until the tool says the table is done). Never goes back; the ETA comes
 * from the rate so far, once there is enough of it to say anything.
 */
export class ByteProgress {
  private readonly total: number;
  private readonly finished = new Set<string>();
  private inFlight: CopySample = new Map();
  private lastDone = 0;
  private extra = 0;
  private current: string | undefined;
  private readonly started = performance.now();

  constructor(
    private readonly phase: string,
    private readonly weights: Map<string, TableWeight>,
    private readonly onProgress: (p: StepProgress) => void,
    /** Bytes of the phase beyond the tables' data (e.g. the indexes a restore builds), done at finish(). */
    private readonly extraBytes = 0,
  ) {
    this.total = [...weights.values()].reduce((s, w) => s + Math.max(0, w.bytes), 0) + extraBytes;
  }

  get bytesTotal(): number {
    return this.total;
  }

  /** The tool started copying `table` (pg_dump's "dumping contents", pg_restore's "processing data"). */
  start(table: string): void {
    this.current = table;
    this.emit();
  }

  /** The tool finished `table`. */
  done(table: string): void {
    this.finished.add(table);
    this.inFlight.delete(table);
    this.emit();
  }

  /** A poll of pg_stat_progress_copy. */
  sample(s: CopySample): void {
    this.inFlight = s;
    this.emit();
  }

  /** Some of the extra bytes are done (an index or constraint built). */
  extraDone(bytes: number): void {
    this.extra = Math.min(this.extraBytes, this.extra + bytes);
    this.emit();
  }

  /** The phase is over: everything counts as done. */
  finish(): void {
    for (const k of this.weights.keys()) this.finished.add(k);
    this.lastDone = this.total;
    // Nothing to move (no tables, only empty ones): done all the same, 100%, not 0 of 0.
    if (this.total <= 0) this.onProgress({ done: 1, total: 1, bytesDone: 0, bytesTotal: 0, phase: this.phase, etaSeconds: 0 });
    else this.onProgress(this.snapshot(this.total));
  }

  private bytesDone(): number {
    let done = 0;
    for (const k of this.finished) done += Math.max(0, this.weights.get(k)?.bytes ?? 0);
    for (const [k, copied] of this.inFlight) {
      if (this.finished.has(k)) continue;
      const w = this.weights.get(k);
      if (!w || w.bytes <= 0) continue;
      const share = Math.min(0.99, w.rows > 0 ? copied.tuples / w.rows : w.copyBytes ? copied.bytes / w.copyBytes : 0);
      done += share * w.bytes;
    }
    return Math.min(done, this.total - this.extraBytes) + this.extra;
  }

  private snapshot(done: number): StepProgress {
    const elapsed = (performance.now() - this.started) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    // Say nothing about the end before 2 s and 2% of the way: early rates mislead.
    const eta = done >= this.total ? 0 : elapsed >= 2 && done >= this.total * 0.02 && rate > 0 ? (this.total - done) / rate : undefined;
    // The table it works on: the one started last while it is not done, else one still being copied.
    const table =
      (this.current !== undefined && !this.finished.has(this.current) ? this.current : undefined) ??
      [...this.inFlight.keys()].find((k) => !this.finished.has(k)) ??
      this.current;
    return {
      done: Math.round(done),
      total: this.total,
      bytesDone: Math.round(done),
      bytesTotal: this.total,
      phase: this.phase,
      ...(eta !== undefined ? { etaSeconds: Math.round(eta) } : {}),
      ...(table ? { label: table } : {}),
    };
  }

  private emit(): void {
    if (this.total <= 0) return;
    const done = Math.max(this.lastDone, this.bytesDone());
    this.lastDone = done;
    this.onProgress(this.snapshot(done));
  }
}

/**
 * Which table pg_dump or pg_restore starts and finishes, from their --verbose lines, for progress
 * by bytes. One job: a table is done when the next one starts. Parallel jobs: "finished item N
 * TABLE DATA tag" names the table without its schema (the TOC's ids tell it when known).
 */
export class TableEvents {
  private previous: string | undefined;
  private readonly started: string[] = [];

  constructor(
    private readonly progress: ByteProgress,
    private readonly parallel: boolean,
    /** dumpId -> schema.name, from the archive's table of contents (a restore). */
    private readonly byId?: Map<number, string>,
  ) {}

  line(line: string): void {
    const start = /(?:dumping contents of table|processing data for table) "(.+)"$/.exec(line)?.[1];
    if (start !== undefined) {
      if (!this.parallel && this.previous !== undefined) this.progress.done(this.previous);
      this.previous = start;
      this.started.push(start);
      this.progress.start(start);
      return;
    }
    if (!this.parallel) return;
    const m = /finished item (\d+) TABLE DATA (.+)$/.exec(line);
    if (!m) return;
    const name = this.byId?.get(Number(m[1])) ?? this.started.find((s) => s === m[2] || s.endsWith(`.${m[2]}`));
    if (name === undefined) return;
    const at = this.started.indexOf(name);
    if (at >= 0) this.started.splice(at, 1);
    this.progress.done(name);
  }
}
