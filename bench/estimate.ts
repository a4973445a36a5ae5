/**
 * `npm run bench` (estimate): the time estimate made before a migration against the time the
 * migration then took, on (a) pgbench scale 50 and (b) 400 tables (bench/datasets.ts), PG15 -> PG17.
 * For each: the estimate of `preflight --json` (the sample alone, no history), then two
 * `migrate --json --no-validate` runs: the first estimated from the sample, the second also from
 * what the first taught (its ratio of actual to estimated time per phase). Goal (issue 15): the
 * estimate within a factor of 1.5 of the measured time. Not a test: nothing passes or fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PG15_TOOLS, startServer } from '../test/helpers/servers.js';
import { benchDatasets } from './datasets.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'dist', 'cli.cjs');
const DATASETS = (process.env.BENCH_ESTIMATE_DATASETS ?? 'a,b').split(',');

const source = await startServer('pg15');
const target = await startServer('pg17');
const work = mkdtempSync(join(tmpdir(), 'hm-bench-est-'));
const env = (): NodeJS.ProcessEnv => ({
  ...process.env,
  PGHOST: '127.0.0.1',
  PGPORT: String(source.port),
  PGUSER: source.adminUser,
  PGPASSFILE: join(work, 'pgpass'),
});
const datasets = benchDatasets(source, env);

interface Estimated {
  estimateSeconds?: { dump: number; restore: number; analyze: number; total: number };
  estimate?: { basis: string; sample: { bytesPerSecond: number; seconds: number; table: string } };
}

function cliJson(
  args: string[],
  state: string,
): Estimated & { steps?: Array<{ step: string; durationMs: number; skipped?: boolean }>; durationMs?: number; ok?: boolean } {
  const r = spawnSync(process.execPath, [cli, ...args, '--json'], {
    env: {
      ...process.env,
      HYDRA_SOURCE_PASSWORD: source.adminPassword,
      HYDRA_TARGET_PASSWORD: target.adminPassword,
      HYDRA_PG_BIN_DIR: PG15_TOOLS,
      HYDRA_MIGRATE_STATE_DIR: state,
    },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  try {
    return JSON.parse(r.stdout) as ReturnType<typeof cliJson>;
  } catch {
    throw new Error(`hydra-migrate ${args[0]} gave no JSON (exit ${r.status}): ${r.stderr.slice(-500)}`);
  }
}

const f = (x: number | undefined): string => (x === undefined ? '–' : x.toFixed(1));

try {
  writeFileSync(
    join(work, 'pgpass'),
    `127.0.0.1:${source.port}:*:${source.adminUser}:${source.adminPassword.replace(/[:\\]/g, '\\$&')}\n`,
    { mode: 0o600 },
  );
  console.log('Estimate against the measured time, PG15 -> PG17, both servers on this machine (seconds):');
  console.log(
    '| dataset | run | basis | sample rate | estimated dump / restore / analyze = total | measured dump / restore / analyze = total | measured / estimated |',
  );
  console.log('|---|---|---|---:|---|---|---:|');
  for (const ds of DATASETS) {
    const def = datasets[ds];
    if (!def) throw new Error(`unknown dataset ${ds}`);
    await source.sql(`CREATE DATABASE ds_${ds} TEMPLATE template0 ENCODING 'UTF8'`);
    await def.build(`ds_${ds}`);
    await source.sql('VACUUM ANALYZE', `ds_${ds}`);
    const state = mkdtempSync(join(work, 'state-'));
    const src = `postgresql://${source.adminUser}@127.0.0.1:${source.port}/ds_${ds}?sslmode=disable`;
    const tgt = `postgresql://${target.adminUser}@127.0.0.1:${target.port}/bench?sslmode=disable`;
    const pre = cliJson(['preflight', '--source', src, '--target', tgt], state);
    const e = pre.estimateSeconds;
    console.log(
      `| ${ds} | preflight | ${pre.estimate?.basis ?? '–'} | ${pre.estimate ? `${(pre.estimate.sample.bytesPerSecond / 1e6).toFixed(0)} MB/s` : '–'} | ${f(e?.dump)} / ${f(e?.restore)} / ${f(e?.analyze)} = ${f(e?.total)} | | |`,
    );
    for (const run of [1, 2]) {
      await target.sql('DROP DATABASE IF EXISTS bench');
      rmSync(join(work, 'tool.dump'), { force: true });
      rmSync(join(work, 'tool.dir'), { recursive: true, force: true });
      await target.sql('CHECKPOINT');
      const m = cliJson(
        ['migrate', '--source', src, '--target', tgt, '--dump', join(work, 'tool.dump'), '--no-owner', '--no-acl', '--no-validate'],
        state,
      );
      if (!m.ok) throw new Error(`the migration of (${ds}) failed: ${JSON.stringify(m).slice(0, 400)}`);
      const step = (name: string): number => (m.steps?.find((s) => s.step === name)?.durationMs ?? 0) / 1000;
      const total = (m.durationMs ?? 0) / 1000;
      const est = m.estimateSeconds;
      console.log(
        `| ${ds} | migrate ${run} | ${m.estimate?.basis ?? '–'} | ${m.estimate ? `${(m.estimate.sample.bytesPerSecond / 1e6).toFixed(0)} MB/s` : '–'} | ${f(est?.dump)} / ${f(est?.restore)} / ${f(est?.analyze)} = ${f(est?.total)} | ${f(step('dump'))} / ${f(step('restore'))} / ${f(step('analyze'))} = ${f(total)} | ${est ? (total / est.total).toFixed(2) : '–'} |`,
      );
    }
    await target.sql('DROP DATABASE IF EXISTS bench');
    await source.sql(`DROP DATABASE ds_${ds}`);
  }
  console.log('Goal (issue 15): measured / estimated between 0.67 and 1.5.');
} finally {
  await Promise.all([source.stop(), target.stop()]);
  rmSync(work, { recursive: true, force: true });
}
