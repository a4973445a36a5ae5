/**
 * `npm run bench` (migration): the time of a whole migration (create the target database, dump,
 * restore; no validation, no analyze) on three generated datasets, each way measured in this run,
 * interleaved, median of BENCH_ROUNDS (3):
 *   (a) one dominant table: pgbench scale 50 (5M rows in pgbench_accounts)
 *   (b) many tables: 400 tables of 1k-25k rows, a primary key and a secondary index each (~5M rows)
 *   (c) Hydra-shaped: columnar (stand-in) tables, a partitioned table, large objects, sequences
 * for PG15 -> PG17 and PG15 -> PG15 (BENCH_PAIRS), with the PG15 tools:
 *   guide       the guide's literal commands: createdb; pg_dump -Fc; pg_restore (no jobs)
 *   guide -jN   the same with pg_restore --jobs=N
 *   dir -jN     pg_dump -Fd -jN; pg_restore -jN (gzip 6, pg_dump's default)
 *   dir -jN -Z0 the same uncompressed (--compress=0)
 *   dir -jN -Z1 the same with --compress=1
 *   stream      pg_dump -Fc -Z1 | tee archive | pg_restore, with synchronous_commit=off and maintenance_work_mem=256MB
 *   pgcopydb    pgcopydb clone --table-jobs N --index-jobs N (an existing engine, as a peer; when installed)
 *   tool        hydra-migrate migrate --no-validate --no-analyze (readiness checks included)
 * and the ratios tool / guide and tool / best hand-tuned. Goals (issue 11): <= 0.75 and <= 0.95.
 * Not a test: nothing passes or fails.
 */
import { spawnSync } from 'node:child_process';
import { cpus, tmpdir } from 'node:os';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PG15_TOOLS, startServer, type TestServer } from '../test/helpers/servers.js';
import { benchDatasets } from './datasets.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'dist', 'cli.cjs');
const N = String(cpus().length);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DATASETS = (process.env.BENCH_DATASETS ?? 'a,b,c').split(',');
const PAIRS = (process.env.BENCH_PAIRS ?? 'pg15-pg17,pg15-pg15').split(',');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const hasPgcopydb = spawnSync('pgcopydb', ['--version'], { stdio: 'ignore' }).status === 0;

const source = await startServer('pg15');
const targets: Record<string, TestServer> = {};
if (PAIRS.includes('pg15-pg17')) targets['pg15-pg17'] = await startServer('pg17');
if (PAIRS.includes('pg15-pg15')) targets['pg15-pg15'] = await startServer('pg15');
const work = mkdtempSync(join(tmpdir(), 'hm-bench-mig-'));

const DATASET_SQL = benchDatasets(source, () => srcEnv());

function srcEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(source.port), PGUSER: source.adminUser, PGPASSFILE: join(work, 'pgpass') };
}

const pgpassLine = (s: TestServer): string => `127.0.0.1:${s.port}:*:${s.adminUser}:${s.adminPassword.replace(/[:\\]/g, '\\$&')}`;

