/**
 * Finds the PostgreSQL client programs (psql, pg_dump, pg_restore, ...) and their versions.
 * Order: an explicit folder (setting hydraMigrate.pgBinDir), then PATH, then
 * /usr/lib/postgresql/<major>/bin with the newest major first.
 */
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export type PgTool = 'psql' | 'pg_dump' | 'pg_restore' | 'pg_dumpall' | 'vacuumdb';

export interface LocatedTool {
  tool: PgTool;
  path: string;
  /** e.g. "15.18" */
  version: string;
  major: number;
  /** Where it was found. */
  origin: 'setting' | 'PATH' | 'system';
}

export class ToolNotFoundError extends Error {
  constructor(
    readonly tool: PgTool,
    searched: string[],
  ) {
    super(
      `${tool} was not found (looked in: ${searched.join(', ') || 'nowhere'}). ` +
        `Install the PostgreSQL client (Debian/Ubuntu: apt-get install postgresql-client) or set hydraMigrate.pgBinDir to the folder that holds ${tool}.`,
    );
    this.name = 'ToolNotFoundError';
  }
}

/** Parses `psql (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` and the like. */
export function parseToolVersion(output: string): { version: string; major: number } | undefined {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(output) ?? /\b(\d+)\.(\d+)(?:\.(\d+))?\b/.exec(output);
  if (!m) return undefined;
  const major = Number(m[1]);
  const version = [m[1], m[2], m[3]].filter((p) => p !== undefined).join('.');
  return { version, major };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Candidate paths, in order of preference, without running anything. */
export function candidatePaths(
  tool: PgTool,
  options: { binDir?: string; envPath?: string; systemRoot?: string } = {},
): Array<{ path: string; origin: LocatedTool['origin'] }> {
  const out: Array<{ path: string; origin: LocatedTool['origin'] }> = [];
  if (options.binDir && options.binDir.trim() !== '') out.push({ path: join(options.binDir.trim(), tool), origin: 'setting' });
  for (const dir of (options.envPath ?? process.env.PATH ?? '').split(delimiter)) {
    if (dir) out.push({ path: join(dir, tool), origin: 'PATH' });
  }
  const root = options.systemRoot ?? '/usr/lib/postgresql';
  let majors: string[] = [];
  try {
    majors = readdirSync(root)
      .filter((d) => /^\d+(\.\d+)?$/.test(d))
      .sort((a, b) => Number(b) - Number(a));
  } catch {
    majors = [];
  }
  for (const major of majors) out.push({ path: join(root, major, 'bin', tool), origin: 'system' });
  return out;
}

/**
 * Locates a tool and reads its version. With a binDir setting, only that folder counts (a wrong
 * setting is an error the user must see, not something to quietly work around).
 */
export async function locateTool(
  tool: PgTool,
  options: { binDir?: string; envPath?: string; systemRoot?: string } = {},
): Promise<LocatedTool> {
  // The readiness checks, the estimate's sample and the steps each need the tools within a second
  // or two: one search (one `--version` run) serves them all, while the file is still there.
  const key = JSON.stringify([tool, options.binDir?.trim() ?? '', options.envPath ?? process.env.PATH ?? '', options.systemRoot ?? '']);
  const hit = located.get(key);
  if (hit && performance.now() - hit.at < REMEMBER_MS) {
    const known = await hit.tool.catch(() => undefined);
    if (known && isExecutable(known.path)) return known;
  }
  const search = searchTool(tool, options);
  located.set(key, { at: performance.now(), tool: search });
  search.catch(() => {
    if (located.get(key)?.tool === search) located.delete(key);
  });
  return search;
}

/** How long a located tool is taken as found without running its `--version` again. */
const REMEMBER_MS = 60_000;
const located = new Map<string, { at: number; tool: Promise<LocatedTool> }>();

async function searchTool(tool: PgTool, options: { binDir?: string; envPath?: string; systemRoot?: string }): Promise<LocatedTool> {
  let candidates = candidatePaths(tool, options);
  if (options.binDir && options.binDir.trim() !== '') candidates = candidates.filter((c) => c.origin === 'setting');
  const searched: string[] = [];
  // Loaded on first use: execa costs ~90 ms to load, and activation must stay fast.
  const { execa } = await import('execa');
  for (const c of candidates) {
    searched.push(c.path);
    if (!isExecutable(c.path)) continue;
    const { stdout, stderr } = await execa(c.path, ['--version'], { reject: false, timeout: 10_000, env: { LC_ALL: 'C' } });
    const parsed = parseToolVersion(`${stdout}\n${stderr}`);
    if (parsed) return { tool, path: c.path, version: parsed.version, major: parsed.major, origin: c.origin };
  }
  throw new ToolNotFoundError(tool, options.binDir ? searched : summarise(searched));
}

function summarise(paths: string[]): string[] {
  const dirs = paths.map((p) => p.slice(0, p.lastIndexOf('/')));
  return dirs.length > 6 ? [...dirs.slice(0, 5), `${dirs.length - 5} more`] : dirs;
}
