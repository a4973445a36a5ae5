/**
 * A live source validated as of the dump, against a real PG15 source that keeps taking writes
 * while a real PG17 target is loaded by the real PG15 tools: the dump and the validation read the
 * same exported snapshot, so the copy validates exactly and the source's rows now are reported
 * beside; read live, the same copy would differ. The snapshot is released after the validation,
 * and when the migration fails or is cancelled.
 */
import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { migrate, type MigrateOptions } from '../../src/core/migrate.js';
import { formatReportText } from '../../src/core/reportFormat.js';
import { syncSequences } from '../../src/core/sequences.js';
import { exportSnapshot } from '../../src/core/snapshot.js';
import { validate } from '../../src/core/validate.js';
import { createMigrator, MIGRATOR, MIGRATOR_PASSWORD, sideOn } from '../helpers/fixtures.js';
import { PG15_TOOLS, startServers, type TestServer } from '../helpers/servers.js';

let pg15: TestServer;
let pg17: TestServer;
let dir: string;

const options = (db: string, extra: Partial<MigrateOptions> = {}): MigrateOptions => ({
  source: sideOn(pg15, 'live'),
  target: sideOn(pg17, db, { admin: true }),
  dumpPath: join(dir, `${db}.dump`),
  binDir: PG15_TOOLS,
  jobs: 2,
  noOwner: true,
  noAcl: true,
  snapshot: true,
  skipAnalyze: true,
  ...extra,
});

/** Sessions of ours still open on the source: the snapshot's, or any idle in a transaction. */
const heldOnSource = async (): Promise<string[]> =>
  (
    await pg15.sql(
      `SELECT application_name || ' ' || state AS s FROM pg_stat_activity
        WHERE datname = 'live' AND (application_name = 'hydra-migrate snapshot' OR state LIKE 'idle in transaction%')`,
    )
  ).rows.map((r: { s: string }) => r.s);

/** The application: inserts and deletes rows of public.orders until stopped. */
function startWriter(): { stop: () => Promise<number> } {
  const client = new pg.Client({ host: '127.0.0.1', port: pg15.port, user: MIGRATOR, password: MIGRATOR_PASSWORD, database: 'live' });
  let running = true;
  let writes = 0;
  const loop = (async () => {
    await client.connect();
    while (running) {
      await client.query(`INSERT INTO public.orders (note) SELECT 'late ' || g FROM generate_series(1, 50) g`);
      await client.query(`DELETE FROM public.orders WHERE id IN (SELECT id FROM public.orders ORDER BY id LIMIT 5)`);
      writes++;
      await new Promise((r) => setTimeout(r, 10));
    }
    await client.end();
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return writes;
    },
  };
}

