/**
 * The streamed migration (dump and load at the same time, archive kept) against a real PG15 source
 * and PG17 target with the real PG15 tools: the plan chosen from the catalog, the archive written
 * on the way (its sha256 the file's), every row validated; a load that fails still leaves a
 * complete archive; a dump that fails or is cancelled leaves no archive and stops everything.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SourceSample } from '../../src/core/estimate.js';
import { migrate, type MigrateOptions } from '../../src/core/migrate.js';
import { readDataShape } from '../../src/core/plan.js';
import { streamDumpAndLoad } from '../../src/core/stream.js';
import { validate } from '../../src/core/validate.js';
import { addMigrationObjects, createMigrator, createSampleDatabase, MIGRATOR, sideOn, whileLocked } from '../helpers/fixtures.js';
import { processesWhere } from '../helpers/processes.js';
import { PG15_TOOLS, startServers, type TestServer } from '../helpers/servers.js';

let pg15: TestServer;
let pg17: TestServer;
let dir: string;

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const base = (db: string, out: string, extra: Partial<MigrateOptions> = {}): MigrateOptions => ({
  source: sideOn(pg15, 'shop'),
  target: sideOn(pg17, db, { admin: true }),
  dumpPath: join(dir, out),
  binDir: PG15_TOOLS,
  jobs: 2,
  noOwner: true,
  noAcl: true,
  ...extra,
});
/** Runs `work` while another session holds public.audit_log of the source's "shop" locked. */
const whileAuditLogLocked = (work: () => Promise<void>): Promise<void> => whileLocked(pg15, 'shop', 'public.audit_log', work);
const streamTools = () => ({ pgDump: join(PG15_TOOLS, 'pg_dump'), pgRestore: join(PG15_TOOLS, 'pg_restore') });
/** pg_dump and pg_restore processes working on this file's servers (their environment names the port). */
const toolsOn = (): string[] =>
  processesWhere(
    (cmd, env) => /\/pg_(dump|restore)\u0000/.test(cmd) && [pg15.port, pg17.port].some((port) => env().includes(`PGPORT=${port}`)),
  );

