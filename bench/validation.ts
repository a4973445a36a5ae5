/**
 * `npm run bench` (validation), measured in one run:
 *   1. CLI validate (exact counts) on 1,000 tables divided by one psql session per side counting
 *      every table in turn (source, then target)                              goal <= 0.6
 *   2. validating 10,000 small tables                                          goal < 10 s
 *   3. checksum throughput on a 2 M-row table                                  goal >= 2 M rows/s
 *   4. dataset (a) of issue 11, pgbench scale 50 on both servers: exact counts by the CLI divided by
 *      psql counting each table in turn on both sides (goal <= 0.6), and checksums counted over
 *      both sides together (goal >= 5 M rows/s)
 *   5. 1 and 4 again with each server's sessions pinned to a core of its own (taskset on the
 *      postmaster; its background processes and the clients stay unpinned): an approximation of
 *      two machines, which is what a migration has; both servers share this one's cores otherwise
 * Not a test: nothing passes or fails.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Side } from '../src/core/side.js';
import { validate } from '../src/core/validate.js';
import { sideOn } from '../test/helpers/fixtures.js';
import { PG15_TOOLS, startServer, type TestServer } from '../test/helpers/servers.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const settings = { max_locks_per_transaction: '4096' };
// The 10,000-table schema is created in one transaction: it needs more lock slots than the default.
const [pg15, pg17] = await Promise.all([startServer('pg15', { settings }), startServer('pg17', { settings })]);

async function makeTables(server: TestServer, db: string, count: number, rows: number): Promise<void> {
  await server.sql(`CREATE DATABASE ${db}`);
  await server.sql(
    `DO $$ BEGIN FOR i IN 1..${count} LOOP
      EXECUTE format('CREATE TABLE public.%I (id int PRIMARY KEY, v text)', 't' || lpad(i::text, 5, '0'));
      EXECUTE format('INSERT INTO public.%I SELECT g, md5(g::text) FROM generate_series(1, ${rows}) g', 't' || lpad(i::text, 5, '0'));
    END LOOP; END $$`,
    db,
  );
}

const side = (s: TestServer, db: string): Side => sideOn(s, db, { admin: true });

/** psql counting each table in turn on the source, then on the target. */
function psqlCounts(db: string, script: string): number {
  const t0 = performance.now();
  for (const s of [pg15, pg17]) {
    const r = spawnSync(
      join(PG15_TOOLS, 'psql'),
      ['-X', '-q', '-A', '-t', '-h', '127.0.0.1', '-p', String(s.port), '-U', s.adminUser, '-d', db],
      { input: script, env: { ...process.env, PGPASSWORD: s.adminPassword }, encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(r.stderr);
  }
  return performance.now() - t0;
}

/** `hydra-migrate validate` of db on both servers (the built CLI), its time. */
function cliValidate(db: string, checksums = false): number {
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [
      join(repo, 'dist', 'cli.cjs'),
      'validate',
      '--source',
      `postgresql://${pg15.adminUser}@127.0.0.1:${pg15.port}/${db}?sslmode=disable`,
      '--target',
      `postgresql://${pg17.adminUser}@127.0.0.1:${pg17.port}/${db}?sslmode=disable`,
      '--json',
      ...(checksums ? ['--checksums'] : []),
    ],
    {
      env: { ...process.env, HYDRA_SOURCE_PASSWORD: pg15.adminPassword, HYDRA_TARGET_PASSWORD: pg17.adminPassword },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (r.status !== 0) throw new Error(`validate exited ${r.status}: ${r.stderr}${r.stdout.slice(0, 2000)}`);
  return performance.now() - t0;
}

/** Interleaved rounds of psql and the CLI (and `also`, if given): their medians. */
function countRounds(db: string, script: string, rounds: number, also?: () => void): { cli: number; psql: number } {
  const cli: number[] = [];
  const psql: number[] = [];
  for (let round = 0; round < rounds; round++) {
    psql.push(psqlCounts(db, script));
    cli.push(cliValidate(db));
    also?.();
  }
  return { cli: median(cli), psql: median(psql) };
}

function report(what: string, m: { cli: number; psql: number }): void {
  console.log(
    `${what}: CLI ${(m.cli / 1000).toFixed(2)} s vs psql counting each table in turn on both sides ${(m.psql / 1000).toFixed(2)} s: ratio ${(m.cli / m.psql).toFixed(2)} (goal <= 0.6)`,
  );
}

/** Sets the CPUs of a server's postmaster: the sessions and workers it starts from now on inherit them. */
function pin(s: TestServer, cpuList: string): void {
  const pid = readFileSync(join(s.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]!.trim();
  const r = spawnSync('taskset', ['-p', '-c', cpuList, pid], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`taskset: ${r.stderr}`);
}

try {
  // 1. 1,000 tables: CLI validate vs psql counting every table in turn on each side.
  await Promise.all([makeTables(pg15, 'k1', 1000, 100), makeTables(pg17, 'k1', 1000, 100)]);
  const script = Array.from({ length: 1000 }, (_, i) => `SELECT count(*) FROM public.t${String(i + 1).padStart(5, '0')};`).join('\n');
  report('validate 1,000 tables (exact counts)', countRounds('k1', script, 5));

  // 2. 10,000 small tables.
  await Promise.all([makeTables(pg15, 'k10', 10000, 2), makeTables(pg17, 'k10', 10000, 2)]);
  const t10: number[] = [];
  for (let round = 0; round < 2; round++) {
    const t0 = performance.now();
    const r = await validate({ source: side(pg15, 'k10'), target: side(pg17, 'k10') });
    t10.push(performance.now() - t0);
    if (r.summary.tables !== 10000 || !r.ok)
      throw new Error(`expected 10,000 matching tables, got ${r.summary.tables} (${r.summary.matching} matching)`);
  }
  console.log(`validate 10,000 small tables (exact counts, both servers): ${(median(t10) / 1000).toFixed(2)} s (goal < 10 s)`);

  // 3. Checksum throughput.
  await Promise.all(
    [pg15, pg17].map(async (s) => {
      await s.sql('CREATE DATABASE big');
      await s.sql(
        'CREATE TABLE public.big AS SELECT g AS id, md5(g::text) AS h, g % 1000 AS k FROM generate_series(1, 2000000) g; ALTER TABLE public.big ADD PRIMARY KEY (id); ANALYZE',
        'big',
      );
    }),
  );
  const tc: number[] = [];
  const tn: number[] = [];
  for (let round = 0; round < 3; round++) {
    let t0 = performance.now();
    await validate({ source: side(pg15, 'big'), target: side(pg17, 'big'), checksums: true });
    tc.push(performance.now() - t0);
    t0 = performance.now();
    await validate({ source: side(pg15, 'big'), target: side(pg17, 'big') });
    tn.push(performance.now() - t0);
  }
  const secs = median(tc) / 1000;
  console.log(
    `checksums of a 2 M-row table on both servers at once: ${secs.toFixed(2)} s = ${(2 / secs).toFixed(2)} M rows/s per side (goal >= 2 M rows/s); exact counts alone ${(median(tn) / 1000).toFixed(2)} s, ratio ${(median(tc) / median(tn)).toFixed(1)}`,
  );

  // 4. pgbench scale 50 (5 M rows in one table) on both servers.
  await Promise.all(
    [pg15, pg17].map(async (s) => {
      await s.sql('CREATE DATABASE pgb');
      const r = spawnSync(
        join(PG15_TOOLS, 'pgbench'),
        ['-i', '-s', '50', '-q', '-h', '127.0.0.1', '-p', String(s.port), '-U', s.adminUser, 'pgb'],
        {
          env: { ...process.env, PGPASSWORD: s.adminPassword },
          stdio: 'ignore',
        },
      );
      if (r.status !== 0) throw new Error('pgbench -i failed');
    }),
  );
  const pgbScript = ['pgbench_accounts', 'pgbench_branches', 'pgbench_history', 'pgbench_tellers']
    .map((t) => `SELECT count(*) FROM public.${t};`)
    .join('\n');
  const pk: number[] = [];
  const pgb = countRounds('pgb', pgbScript, 3, () => pk.push(cliValidate('pgb', true)));
  report('pgbench scale 50 on both servers, exact counts', pgb);
  const rows = 2 * 5_000_000;
  console.log(
    `pgbench scale 50, checksums: CLI ${(median(pk) / 1000).toFixed(2)} s = ${(rows / (median(pk) / 1000) / 1e6).toFixed(2)} M rows/s over both sides together (goal >= 5 M rows/s)`,
  );

  // 5. As if each server had a machine of its own (they always do in a migration): each pinned to
  //    one core, so counting both at once no longer takes cores from the other side's count.
  if (cpus().length >= 2) {
    pin(pg15, '0');
    pin(pg17, '1');
    try {
      report('each server on a core of its own, 1,000 tables (exact counts)', countRounds('k1', script, 5));
      report('each server on a core of its own, pgbench scale 50 (exact counts)', countRounds('pgb', pgbScript, 3));
    } finally {
      pin(pg15, '0-' + String(cpus().length - 1));
      pin(pg17, '0-' + String(cpus().length - 1));
    }
  }
} finally {
  await Promise.all([pg15.stop(), pg17.stop()]);
}
