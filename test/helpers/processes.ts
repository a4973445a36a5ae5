/** The processes running on this machine, for tests that check what a step left behind. */
import { readdirSync, readFileSync } from 'node:fs';

/** Pids whose command line (NUL-separated) and environment pass `match`; processes that end meanwhile are skipped. */
export function processesWhere(match: (cmdline: string, environ: () => string[]) => boolean): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return match(readFileSync(`/proc/${p}/cmdline`, 'utf8'), () => readFileSync(`/proc/${p}/environ`, 'utf8').split('\u0000'));
      } catch {
        return false;
      }
    });
}

/** Pids whose command line contains `needle`. */
export const processesMentioning = (needle: string): string[] => processesWhere((cmd) => cmd.includes(needle));