/** psql processes working on the source server (the estimate's sample). */
const psqlOnSource = (): string[] => processesWhere((cmd, env) => /\/psql\u0000/.test(cmd) && env().includes(`PGPORT=${pg15.port}`));
/** A database `db` on the source with public.big, 100,000 rows. */
async function withBigTable(db: string): Promise<void> {
  await pg15.sql(`CREATE DATABASE ${db}`);
  await pg15.sql(`CREATE TABLE public.big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 100000) g; ANALYZE`, db);
}
/** Sessions of the source's database `db` waiting on a lock (read from a session of its own: the locker's transaction sees a frozen pg_stat_activity). */
const lockWaiters = async (db: string): Promise<number> =>
  (await pg15.sql(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = '${db}' AND wait_event_type = 'Lock'`)).rows[0].n;

/** Waits (up to 1.5 s) until a session of `db` waits on a lock. */
async function lockWaiterSeen(db: string): Promise<void> {
  for (let i = 0; i < 75 && (await lockWaiters(db)) === 0; i++) await new Promise((f) => setTimeout(f, 20));
}

before(async () => {
  ({ pg15, pg17 } = await startServers('pg15', 'pg17'));
  await createSampleDatabase(pg15, 'shop');
  await addMigrationObjects(pg15, 'shop');
  await createMigrator(pg17);
  dir = mkdtempSync(join(tmpdir(), 'hm-stream-'));
});
after(async () => {
  await Promise.all([pg15?.stop(), pg17?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('streamed migration PG15 -> PG17', () => {
  it('a small database streams in one pass: the database first, then dump and load together; every row arrives', async () => {
    const lines: string[] = [];
    const events: string[] = [];
    const result = await migrate(
      base('shop_s', 'shop.dir', {
        onLine: (step, l) => {
          lines.push(l);
          events.push(`line ${step}`);
        },
        onPlan: () => events.push('plan'),
        onStep: (step, phase) => events.push(`${step} ${phase}`),
      }),
    );
    assert.equal(result.ok, true, JSON.stringify(result.steps.find((s) => !s.ok)?.failure));
    assert.equal(result.plan?.kind, 'stream');
    assert.match(result.plan.reason, /too little for parallel jobs to pay/);
    assert.deepEqual(
      result.steps.map((s) => s.step),
      ['preflight', 'create-database', 'dump', 'restore', 'analyze'],
    );
    // pg_dump started while the database was created and the estimate sampled: its output still shows in its step.
    assert.equal(result.steps.find((s) => s.step === 'create-database')?.detail, 'while pg_dump ran');
    const at = (e: string): number => events.indexOf(e);
    assert.ok(at('plan') > at('preflight end') && at('plan') < at('create-database start'), events.join(', '));
    assert.ok(at('create-database end') < at('dump start'), events.join(', '));
    assert.ok(at('line dump') > at('dump start'), 'no line of pg_dump before its step is shown');
    const archive = result.dump!.archive!;
    assert.equal(archive.path, join(dir, 'shop.dump'), 'the .dir suffix follows the plan: a custom-format file');
    assert.equal(archive.sha256, sha256(archive.path), 'the sha256 computed on the way is the file');
    assert.ok(!existsSync(`${archive.path}.partial`));
    const listed = spawnSync(join(PG15_TOOLS, 'pg_restore'), ['-l', archive.path], { encoding: 'utf8' });
    assert.equal(listed.status, 0, listed.stderr);
    assert.match(listed.stdout, /TABLE DATA public accounts/);
    const streamed = result.steps.find((s) => s.step === 'dump')!.command!;
    assert.match(streamed, /pg_dump .*--format=custom.*\| tee .*shop\.dump \| PGHOST=.*pg_restore /);
    assert.doesNotMatch(streamed, /PGOPTIONS/, 'no startup options: poolers refuse them');
    assert.doesNotMatch(streamed, /--section/, 'small indexes: built in the same pass');
    assert.equal(result.plan.indexJobs, 1);
    assert.ok(
      lines.some((l) => /processing data for table "public\.accounts"/.test(l)),
      'the load ran in the dump step',
    );
    const report = await validate({ source: sideOn(pg15, 'shop'), target: sideOn(pg17, 'shop_s', { admin: true }), checksums: true });
    assert.equal(report.ok, true, JSON.stringify(report.tables.filter((t) => t.status !== 'match')));
    assert.ok(report.tables.length >= 8);
    const idx = await pg17.sql(`SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'accounts_name_idx'`, 'shop_s');
    assert.equal(idx.rows[0].n, 1, 'post-data (indexes) restored');
  });

  it('indexes afterwards with 2 jobs: the load takes pre-data and data, post-data comes from the archive', async () => {
    const result = await migrate(base('shop_two', 'two.dump', { plan: 'stream', indexJobs: 2 }));
    assert.equal(result.ok, true, JSON.stringify(result.steps.find((s) => !s.ok)?.failure));
    assert.match(result.plan!.reason, /then the indexes with 2 jobs/);
    assert.match(result.steps.find((s) => s.step === 'dump')!.command!, /pg_restore .*--section=pre-data --section=data/);
    assert.match(result.restore!.command, /--jobs=2 .*--section=post-data .*two\.dump/);
    const report = await validate({ source: sideOn(pg15, 'shop'), target: sideOn(pg17, 'shop_two', { admin: true }) });
    assert.equal(report.ok, true, JSON.stringify(report.tables.filter((t) => t.status !== 'match')));
    assert.ok(
      report.objects.every((x) => x.status === 'match'),
      JSON.stringify(report.objects.filter((x) => x.status !== 'match')),
    );
  });

  it('a load that fails (owners kept, a role missing on the target) reports the grouped errors and keeps a complete archive', async () => {
    const result = await migrate(base('shop_owners', 'owners.dump', { noOwner: false, plan: 'stream', indexJobs: 2 }));
    assert.equal(result.ok, false);
    assert.equal(result.failedStep, 'restore');
    const restoreStep = result.steps.find((s) => s.step === 'restore')!;
    assert.equal(restoreStep.failure?.problem, 'restore_errors');
    const roles = result.restore!.errors.find((g) => g.cause === 'missing_role');
    assert.ok(roles?.names.includes('app_owner'), JSON.stringify(result.restore!.errors));
    const archive = result.dump!.archive!;
    assert.equal(archive.sha256, sha256(archive.path));
    // The archive is whole: restoring it with --no-owner elsewhere gives every row.
    await pg17.sql('CREATE DATABASE shop_again TEMPLATE template0');
    const r = spawnSync(join(PG15_TOOLS, 'pg_restore'), ['--no-owner', '--no-acl', '-d', 'shop_again', archive.path], {
      env: { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(pg17.port), PGUSER: pg17.adminUser, PGPASSWORD: pg17.adminPassword },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const report = await validate({ source: sideOn(pg15, 'shop'), target: sideOn(pg17, 'shop_again', { admin: true }) });
    assert.equal(report.ok, true);
  });

  it('a table locked on the source: the dump gives up before any byte, no archive is left, the database created for it is dropped again', async () => {
    await whileAuditLogLocked(async () => {
      const t0 = Date.now();
      const result = await migrate(base('shop_locked', 'locked.dump', { plan: 'stream', lockWaitTimeoutSeconds: 1 }));
      assert.ok(Date.now() - t0 < 20_000);
      assert.equal(result.failedStep, 'dump');
      assert.ok(result.plan?.shape, 'the sizes were read from the catalog estimates, not waited for behind the lock');
      const failure = result.steps.find((s) => s.step === 'dump')!.failure!;
      assert.equal(failure.problem, 'lock_timeout');
      // pg_dump locks every table before it writes: nothing reached the target, which is left as it was.
      assert.match(
        failure.hint,
        /Nothing was loaded into "shop_locked"\. "shop_locked", created on the target for this run, was dropped again\./,
      );
      const left = await pg17.sql(`SELECT count(*)::int AS n FROM pg_database WHERE datname = 'shop_locked'`);
      assert.equal(left.rows[0].n, 0);
      assert.ok(!existsSync(join(dir, 'locked.dump')) && !existsSync(join(dir, 'locked.dump.partial')));
      assert.deepEqual(toolsOn(), []);
      // The create step was reported done while pg_dump waited: its record says the database went again.
      assert.match(
        result.steps.find((s) => s.step === 'create-database')?.detail ?? '',
        /while pg_dump ran; dropped again after the dump failed/,
      );
    });
  });

  it("a migration that stops before its estimate's sample began never starts it: no psql reads the source after the run", async () => {
    await withBigTable('sampled');
    await whileLocked(pg15, 'sampled', 'public.big', async () => {
      // Reading the sizes waits on the locked table (up to its 2 s lock timeout, then the catalog's
      // estimates), and the sample after it would wait 2 s more; the readiness checks fail at once
      // meanwhile (the target refuses the password).
      const t0 = Date.now();
      const result = await migrate({
        ...base('sampled', 'sampled'),
        source: sideOn(pg15, 'sampled', { admin: true }),
        target: { ...sideOn(pg17, 'sampled', { admin: true }), password: 'not-the-password' },
      });
      assert.equal(result.failedStep, 'preflight');
      assert.ok(Date.now() - t0 < 1500, `the checks took ${Date.now() - t0} ms: the sizes may have been read already`);
      // Watched until the sizes' readers have given up: the sample never starts reading the source.
      const seen = new Set<string>();
      while (Date.now() - t0 < 3500) {
        for (const pid of psqlOnSource()) seen.add(pid);
        await new Promise((f) => setTimeout(f, 20));
      }
      assert.deepEqual([...seen], [], 'a psql ran against the source after the migration had stopped');
      assert.equal(await lockWaiters('sampled'), 0);
    });
  });

  it("a reader of the source's sizes that is no longer needed is closed at once, not left waiting on a locked table", async () => {
    await withBigTable('sampled_readers');
    const source = sideOn(pg15, 'sampled_readers', { admin: true });
    await whileLocked(pg15, 'sampled_readers', 'public.big', async () => {
      const stop = new AbortController();
      const reading = readDataShape(source, stop.signal).then(
        () => 'read',
        (err: Error) => err.message,
      );
      await lockWaiterSeen('sampled_readers');
      assert.equal(await lockWaiters('sampled_readers'), 1, 'the reader waits on the locked table (its lock timeout is 2 s)');
      stop.abort();
      const outcome = await Promise.race([reading, new Promise((f) => setTimeout(() => f('still waiting after 1 s'), 1000))]);
      assert.equal(outcome, 'Connection terminated');
    });
  });

  it("a sample that outlasts the plan's wait is cancelled then: its psql and its query end at once", async () => {
    await withBigTable('sampled_late');
    const source = sideOn(pg15, 'sampled_late', { admin: true });
    // The sizes are read before the lock: only the sample's COPY waits (up to its own 2 s lock timeout).
    const shape = await readDataShape(source);
    await whileLocked(pg15, 'sampled_late', 'public.big', async () => {
      const sample = new SourceSample(source, Promise.resolve(shape), PG15_TOOLS, undefined);
      await lockWaiterSeen('sampled_late');
      assert.equal(await lockWaiters('sampled_late'), 1, "the sample's COPY waits on the locked table");
      assert.equal(await sample.within(100), undefined);
      const t0 = Date.now();
      while (Date.now() - t0 < 1000 && (psqlOnSource().length || (await lockWaiters('sampled_late'))))
        await new Promise((f) => setTimeout(f, 20));
      assert.deepEqual(psqlOnSource(), [], 'psql still runs: left to its lock timeout');
      assert.equal(await lockWaiters('sampled_late'), 0);
    });
  });

  it('directory plan: a dump that gives up drops the target database created while it ran', async () => {
    await whileAuditLogLocked(async () => {
      const result = await migrate(base('shop_dlocked', 'dlocked', { plan: 'directory', lockWaitTimeoutSeconds: 1 }));
      assert.equal(result.failedStep, 'dump');
      assert.deepEqual(
        result.steps.map((s) => s.step),
        ['preflight', 'dump'],
      );
      const failure = result.steps.find((s) => s.step === 'dump')!.failure!;
      assert.equal(failure.problem, 'lock_timeout');
      assert.match(failure.hint, /"shop_dlocked", created on the target for this run, was dropped again\./);
      const left = await pg17.sql(`SELECT count(*)::int AS n FROM pg_database WHERE datname = 'shop_dlocked'`);
      assert.equal(left.rows[0].n, 0, 'the target is left as it was');
      assert.ok(!existsSync(join(dir, 'dlocked.dir')) && !existsSync(join(dir, 'dlocked.dir.partial')));
    });
  });

  it('a target still being created: pg_dump runs meanwhile, held by the pipe; the load starts once it exists, every row arrives', async () => {
    // Larger than the pipe and the stream's buffers (a few hundred KB): pg_dump must wait for the target.
    await pg15.sql('CREATE DATABASE gsrc');
    await pg15.sql(`CREATE TABLE public.rows AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 300000) g`, 'gsrc');
    const out = join(dir, 'gated.dump');
    let made: (ok: boolean) => void = () => undefined;
    const targetReady = new Promise<boolean>((resolve) => (made = resolve));
    const streaming = streamDumpAndLoad(
      {
        ...streamTools(),
        source: sideOn(pg15, 'gsrc', { admin: true }),
        target: sideOn(pg17, 'gated', { admin: true }),
        out,
        jobs: 1,
        targetReady,
      },
      {},
    );
    try {
      const deadline = Date.now() + 20_000;
      while (!toolsOn().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 500));
      const running = toolsOn().map((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]);
      assert.deepEqual(running, [join(PG15_TOOLS, 'pg_dump')], 'only pg_dump runs while the target does not exist');
      await pg17.sql('CREATE DATABASE gated');
      made(true);
    } finally {
      made(false); // a failed check above: the dump stops (a second call does nothing)
    }
    const { dump: dumped, load } = await streaming;
    assert.equal(dumped.ok, true, JSON.stringify(dumped.failure));
    assert.equal(load?.run.exitCode, 0, load?.run.stderrLines.join('\n'));
    assert.equal(dumped.archive?.sha256, sha256(out));
    const rows = await pg17.sql('SELECT count(*)::int AS n, count(DISTINCT h)::int AS h FROM public.rows', 'gated');
    assert.deepEqual(rows.rows[0], { n: 300000, h: 300000 });
  });

  it('into an existing empty database: no create, and the dump step shows its command once it has begun', async () => {
    await pg17.sql('CREATE DATABASE shop_e');
    const events: string[] = [];
    const result = await migrate(
      base('shop_e', 'shop_e.dump', {
        onCommand: (step) => events.push(`command ${step}`),
        onStep: (step, phase) => events.push(`${step} ${phase}`),
      }),
    );
    assert.equal(result.ok, true, JSON.stringify(result.steps.find((s) => !s.ok)?.failure));
    assert.equal(result.steps.find((s) => s.step === 'create-database')?.detail, '"shop_e" exists already');
    assert.ok(events.indexOf('command dump') > events.indexOf('dump start'), events.join(', '));
  });

  it('a target that cannot be made while pg_dump waits on a lock: pg_dump is stopped then, not after the lock', async () => {
    await whileAuditLogLocked(async () => {
      const t0 = Date.now();
      const { dump: dumped } = await streamDumpAndLoad(
        {
          ...streamTools(),
          source: sideOn(pg15, 'shop'),
          target: sideOn(pg17, 'never_made', { admin: true }),
          out: join(dir, 'waiting.dump'),
          jobs: 1,
          targetReady: new Promise((resolve) => setTimeout(() => resolve(false), 500)),
        },
        {},
      );
      assert.ok(Date.now() - t0 < 5_000, `stopped after ${Date.now() - t0} ms (no lock timeout was set)`);
      assert.match(dumped.failure?.message ?? '', /the target database could not be created/);
      assert.ok(!existsSync(join(dir, 'waiting.dump')) && !existsSync(join(dir, 'waiting.dump.partial')));
      assert.deepEqual(toolsOn(), []);
    });
  });

  it('a target that could not be created: the dump stops, no archive is left, nothing touches the target', async () => {
    const out = join(dir, 'never.dump');
    const { dump: dumped, touched } = await streamDumpAndLoad(
      {
        ...streamTools(),
        source: sideOn(pg15, 'shop'),
        target: sideOn(pg17, 'never_made', { admin: true }),
        out,
        jobs: 1,
        targetReady: Promise.resolve(false),
      },
      {},
    );
    assert.equal(dumped.ok, false);
    assert.equal(touched, false);
    assert.match(dumped.failure?.message ?? '', /the target database could not be created/);
    assert.ok(!existsSync(out) && !existsSync(`${out}.partial`));
    assert.deepEqual(toolsOn(), []);
  });

  it('cancel during the stream stops pg_dump and pg_restore within 2 s and removes the partial archive', async () => {
    await pg15.sql(`CREATE DATABASE big OWNER ${MIGRATOR}`);
    await pg15.sql(
      `SET ROLE ${MIGRATOR}; CREATE TABLE public.big AS SELECT g AS id, md5(g::text) AS h, repeat('x', 200) AS pad FROM generate_series(1, 1500000) g`,
      'big',
    );
    const out = join(dir, 'big.dump');
    const controller = new AbortController();
    // One session loads the table (pg_restore's own COPY); the parallel load's cancel is tested in split-load.test.ts.
    const running = migrate({
      ...base('big_s', 'big.dump', { plan: 'stream', signal: controller.signal, splitMinBytes: Number.MAX_SAFE_INTEGER }),
      source: sideOn(pg15, 'big'),
    });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const loading = await pg17
        .sql(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'big_s' AND query LIKE 'COPY%'`)
        .catch(() => ({ rows: [{ n: 0 }] }));
      if (loading.rows[0].n > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(existsSync(`${out}.partial`), 'the stream is running');
    assert.ok(toolsOn().length >= 2, 'pg_dump and pg_restore are seen while they run');
    const t0 = Date.now();
    controller.abort();
    const result = await running;
    assert.ok(Date.now() - t0 < 2_000, `stopped in ${Date.now() - t0} ms`);
    assert.equal(result.steps.find((s) => s.step === 'dump')?.failure?.problem, 'cancelled');
    assert.ok(!existsSync(out) && !existsSync(`${out}.partial`));
    assert.deepEqual(toolsOn(), []);
    await new Promise((r) => setTimeout(r, 500));
    const left = await pg17.sql(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'big_s'`);
    assert.equal(left.rows[0].n, 0, 'no session left on the target');
  });
});
