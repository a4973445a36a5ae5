/** Every file under a folder (recursively), for tests that look at what a program wrote. */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function filesUnder(dir: string, maxBytes = 50_000_000): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) out.push(...filesUnder(p, maxBytes));
    else if (st.isFile() && st.size < maxBytes) out.push(p);
  }
  return out;
}
