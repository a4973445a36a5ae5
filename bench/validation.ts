/**
 * `npm run bench` (validation), measured in one run:
 *   1. CLI validate (exact counts) on 1,000 tables divided by one psql session per side counting
 *      every table in turn (source, then target)                              goal <= 0.6
 *   2. validating 10,000 small tables                                          goal < 10 s
 *   3. checksum throughput on a 2 M-row table                                  goal >= 2 M rows/s
 *   4. dataset (a) of issue 11, pgbench scale 50 on both servers: exact counts by the CLI divided by
 *      psql counting each table in turn on both sides (goal <= 0.6), and checksums counted over
 *      both sides together (goal >= 5 M rows/s)
 * Not a test: nothing passes or fails.
 */
import { spawnSync } from 'node:child_process';
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

try {
  // 1. 1,000 tables: CLI validate vs psql counting every table in turn on each side.
  await Promise.all([makeTables(pg15, 'k1', 1000, 100), makeTables(pg17, 'k1', 1000, 100)]);
  const cliTimes: number[] = [];
  const psqlTimes: number[] = [];
  const script = Array.from({ length: 1000 }, (_, i) => `SELECT count(*) FROM public.t${String(i + 1).padStart(5, '0')};`).join('\n');
  for (let round = 0; round < 3; round++) {
    let t0 = performance.now();
    for (const s of [pg15, pg17]) {
      const r = spawnSync(
        join(PG15_TOOLS, 'psql'),
        ['-X', '-q', '-A', '-t', '-h', '127.0.0.1', '-p', String(s.port), '-U', s.adminUser, '-d', 'k1'],
        { input: script, env: { ...process.env, PGPASSWORD: s.adminPassword }, encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(r.stderr);
    }
    psqlTimes.push(performance.now() - t0);
    t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      [
        join(repo, 'dist', 'cli.cjs'),
        'validate',
        '--source',
        `postgresql://${pg15.adminUser}@127.0.0.1:${pg15.port}/k1?sslmode=disable`,
        '--target',
        `postgresql://${pg17.adminUser}@127.0.0.1:${pg17.port}/k1?sslmode=disable`,
        '--json',
      ],
      {
        env: { ...process.env, HYDRA_SOURCE_PASSWORD: pg15.adminPassword, HYDRA_TARGET_PASSWORD: pg17.adminPassword },
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    cliTimes.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`validate exited ${r.status}: ${r.stderr}`);
  }
  const [c, p] = [median(cliTimes), median(psqlTimes)];
  console.log(
    `validate 1,000 tables (exact counts): CLI ${(c / 1000).toFixed(2)} s vs psql counting each table in turn on both sides ${(p / 1000).toFixed(2)} s: ratio ${(c / p).toFixed(2)} (goal <= 0.6)`,
  );

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
  const cli = (checksums: boolean): number => {
    const t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      [
        join(repo, 'dist', 'cli.cjs'),
        'validate',
        '--source',
        `postgresql://${pg15.adminUser}@127.0.0.1:${pg15.port}/pgb?sslmode=disable`,
        '--target',
        `postgresql://${pg17.adminUser}@127.0.0.1:${pg17.port}/pgb?sslmode=disable`,
        '--json',
        ...(checksums ? ['--checksums'] : []),
      ],
      { env: { ...process.env, HYDRA_SOURCE_PASSWORD: pg15.adminPassword, HYDRA_TARGET_PASSWORD: pg17.adminPassword }, encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`validate exited ${r.status}: ${r.stderr}${r.stdout.slice(0, 2000)}`);
    return performance.now() - t0;
  };
  const pc: number[] = [];
  const pp: number[] = [];
  const pk: number[] = [];
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    for (const s of [pg15, pg17]) {
      const r = spawnSync(
        join(PG15_TOOLS, 'psql'),
        ['-X', '-q', '-A', '-t', '-h', '127.0.0.1', '-p', String(s.port), '-U', s.adminUser, '-d', 'pgb'],
        { input: pgbScript, env: { ...process.env, PGPASSWORD: s.adminPassword }, encoding: 'utf8' },
      );
      if (r.status !== 0) throw new Error(r.stderr);
    }
    pp.push(performance.now() - t0);
    pc.push(cli(false));
    pk.push(cli(true));
  }
  const rows = 2 * 5_000_000;
  console.log(
    `pgbench scale 50 on both servers, exact counts: CLI ${(median(pc) / 1000).toFixed(2)} s vs psql counting each table in turn on both sides ${(median(pp) / 1000).toFixed(2)} s: ratio ${(median(pc) / median(pp)).toFixed(2)} (goal <= 0.6)`,
  );
  console.log(
    `pgbench scale 50, checksums: CLI ${(median(pk) / 1000).toFixed(2)} s = ${(rows / (median(pk) / 1000) / 1e6).toFixed(2)} M rows/s over both sides together (goal >= 5 M rows/s)`,
  );
} finally {
  await Promise.all([pg15.stop(), pg17.stop()]);
}