try {
  writeFileSync(join(work, 'pgpass'), [source, ...Object.values(targets)].map(pgpassLine).join('\n') + '\n', { mode: 0o600 });
  console.log(
    `Machine: ${cpus().length} CPU cores (${cpus()[0]?.model.trim()}); PG15 tools; both servers on this machine; median of ${ROUNDS}, interleaved.`,
  );
  for (const ds of DATASETS) {
    const def = DATASET_SQL[ds];
    if (!def) throw new Error(`unknown dataset ${ds}`);
    await source.sql(`CREATE DATABASE ds_${ds} TEMPLATE template0 ENCODING 'UTF8'`);
    await def.build(`ds_${ds}`);
    const { rows } = await source.sql(`SELECT pg_size_pretty(pg_database_size('ds_${ds}')) AS s`);
    for (const pair of PAIRS) {
      const target = targets[pair]!;
      const t = `T=${PG15_TOOLS}; export PGHOST=127.0.0.1 PGUSER=${source.adminUser}`;
      const tgt = `PGPORT=${target.port} PGUSER=${target.adminUser}`;
      const src = `PGPORT=${source.port}`;
      const opts = `PGOPTIONS='-c synchronous_commit=off -c maintenance_work_mem=256MB'`;
      const createdb = `env ${tgt} $T/createdb -T template0 -E UTF8 bench`;
      const db = `ds_${ds}`;
      const variants: Record<string, string> = {
        guide: `${createdb} && env ${src} $T/pg_dump -Fc --no-owner --no-acl -f $W/g.dump ${db} && env ${tgt} $T/pg_restore --no-owner --no-acl -d bench $W/g.dump`,
        [`guide -j${N}`]: `${createdb} && env ${src} $T/pg_dump -Fc --no-owner --no-acl -f $W/g.dump ${db} && env ${tgt} $T/pg_restore -j${N} --no-owner --no-acl -d bench $W/g.dump`,
        [`dir -j${N}`]: `${createdb} && env ${src} $T/pg_dump -Fd -j${N} --no-owner --no-acl -f $W/d.dir ${db} && env ${tgt} $T/pg_restore -j${N} --no-owner --no-acl -d bench $W/d.dir`,
        [`dir -j${N} -Z0`]: `${createdb} && env ${src} $T/pg_dump -Fd -j${N} -Z0 --no-owner --no-acl -f $W/d.dir ${db} && env ${tgt} $T/pg_restore -j${N} --no-owner --no-acl -d bench $W/d.dir`,
        [`dir -j${N} -Z1`]: `${createdb} && env ${src} $T/pg_dump -Fd -j${N} -Z1 --no-owner --no-acl -f $W/d.dir ${db} && env ${tgt} $T/pg_restore -j${N} --no-owner --no-acl -d bench $W/d.dir`,
        stream: `${createdb} && env ${src} $T/pg_dump -Fc -Z1 --no-owner --no-acl ${db} | tee $W/s.dump | env ${tgt} ${opts} $T/pg_restore --no-owner --no-acl -d bench`,
        ...(hasPgcopydb
          ? {
              pgcopydb: `${createdb} && pgcopydb clone --source "host=127.0.0.1 port=${source.port} user=${source.adminUser} dbname=${db}" --target "host=127.0.0.1 port=${target.port} user=${target.adminUser} dbname=bench" --table-jobs ${N} --index-jobs ${N} --no-owner --no-acl --dir $W/pgcopydb >/dev/null 2>&1`,
            }
          : {}),
        tool: `HYDRA_SOURCE_PASSWORD="$SRC_PW" HYDRA_TARGET_PASSWORD="$TGT_PW" HYDRA_PG_BIN_DIR=$T ${JSON.stringify(process.execPath)} ${cli} migrate --source postgresql://${source.adminUser}@127.0.0.1:${source.port}/${db}?sslmode=disable --target postgresql://${target.adminUser}@127.0.0.1:${target.port}/bench?sslmode=disable --dump $W/tool.dump --no-owner --no-acl --no-validate --no-analyze`,
      };
      const times: Record<string, number[]> = {};
      for (let round = 0; round < ROUNDS; round++) {
        for (const [name, script] of Object.entries(variants)) {
          await target.sql('DROP DATABASE IF EXISTS bench');
          for (const f of ['g.dump', 'd.dir', 's.dump', 'tool.dump', 'tool.dir', 'pgcopydb'])
            rmSync(join(work, f), { recursive: true, force: true });
          await target.sql('CHECKPOINT');
          const t0 = performance.now();
          const r = spawnSync('bash', ['-c', `set -eo pipefail; ${t}; ${script}`], {
            env: { ...srcEnv(), W: work, SRC_PW: source.adminPassword, TGT_PW: target.adminPassword },
            stdio: ['ignore', 'ignore', 'pipe'],
            encoding: 'utf8',
          });
          const s = (performance.now() - t0) / 1000;
          if (r.status !== 0) {
            console.log(`  ${name}: failed (${r.stderr.trim().split('\n').slice(-2).join(' ')})`);
            delete variants[name];
            continue;
          }
          (times[name] ??= []).push(s);
        }
      }
      const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
      const handTuned = Object.entries(med).filter(([k]) => k !== 'tool' && k !== 'guide' && k !== 'pgcopydb');
      const best = handTuned.reduce((a, b) => (b[1] < a[1] ? b : a));
      console.log(`\n(${ds}) ${def.title}, ${rows[0].s}, ${pair.replace('-', ' -> ').toUpperCase()}`);
      console.log('| way | seconds (median) | all runs |');
      console.log('|---|---:|---|');
      for (const [k, v] of Object.entries(times)) console.log(`| ${k} | ${med[k]!.toFixed(2)} | ${v.map((x) => x.toFixed(2)).join(' ')} |`);
      if (med.tool !== undefined && med.guide !== undefined)
        console.log(
          `ratio tool / guide ${(med.tool / med.guide).toFixed(2)} (goal <= 0.75); tool / best hand-tuned (${best[0]}) ${(med.tool / best[1]).toFixed(2)} (goal <= 0.95)` +
            (med.pgcopydb !== undefined ? `; tool / pgcopydb ${(med.tool / med.pgcopydb).toFixed(2)}` : ''),
        );
    }
    await source.sql(`DROP DATABASE ds_${ds}`);
  }
} finally {
  await Promise.all([source.stop(), ...Object.values(targets).map((t) => t.stop())]);
  rmSync(work, { recursive: true, force: true });
}
