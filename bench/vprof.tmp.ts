import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { startServer } from '../test/helpers/servers.js';
const settings = { max_locks_per_transaction: '4096' };
const [a, b] = await Promise.all([startServer('pg15', { settings }), startServer('pg17', { settings })]);
try {
  for (const s of [a, b]) {
    await s.sql('CREATE DATABASE k1');
    await s.sql(
      `DO $$ BEGIN FOR i IN 1..1000 LOOP
      EXECUTE format('CREATE TABLE public.%I (id int PRIMARY KEY, v text)', 't' || lpad(i::text, 5, '0'));
      EXECUTE format('INSERT INTO public.%I SELECT g, md5(g::text) FROM generate_series(1, 100) g', 't' || lpad(i::text, 5, '0'));
    END LOOP; END $$`,
      'k1',
    );
  }
  const args = [
    'validate',
    '--source',
    `postgresql://${a.adminUser}@127.0.0.1:${a.port}/k1?sslmode=disable`,
    '--target',
    `postgresql://${b.adminUser}@127.0.0.1:${b.port}/k1?sslmode=disable`,
    '--json',
  ];
  const env = { ...process.env, HYDRA_SOURCE_PASSWORD: a.adminPassword, HYDRA_TARGET_PASSWORD: b.adminPassword };
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['/work/main/dist/cli.cjs', ...args], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
    console.log('wall', (performance.now() - t0).toFixed(0), 'ms, exit', r.status);
  }
  const t0 = performance.now();
  spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir=/tmp/vprof', '/work/main/dist/cli.cjs', ...args], {
    env,
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  console.log('profiled wall', (performance.now() - t0).toFixed(0));
  const f = readdirSync('/tmp/vprof')
    .filter((x) => x.endsWith('.cpuprofile'))
    .sort()
    .at(-1)!;
  const prof = JSON.parse(readFileSync(`/tmp/vprof/${f}`, 'utf8'));
  const dt = prof.timeDeltas as number[];
  const self = new Map<number, number>();
  prof.samples.forEach((id: number, i: number) => self.set(id, (self.get(id) ?? 0) + (dt[i] ?? 0)));
  const byFn = new Map<string, number>();
  for (const n of prof.nodes) {
    const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-1)[0]}:${n.callFrame.lineNumber}`;
    byFn.set(k, (byFn.get(k) ?? 0) + (self.get(n.id) ?? 0));
  }
  const total = [...byFn.values()].reduce((x, y) => x + y, 0);
  console.log('total sampled', (total / 1000).toFixed(0), 'ms');
  for (const [k, v] of [...byFn].sort((x, y) => y[1] - x[1]).slice(0, 25)) console.log((v / 1000).toFixed(1).padStart(7), k);
} finally {
  await Promise.all([a.stop(), b.stop()]);
}
