import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { PLAN_REQUESTS, type PlanRequest } from '../core/plan.js';
import { defaultJobs } from '../core/step.js';

export interface Settings {
  /** Folder with psql, pg_dump, pg_restore; empty = PATH, then /usr/lib/postgresql/<newest>/bin. */
  pgBinDir: string;
  connectTimeoutSeconds: number;
  /** How long a dump or a validation waits for a table lock of another session. */
  lockWaitTimeoutSeconds: number;
  queryTimeoutSeconds: number;
  /** Parallel jobs for dump (directory format) and restore: the setting, or the CPU cores. */
  jobs: number;
  /** How Migrate Database… moves the data (auto: chosen from the source's sizes). */
  migrationPlan: PlanRequest;
  /** The archive's zlib level for Migrate Database… (pg_dump --compress); undefined: auto. */
  archiveCompression: number | undefined;
}

/** Reads the hydraMigrate.* settings, clamping numbers to sane ranges. */
export function settings(): Settings {
  const c = vscode.workspace.getConfiguration('hydraMigrate');
  const clamp = (v: unknown, min: number, max: number, fallback: number): number =>
    typeof v === 'number' && Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : fallback;
  return {
    pgBinDir: (c.get<string>('pgBinDir') ?? '').trim(),
    connectTimeoutSeconds: clamp(c.get('connectTimeoutSeconds'), 1, 300, 10),
    lockWaitTimeoutSeconds: clamp(c.get('lockWaitTimeoutSeconds'), 1, 3600, 30),
    queryTimeoutSeconds: clamp(c.get('queryTimeoutSeconds'), 1, 3600, 30),
    jobs: clamp(c.get('jobs'), 0, 64, 0) || defaultJobs(),
    migrationPlan: PLAN_REQUESTS.find((p) => p === c.get('migrationPlan')) ?? 'auto',
    archiveCompression: compressionLevel(c.get('archiveCompression')),
  };
}

/** "0".."9" (or a number a settings.json holds) is that zlib level; anything else is auto. */
function compressionLevel(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d$/.test(v.trim()) ? Number(v.trim()) : NaN;
  return Number.isInteger(n) && n >= 0 && n <= 9 ? n : undefined;
}

/** Options for locating the pg tools: the hydraMigrate.pgBinDir setting when it is set. */
export function toolOptions(cfg: Settings = settings()): { binDir?: string } {
  return cfg.pgBinDir ? { binDir: cfg.pgBinDir } : {};
}

/** hydraMigrate.dumpFolder (a leading ~ is the home folder), else ~/hydra-migrate-dumps. */
export function defaultDumpFolder(): string {
  const configured = vscode.workspace.getConfiguration('hydraMigrate').get<string>('dumpFolder')?.trim();
  return configured ? configured.replace(/^~(?=$|\/)/, homedir()) : join(homedir(), 'hydra-migrate-dumps');
}

/** Where to propose saving a report: the workspace folder, else the dump folder, else the home folder. */
export function defaultSaveFolder(): string {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? (existsSync(defaultDumpFolder()) ? defaultDumpFolder() : homedir());
}