before(async () => {
  ({ pg15, pg17 } = await startServers('pg15', 'pg17'));
  await createMigrator(pg15);
  await pg15.sql(`CREATE DATABASE live OWNER ${MIGRATOR}`);
  await pg15.sql(
    `SET ROLE ${MIGRATOR};
     CREATE TABLE public.orders (id bigserial PRIMARY KEY, note text);
     INSERT INTO public.orders (note) SELECT md5(g::text) FROM generate_series(1, 300000) g;
     CREATE TABLE public.settled (id int PRIMARY KEY);
     INSERT INTO public.settled SELECT generate_series(1, 1000);`,
    'live',
  );
  dir = mkdtempSync(join(tmpdir(), 'hm-snapshot-'));
});
after(async () => {
  await Promise.all([pg15?.stop(), pg17?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a live source validated as of the dump', () => {
  it('writes during and after the dump: the copy validates exactly on the snapshot; read live it would differ', async () => {
    const writer = startWriter();
    let said: string | undefined;
    const result = await migrate(options('live_copy', { onSnapshot: (s) => (said = s?.takenAt) }));
    try {
      assert.equal(result.ok, true, JSON.stringify(result.steps.find((s) => !s.ok)?.failure));
      assert.ok(result.snapshot?.held, 'held after the migration, for the validation');
      assert.equal(said, result.snapshot.takenAt);
      assert.match(result.steps.find((s) => s.step === 'dump')?.command ?? '', /--snapshot=[0-9A-F]+-[0-9A-F]+/);
      await new Promise((r) => setTimeout(r, 300)); // more writes after the load
      const report = await validate({
        source: sideOn(pg15, 'live'),
        target: sideOn(pg17, 'live_copy', { admin: true }),
        sourceSnapshot: result.snapshot,
      });
      const orders = report.tables.find((t) => t.name === 'orders')!;
      const settled = report.tables.find((t) => t.name === 'settled')!;
      assert.equal(report.sourceBasis, 'snapshot');
      assert.equal(report.sourceSnapshotAt, result.snapshot.takenAt);
      assert.equal(orders.status, 'match', JSON.stringify(orders));
      assert.equal(orders.sourceRows, orders.targetRows);
      assert.ok(Number(orders.sourceRowsNow) > Number(orders.sourceRows), `the source kept growing: ${JSON.stringify(orders)}`);
      assert.equal(settled.sourceRowsNow, settled.sourceRows, 'an untouched table: the same now as at the dump');
      const seq = report.sequences.find((q) => q.name === 'orders_id_seq')!;
      assert.equal(seq.advancedSinceDump, true, JSON.stringify(seq));
      assert.equal(seq.status, 'match');
      assert.equal(report.ok, true, JSON.stringify(report.summary));
      const text = formatReportText(report);
      assert.match(text, /the source as of the dump \(its snapshot, taken /);
      assert.match(text, /Since the dump the source changed: 1 table\(s\) now hold other row counts \(public\.orders [\d,]+ -> [\d,]+\)/);
      assert.match(text, /Sequences that moved on on the source since the dump: public\.orders_id_seq/);

      // Still on the snapshot: a target sequence left behind what the source held at the dump is a gap, not "moved on".
      await pg17.sql(`SELECT setval('public.orders_id_seq', 1)`, 'live_copy');
      // A table truncated on the source after the dump: as of the snapshot it reads empty; not comparable, said so.
      await pg15.sql('TRUNCATE public.settled', 'live');
      const later = await validate({
        source: sideOn(pg15, 'live'),
        target: sideOn(pg17, 'live_copy', { admin: true }),
        sourceSnapshot: result.snapshot,
      });
      const reset = later.sequences.find((q) => q.name === 'orders_id_seq')!;
      assert.equal(reset.status, 'different', JSON.stringify(reset));
      assert.notEqual(reset.advancedSinceDump, true);
      const wiped = later.tables.find((t) => t.name === 'settled')!;
      assert.equal(wiped.status, 'different', JSON.stringify(wiped));
      assert.deepEqual(wiped.problems, ['count_failed']);
      assert.match(wiped.detail ?? '', /truncated or rewritten on the source after the dump/);
      assert.equal(later.tables.find((t) => t.name === 'orders')?.status, 'match', 'the other tables still compare on the snapshot');
      assert.equal(later.ok, false);

      // The same copy against the source as it is now: the rows written since the dump differ.
      const live = await validate({ source: sideOn(pg15, 'live'), target: sideOn(pg17, 'live_copy', { admin: true }) });
      assert.equal(live.sourceBasis, 'live');
      assert.equal(live.ok, false);
      assert.equal(live.tables.find((t) => t.name === 'orders')?.status, 'different');
      assert.equal(live.sequences.find((q) => q.name === 'orders_id_seq')?.status, 'different');
    } finally {
      assert.ok((await writer.stop()) > 5, 'the application wrote while the migration ran');
      await result.snapshot?.release();
    }
    assert.equal(result.snapshot?.held, false);
    assert.deepEqual(await heldOnSource(), [], 'released: nothing holds back vacuum on the source');
  });

  it('a server that ends idle transactions (as managed services do): the snapshot survives the migration and the validation', async () => {
    await pg15.sql(`ALTER ROLE ${MIGRATOR} IN DATABASE live SET idle_in_transaction_session_timeout = '300ms'`);
    let result;
    try {
      result = await migrate(options('live_strict'));
      assert.equal(result.ok, true, JSON.stringify(result.steps.find((s) => !s.ok)?.failure));
      await new Promise((r) => setTimeout(r, 1000)); // idle for longer than the server allows
      assert.equal(result.snapshot?.held, true);
      const report = await validate({
        source: sideOn(pg15, 'live'),
        target: sideOn(pg17, 'live_strict', { admin: true }),
        sourceSnapshot: result.snapshot,
      });
      assert.equal(report.sourceBasis, 'snapshot', report.sourceBasisNote);
      assert.ok(
        report.tables.every((t) => t.sourceRowsNow !== undefined),
        'the count of "now" ran on every table',
      );
    } finally {
      await result?.snapshot?.release();
      await pg15.sql(`ALTER ROLE ${MIGRATOR} IN DATABASE live RESET idle_in_transaction_session_timeout`);
    }
  });

  it('set from source at the cutover: sequences behind are raised to the source, one ahead is never lowered', async () => {
    // live_copy: its orders_id_seq was set back to 1 above; the source's moved on with the writes.
    await pg15.sql(`SET ROLE ${MIGRATOR}; CREATE SEQUENCE public.tickets START 100; SELECT nextval('public.tickets')`, 'live');
    await pg17.sql(`CREATE SEQUENCE public.tickets START 100; SELECT setval('public.tickets', 5000)`, 'live_copy');
    const source = sideOn(pg15, 'live');
    const target = sideOn(pg17, 'live_copy', { admin: true });
    const dry = await syncSequences(source, target, { dryRun: true });
    assert.equal(dry.find((c) => c.name === 'orders_id_seq')?.action, 'set');
    assert.equal(
      (await pg17.sql(`SELECT last_value::text AS v FROM public.orders_id_seq`, 'live_copy')).rows[0].v,
      '1',
      'a dry run changes nothing',
    );
    const changes = await syncSequences(source, target);
    const orders = changes.find((c) => c.name === 'orders_id_seq')!;
    assert.equal(orders.action, 'set');
    const now = (await pg15.sql(`SELECT last_value::text AS v FROM public.orders_id_seq`, 'live')).rows[0].v;
    assert.equal((await pg17.sql(`SELECT last_value::text AS v FROM public.orders_id_seq`, 'live_copy')).rows[0].v, now);
    assert.deepEqual(
      changes.find((c) => c.name === 'tickets'),
      { schema: 'public', name: 'tickets', from: '5001', source: '101', action: 'kept_ahead' },
    );
    assert.equal((await pg17.sql(`SELECT last_value::text AS v FROM public.tickets`, 'live_copy')).rows[0].v, '5000', 'never lowered');
    const after = await validate({ source, target });
    assert.equal(after.sequences.find((q) => q.name === 'orders_id_seq')?.status, 'match');
    // A target restarted ahead on purpose (is_called false: pg_sequences shows NULL there) is never lowered.
    await pg17.sql(`ALTER SEQUENCE public.tickets RESTART WITH 900000`, 'live_copy');
    const restarted = (await syncSequences(source, target)).find((c) => c.name === 'tickets')!;
    assert.equal(restarted.action, 'kept_ahead', JSON.stringify(restarted));
    assert.equal((await pg17.sql(`SELECT last_value::text AS v FROM public.tickets`, 'live_copy')).rows[0].v, '900000');
    // A sequence the source user may not read: refused with the reason, and nothing set (a target sequence behind stays behind).
    await pg17.sql(`SELECT setval('public.orders_id_seq', 1)`, 'live_copy');
    await pg15.sql(`CREATE SEQUENCE public.secret_seq`, 'live');
    await assert.rejects(
      syncSequences(source, target),
      /The source user may not read 1 sequence\(s\) \(public\.secret_seq\); nothing was set/,
    );
    assert.equal((await pg17.sql(`SELECT last_value::text AS v FROM public.orders_id_seq`, 'live_copy')).rows[0].v, '1', 'nothing was set');
    await pg15.sql(`DROP SEQUENCE public.secret_seq`, 'live');
  });

  it('a snapshot no longer held: the validation says so and reads the source live', async () => {
    const snap = await exportSnapshot(sideOn(pg15, 'live'));
    await snap.release();
    const report = await validate({
      source: sideOn(pg15, 'live'),
      target: sideOn(pg17, 'live_copy', { admin: true }),
      sourceSnapshot: snap,
    });
    assert.equal(report.sourceBasis, 'live');
    assert.match(report.sourceBasisNote ?? '', /The dump's snapshot could not be used \(.*\); the source was read live/);
    assert.equal(report.tables[0]?.sourceRowsNow, undefined);
  });

  it('a migration that fails after the snapshot was taken releases it', async () => {
    // Cancelled as soon as the dump speaks: after the snapshot was exported.
    const controller = new AbortController();
    const result = await migrate(
      options('live_cancelled', {
        signal: controller.signal,
        onLine: (step) => {
          if (step === 'dump') controller.abort();
        },
      }),
    );
    assert.equal(result.ok, false);
    assert.ok(result.snapshot, 'it had been taken');
    for (let i = 0; i < 50 && (await heldOnSource()).length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await heldOnSource(), []);
    assert.equal(result.snapshot.held, false);
  });

  it('--no-snapshot (snapshot off): the dump reads the source live and holds nothing', async () => {
    const result = await migrate(options('live_plain', { snapshot: false }));
    assert.equal(result.ok, true);
    assert.equal(result.snapshot, undefined);
    assert.doesNotMatch(result.steps.find((s) => s.step === 'dump')?.command ?? '', /--snapshot/);
    assert.deepEqual(await heldOnSource(), []);
  });
});
