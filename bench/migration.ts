/**
 * `npm run bench` (migration): on a pgbench scale-20 database (PG15 source, PG17 target, PG15 tools),
 * the time of the CLI's dump + restore with default options divided by
 *   (a) the guide's literal commands: pg_dump -Fc, then pg_restore without --jobs   goal <= 0.85
 *   (b) the best hand-tuned commands: pg_dump -Fd -j N, then pg_restore -j N        goal <= 1.05
 * All measured in this run, interleaved, median of 3. Not a test: nothing passes or fails.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PG15_TOOLS, startServers } from '../test/helpers/servers.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'dist', 'cli.cjs');
const jobs = String(cpus().length);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const { pg15, pg17 } = await startServers('pg15', 'pg17');
const work = mkdtempSync(join(tmpdir(), 'hm-bench-mig-'));
try {
  const srcEnv = {
    ...process.env,
    PGHOST: '127.0.0.1',
    PGPORT: String(pg15.port),
    PGUSER: pg15.adminUser,
    PGPASSWORD: pg15.adminPassword,
    PGDATABASE: 'bench',
  };
  const tgtEnv = { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(pg17.port), PGUSER: pg17.adminUser, PGPASSWORD: pg17.adminPassword };
  await pg15.sql('CREATE DATABASE bench');
  execFileSync(join(PG15_TOOLS, 'pgbench'), ['-i', '-s', '20', '-q'], { env: srcEnv, stdio: 'ignore' });
  const size = (await pg15.sql(`SELECT pg_size_pretty(pg_database_size('bench')) AS s`)).rows[0].s;
  console.log(`dataset: pgbench -i -s 20 (${size}), PG15 -> PG17, ${jobs} CPU cores`);

  const sh = (cmd: string, args: string[], env: NodeJS.ProcessEnv): void => {
    const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  };
  const fresh = async (): Promise<void> => {
    await pg17.sql('DROP DATABASE IF EXISTS bench');
    await pg17.sql(`CREATE DATABASE bench TEMPLATE template0`);
  };
  const variants: Record<string, (n: number) => void> = {
    literal: (n) => {
      const f = join(work, `literal-${n}.dump`);
      sh(join(PG15_TOOLS, 'pg_dump'), ['-Fc', '-f', f], srcEnv);
      sh(join(PG15_TOOLS, 'pg_restore'), ['-d', 'bench', f], tgtEnv);
    },
    tuned: (n) => {
      const d = join(work, `tuned-${n}.dir`);
      sh(join(PG15_TOOLS, 'pg_dump'), ['-Fd', '-j', jobs, '-f', d], srcEnv);
      sh(join(PG15_TOOLS, 'pg_restore'), ['-j', jobs, '-d', 'bench', d], tgtEnv);
    },
    cli: (n) => {
      const d = join(work, `cli-${n}.dir`);
      const env = {
        ...process.env,
        HYDRA_SOURCE_PASSWORD: pg15.adminPassword,
        HYDRA_TARGET_PASSWORD: pg17.adminPassword,
        HYDRA_PG_BIN_DIR: PG15_TOOLS,
      };
      sh(
        process.execPath,
        [cli, 'dump', '--source', `postgresql://${pg15.adminUser}@127.0.0.1:${pg15.port}/bench?sslmode=disable`, '--out', d],
        env,
      );
      sh(
        process.execPath,
        [cli, 'restore', '--target', `postgresql://${pg17.adminUser}@127.0.0.1:${pg17.port}/bench?sslmode=disable`, '--in', d],
        env,
      );
    },
  };
  const times: Record<string, number[]> = { literal: [], tuned: [], cli: [] };
  for (let round = 0; round < 3; round++) {
    for (const [name, fn] of Object.entries(variants)) {
      await fresh();
      const t0 = performance.now();
      fn(round);
      times[name]!.push((performance.now() - t0) / 1000);
    }
  }
  const [lit, tun, ours] = [median(times.literal!), median(times.tuned!), median(times.cli!)];
  console.log(
    `dump+restore, median of 3: guide's literal commands ${lit.toFixed(2)} s; hand-tuned -Fd -j${jobs} ${tun.toFixed(2)} s; hydra-migrate defaults ${ours.toFixed(2)} s`,
  );
  console.log(`  ratio vs literal (goal <= 0.85): ${(ours / lit).toFixed(2)}`);
  console.log(`  ratio vs hand-tuned (goal <= 1.05): ${(ours / tun).toFixed(2)}`);
} finally {
  await Promise.all([pg15.stop(), pg17.stop()]);
  rmSync(work, { recursive: true, force: true });
}
