/**
 * The typed arguments of the step commands: what their prompts produce, what automation (the
 * exported API) passes, and what a run record keeps to run the step again. No secrets.
 */
import type { ArchiveFormat } from '../../core/dump.js';
import type { TransferOptions } from '../../core/transfer.js';

export interface DumpArgs {
  /** Folder for a new archive name (a re-run writes a new archive next to the first one). */
  folder?: string;
  connectionId: string;
  database?: string;
  out?: string;
  format?: ArchiveFormat;
  jobs?: number;
  noOwner?: boolean;
  noAcl?: boolean;
  overwrite?: boolean;
  schemas?: string[];
}
export interface RestoreArgs {
  connectionId: string;
  database: string;
  archive: string;
  jobs?: number;
  noOwner?: boolean;
  noAcl?: boolean;
  noTableAccessMethod?: boolean;
  confirmNonEmpty?: string;
  /** Drop the target database and create it again empty first: its name, as the user typed it (must equal `database`). */
  recreate?: string;
  /** Go on with an interrupted restore: keep what the target holds, restore the rest (never with recreate). */
  resume?: boolean;
  analyze?: boolean;
  schemas?: string[];
}
/** A restore's arguments without the answers of one run (a confirmation, a drop, a resume): a later run asks again. */
export function withoutAnswers(args: RestoreArgs): RestoreArgs {
  return { ...args, confirmNonEmpty: undefined, recreate: undefined, resume: undefined };
}

export interface CreateDatabaseArgs {
  connectionId: string;
  name: string;
  likeConnectionId?: string;
  likeDatabase?: string;
  owner?: string;
  createRoles?: boolean;
  createExtensions?: boolean;
}
export interface PairArgs {
  sourceConnectionId: string;
  sourceDatabase?: string;
  targetConnectionId: string;
  targetDatabase?: string;
  noOwner?: boolean;
  noAcl?: boolean;
  noTableAccessMethod?: boolean;
  confirmNonEmpty?: string;
}
export interface MigrateArgs extends PairArgs {
  dumpPath?: string;
  format?: ArchiveFormat;
  jobs?: number;
}
export type TransferArgs = Pick<TransferOptions, 'archive' | 'host' | 'user' | 'port' | 'remoteDir' | 'identityFile' | 'tool'>;

/** What a run record keeps to run its step again. */
export type Rerun =
  | { step: 'dump'; args: DumpArgs }
  | { step: 'restore'; args: RestoreArgs }
  | { step: 'create-database'; args: CreateDatabaseArgs }
  | { step: 'preflight'; args: PairArgs }
  | { step: 'migrate'; args: MigrateArgs }
  | { step: 'transfer'; args: TransferArgs };

const RERUN_STEPS: ReadonlySet<string> = new Set(['dump', 'restore', 'create-database', 'preflight', 'migrate', 'transfer']);

/** A stored Rerun (globalState may hold records of an older version: those are not re-runnable). */
export function isRerun(v: unknown): v is Rerun {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as { step?: unknown; args?: unknown };
  return typeof r.step === 'string' && RERUN_STEPS.has(r.step) && typeof r.args === 'object' && r.args !== null;
}
