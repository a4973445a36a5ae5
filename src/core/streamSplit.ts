/**
 * The streamed migration's parallel load of its dominant table: the stream's table of contents
 * gives the table's archive entry, pg_restore gets a --use-list without that entry's data (it
 * reads past it), and the entry's bytes go to a SplitLoad of N sessions as they pass. Used only
 * for a heap table of a gzip or uncompressed archive; anything else and the stream is restored by
 * pg_restore alone, as without it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArchiveDemux } from './archiveDemux.js';
import type { RawHeader } from './archiveFormat.js';
import { budgetedJobs } from './inspect.js';
import { onDatabase, type Side } from './side.js';
import { PartlyLoaded, SplitLoad } from './splitLoad.js';

export interface SplitRequest {
  /** The table's pg_class OID on the source (its archive entry carries it). */
  oid: number;
  /** schema.table, for messages. */
  name: string;
  sessions: number;
}

export interface SplitOutcome {
  table: string;
  sessions: number;
  rows?: number;
  /** Rows each session loaded. */
  perSession?: number[];
  error?: string;
  /** Some sessions had committed before the failure: the table holds part of its rows. */
  partly?: boolean;
}

export class StreamSplit {
  private readonly demux: ArchiveDemux;
  private opening?: Promise<SplitLoad | undefined>;
  private load?: SplitLoad;
  private dir?: string;
  private ended = false;
  private tocSeen!: (list: string | undefined) => void;
  private openError?: string;
  /** The --use-list file once the table of contents has passed (undefined: pg_restore restores all). */
  readonly list: Promise<string | undefined>;
  /** Whether the table's rows are loaded here (known once `list` has resolved). */
  active = false;
  /** How many sessions load them. */
  sessions: number;

  constructor(
    private readonly request: SplitRequest,
    target: Side,
    restoreSettings: Record<string, string> | undefined,
  ) {
    this.list = new Promise((resolve) => (this.tocSeen = resolve));
    this.sessions = request.sessions;
    // The free connection slots, read while pg_dump starts: the sessions, pg_restore's and the progress watcher's.
    const budget = budgetedJobs(onDatabase(target, 'postgres'), request.sessions, 2);
    budget.catch(() => undefined);
    this.demux = new ArchiveDemux(
      (h) => {
        const entry = this.entryOf(h);
        if (!entry) {
          this.tocSeen(undefined);
          return 0;
        }
        const archiveSettings = h.entries
          .filter((e) => ['ENCODING', 'STDSTRINGS', 'SEARCHPATH'].includes(e.desc) && e.defn)
          .map((e) => e.defn.trim().replace(/;$/, ''));
        // Only with the sessions open is pg_restore told to skip the rows (none open: it loads them itself).
        this.opening = budget
          .then((sessions) =>
            sessions < 2
              ? undefined
              : SplitLoad.open({
                  target,
                  copyStmt: entry.copyStmt,
                  table: request.name,
                  qualifiedName: [entry.namespace, entry.tag].map((x) => `"${x.replace(/"/g, '""')}"`).join('.'),
                  sessions,
                  compressed: h.compression === 'gzip',
                  archiveSettings,
                  ...(restoreSettings ? { restoreSettings } : {}),
                }),
          )
          .catch((err: Error) => {
            this.openError = err.message;
            return undefined;
          });
        void this.opening.then(async (load) => {
          if (!load) return this.tocSeen(undefined);
          try {
            this.sessions = load.size;
            this.dir = mkdtempSync(join(tmpdir(), 'hm-list-'));
            const file = join(this.dir, 'load.list');
            const oneLine = (t: string): string => t.replace(/[\r\n]+/g, ' ');
            writeFileSync(
              file,
              h.entries
                .filter((e) => e.id !== entry.id)
                .map((e) => `${e.id}; ${oneLine(e.desc)} ${oneLine(e.namespace)} ${oneLine(e.tag)}`)
                .join('\n') + '\n',
              { mode: 0o600 },
            );
            this.active = true;
            this.tocSeen(file);
          } catch (err) {
            // No list, no parallel load: pg_restore loads the table itself.
            this.openError = (err as Error).message;
            this.opening = Promise.resolve(undefined);
            this.cleanup();
            await load.abort();
            this.tocSeen(undefined);
          }
        });
        return entry.id;
      },
      async (bytes) => {
        if (!this.active) return; // pg_restore loads them
        const load = (this.load ??= await this.opening);
        await load?.write(bytes);
      },
      () => (this.ended = true),
    );
  }

  /** The table's TABLE DATA entry, if this stream carries it in a form loaded here. */
  private entryOf(h: RawHeader): RawHeader['entries'][number] | undefined {
    if (h.compression !== 'gzip' && h.compression !== 'none') return undefined;
    // The COPY statement is sent as UTF-8: with another client_encoding, only an ASCII one reads the same.
    const encoding = /'([^']*)'/.exec(h.entries.find((e) => e.desc === 'ENCODING')?.defn ?? '')?.[1] ?? 'UTF8';
    const oid = String(this.request.oid);
    const table = h.entries.find((e) => e.desc === 'TABLE' && e.oid === oid);
    if (!table || (table.tableam !== '' && table.tableam !== 'heap')) return undefined;
    const data = h.entries.find((e) => e.desc === 'TABLE DATA' && e.oid === oid);
    if (!data || !/^COPY /.test(data.copyStmt)) return undefined;
    return /^UTF-?8$/i.test(encoding) || /^[\x00-\x7f]*$/.test(data.copyStmt) ? data : undefined;
  }

  /**
   * Every byte of the stream, in order (waits while the sessions are behind). The push that
   * completes the table of contents returns at once: then `decided`, and the data after it is
   * read on the next push (an empty one will do).
   */
  async push(chunk: Buffer): Promise<void> {
    await this.demux.push(chunk);
    if (this.demux.lost && !this.active) this.tocSeen(undefined);
  }

  get decided(): boolean {
    return this.demux.decided;
  }

  /** pg_restore created the schema (its first data entry, or it ended): the sessions may COPY. */
  schemaReady(): void {
    if (!this.active) return;
    void this.opening?.then((load) => load?.start());
  }

  /** The stream has ended: the sessions finish and commit, or everything they loaded is rolled back. */
  async finish(): Promise<SplitOutcome> {
    const out: SplitOutcome = { table: this.request.name, sessions: this.sessions };
    try {
      const load = await this.opening;
      if (!load) return { ...out, error: `its sessions could not connect: ${this.openError ?? 'unknown error'}` };
      if (this.demux.lost || !this.ended) {
        await load.abort();
        return {
          ...out,
          error: `its data could not be followed in the stream (${this.demux.lost ?? 'it ended before the table’s data did'})`,
        };
      }
      const perSession = await load.end();
      return { ...out, rows: perSession.reduce((a, b) => a + b, 0), perSession };
    } catch (err) {
      return { ...out, error: (err as Error).message, ...(err instanceof PartlyLoaded && err.partly ? { partly: true } : {}) };
    } finally {
      this.cleanup();
    }
  }

  /** Stops the sessions (their transactions rolled back). */
  async abort(): Promise<void> {
    const load = await this.opening;
    await load?.abort();
    this.cleanup();
  }

  private cleanup(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
