/**
 * The streamed migration's parallel load of its dominant table (PG15 -> PG17, real tools): the
 * table's rows go into the target through 2 sessions fed from the stream, pg_restore loads the
 * rest; every row arrives once with its content (checksums), the archive still holds everything;
 * a session that fails mid-COPY rolls every session back (the table empty, never a part), and the
 * stream reader follows a real archive cut into chunks of any size.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { ArchiveDemux } from '../../src/core/archiveDemux.js';
import { migrate, type MigrateOptions } from '../../src/core/migrate.js';
import { withoutEndMarker } from '../../src/core/splitLoad.js';
import { restorePostData, streamDumpAndLoad, type StreamOptions } from '../../src/core/stream.js';
import { validate } from '../../src/core/validate.js';
import { createMigrator, sideOn } from '../helpers/fixtures.js';
import { PG15_TOOLS, startServers, type TestServer } from '../helpers/servers.js';

let pg15: TestServer;
let pg17: TestServer;
let dir: string;
const ROWS = 1_500_000;

const pgEnv = (server: TestServer): NodeJS.ProcessEnv => ({
  ...process.env,
  PGHOST: '127.0.0.1',
  PGPORT: String(server.port),
  PGUSER: server.adminUser,
  PGPASSWORD: server.adminPassword,
});
const base = (db: string, out: string, extra: Partial<MigrateOptions> = {}): MigrateOptions => ({
  source: sideOn(pg15, 'big', { admin: true }),
  target: sideOn(pg17, db, { admin: true }),
  dumpPath: join(dir, out),
  binDir: PG15_TOOLS,
  jobs: 2,
  plan: 'stream',
  splitMinBytes: 1,
  noOwner: true,
  noAcl: true,
  skipAnalyze: true,
  ...extra,
});

before(async () => {
  ({ pg15, pg17 } = await startServers('pg15', 'pg17'));
  await createMigrator(pg17);
  await pg15.sql(`CREATE DATABASE big TEMPLATE template0 ENCODING 'UTF8'`);
  // Rows with what COPY's text form escapes (tabs, newlines, backslashes, NULLs), arrays, JSON and non-ASCII text.
  await pg15.sql(
    `CREATE TABLE public.wide (id bigint PRIMARY KEY, note text, amount numeric(12,2), at timestamptz, tags text[], doc jsonb);
     INSERT INTO public.wide SELECT g, CASE g % 5 WHEN 0 THEN NULL WHEN 1 THEN E'tab\\there' WHEN 2 THEN E'line\\nbreak \\\\ back' ELSE 'Grüße ' || g END,
            g / 7.0, timestamptz '2024-01-01' + g * interval '1 second', ARRAY['a', 'b' || g], jsonb_build_object('n', g, 's', E'x\\ny')
       FROM generate_series(1, ${ROWS}) g;
     CREATE INDEX wide_at ON public.wide (at);
     CREATE TABLE public.small (id int PRIMARY KEY, name text); INSERT INTO public.small SELECT g, 'n' || g FROM generate_series(1, 100) g;
     CREATE VIEW public.small_names AS SELECT name FROM public.small;
     ANALYZE;`,
    'big',
  );
  dir = mkdtempSync(join(tmpdir(), 'hm-split-'));
});
after(async () => {
  await Promise.all([pg15?.stop(), pg17?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('parallel load of the dominant table', () => {
  it('2 sessions load its rows from the stream, pg_restore the rest; every row arrives once, the archive holds all', async () => {
    const lines: string[] = [];
    const result = await migrate(base('big_split', 'split.dump', { onLine: (_s, l) => lines.push(l) }));
    assert.equal(result.ok, true, JSON.stringify(result.steps.find((s) => !s.ok)?.failure));
    assert.equal(result.plan?.split?.name, 'public.wide');
    assert.match(result.plan.reason, /the largest table's rows through 2 sessions at once/);
    assert.ok(lines.some((l) => /public\.wide: its rows go into the target through 2 sessions at once/.test(l)));
    const loaded = lines.find((l) => /public\.wide: [\d,]+ rows loaded by 2 sessions/.test(l));
    const parts = /\(([\d,]+) \+ ([\d,]+)\)/.exec(loaded ?? '');
    assert.ok(parts, `per-session rows: ${loaded}`);
    const [a, b] = [Number(parts[1]!.replace(/,/g, '')), Number(parts[2]!.replace(/,/g, ''))];
    assert.equal(a + b, ROWS);
    assert.ok(a > 0 && b > 0, 'both sessions took rows');
    assert.ok(!lines.some((l) => /processing data for table "public\.wide"/.test(l)), 'pg_restore skipped its rows');
    assert.ok(
      lines.some((l) => /processing data for table "public\.small"/.test(l)),
      'pg_restore loaded the others',
    );
    const report = await validate({
      source: sideOn(pg15, 'big', { admin: true }),
      target: sideOn(pg17, 'big_split', { admin: true }),
      checksums: true,
    });
    assert.equal(report.ok, true, JSON.stringify(report.tables.filter((t) => t.status !== 'match')));
    assert.ok(
      report.objects.every((x) => x.status === 'match'),
      JSON.stringify(report.objects.filter((x) => x.status !== 'match')),
    );
    // The archive is the whole database: pg_restore alone gives every row again.
    await pg17.sql('CREATE DATABASE big_again TEMPLATE template0');
    const r = spawnSync(join(PG15_TOOLS, 'pg_restore'), ['--no-owner', '--no-acl', '-d', 'big_again', result.dump!.archive!.path], {
      env: pgEnv(pg17),
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const again = await validate({
      source: sideOn(pg15, 'big', { admin: true }),
      target: sideOn(pg17, 'big_again', { admin: true }),
      checksums: true,
    });
    assert.equal(again.ok, true);
  });

  for (const compress of [1, 0])
    it(`the stream reader hands on exactly the table data pg_restore reads, however the stream is cut (-Z${compress})`, async () => {
      // Written through a pipe, as the stream's archive is (no data offsets: the blocks are walked).
      const piped = join(dir, `piped${compress}.dump`);
      const dumped = spawnSync('bash', ['-c', `"${PG15_TOOLS}/pg_dump" -Fc -Z${compress} big | cat > '${piped}'`], {
        env: pgEnv(pg15),
        encoding: 'utf8',
      });
      assert.equal(dumped.status, 0, dumped.stderr);
      const archive = readFileSync(piped);
      const script = spawnSync(join(PG15_TOOLS, 'pg_restore'), ['--data-only', '--table=wide', '--file=-', piped], {
        encoding: 'latin1',
        maxBuffer: 1 << 30,
      });
      assert.equal(script.status, 0, script.stderr);
      const copied = /COPY public\.wide [^\n]*FROM stdin;\n([\s\S]*?)\\\.\n/.exec(script.stdout)?.[1];
      assert.ok(copied, 'the data section of pg_restore --data-only');
      // Cut at every byte through the table of contents and the first rows, then at pseudo-random points, then in big pieces.
      const cuts = (pattern: 'fine' | 'random' | 'big'): number[] => {
        const out: number[] = [];
        let seed = 7;
        for (let at = 0; at < archive.length;) {
          const step =
            pattern === 'big' ? 1 << 20 : pattern === 'fine' && at < 256 * 1024 ? 1 : ((seed = (seed * 48271) % 2147483647) % 9000) + 1;
          out.push((at = Math.min(archive.length, at + step)));
        }
        return out;
      };
      for (const pattern of ['fine', 'random', 'big'] as const) {
        const stored: Buffer[] = [];
        const events: string[] = [];
        const demux = new ArchiveDemux(
          (h) => h.entries.find((e) => e.desc === 'TABLE DATA' && e.tag === 'wide')!.id,
          // Awaited, as the parallel load's sessions are: the end must still come after the last bytes.
          async (b) => {
            stored.push(Buffer.from(b));
            await new Promise((f) => setImmediate(f));
            events.push('data');
          },
          () => events.push('end'),
        );
        let from = 0;
        const reads = cuts(pattern);
        for (const to of reads) {
          await demux.push(archive.subarray(from, to));
          from = to;
        }
        await demux.push(Buffer.alloc(0));
        const size = pattern;
        assert.equal(demux.lost, undefined);
        assert.equal(events.filter((e) => e === 'end').length, 1, `chunks of ${size}: the end of the table's data seen once`);
        assert.equal(events.at(-1), 'end', `chunks of ${size}: the end after the last bytes`);
        // Handed on per read, not per stored chunk (a row each when uncompressed, at most 4 KB each with gzip).
        if (pattern === 'big') assert.ok(stored.length <= 2 * reads.length, `${stored.length} hand-ons for ${reads.length} reads of 1 MiB`);
        // pg_dump writes its end-of-data marker into the archive after the last row; the loading sessions drop it.
        const text = withoutEndMarker(compress ? inflateSync(Buffer.concat(stored)) : Buffer.concat(stored)).toString('latin1');
        assert.equal(text.length, copied.length, `chunks ${size}: as many bytes (ends ${JSON.stringify(text.slice(-40))})`);
        assert.ok(text === copied, `chunks ${size}: the same rows`);
      }
    });

  it('a session that fails mid-COPY: every session rolls back, the table is empty, the others loaded, the archive whole', async () => {
    let killed = 0;
    const killer = setInterval(() => {
      void pg17
        .sql(
          `SELECT pg_terminate_backend(p.pid) AS t FROM pg_stat_progress_copy p JOIN pg_stat_activity a USING (pid)
            WHERE a.application_name = 'hydra-migrate load' AND p.tuples_processed > 10000 AND a.datname = 'big_fail' LIMIT 1`,
        )
        .then((r) => (killed += r.rows.length))
        .catch(() => undefined);
    }, 25);
    let result;
    try {
      result = await migrate(base('big_fail', 'fail.dump'));
    } finally {
      clearInterval(killer);
    }
    assert.ok(killed >= 1, 'a loading session was terminated while it copied');
    assert.equal(result.ok, false);
    assert.equal(result.failedStep, 'restore');
    const failure = result.steps.find((s) => s.step === 'restore')!.failure!;
    assert.match(failure.message, /Loading public\.wide's rows with 2 sessions failed: .*None of its rows were kept/);
    const counts = await pg17.sql(
      `SELECT (SELECT count(*) FROM public.wide)::int AS wide, (SELECT count(*) FROM public.small)::int AS small`,
      'big_fail',
    );
    assert.deepEqual(counts.rows[0], { wide: 0, small: 100 });
    const listed = spawnSync(join(PG15_TOOLS, 'pg_restore'), ['-l', result.dump!.archive!.path], { encoding: 'utf8' });
    assert.match(listed.stdout, /TABLE DATA public wide/);
    const left = await pg17.sql(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'hydra-migrate load'`);
    assert.equal(left.rows[0].n, 0, 'no loading session stays open');
  });

  it('cancel while the sessions copy: stopped within 2 s, no archive left, no session on the target, the table rolled back', async () => {
    const controller = new AbortController();
    const out = join(dir, 'cancel.dump');
    const running = migrate(base('big_cancel', 'cancel.dump', { signal: controller.signal }));
    const deadline = Date.now() + 60_000;
    let seen = false;
    while (Date.now() < deadline) {
      const copying = await pg17
        .sql(
          `SELECT count(*)::int AS n FROM pg_stat_progress_copy p JOIN pg_stat_activity a USING (pid)
            WHERE a.application_name = 'hydra-migrate load' AND a.datname = 'big_cancel' AND p.tuples_processed > 10000`,
        )
        .catch(() => ({ rows: [{ n: 0 }] }));
      if (copying.rows[0].n >= 2) {
        seen = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(seen, 'both sessions were copying when the cancel came');
    const t0 = Date.now();
    controller.abort();
    const result = await running;
    assert.ok(Date.now() - t0 < 2_000, `stopped in ${Date.now() - t0} ms`);
    assert.equal(result.ok, false);
    assert.equal(result.steps.find((s) => s.step === 'dump')?.failure?.problem, 'cancelled');
    assert.ok(!existsSync(out) && !existsSync(`${out}.partial`), 'no archive, complete or partial');
    await new Promise((r) => setTimeout(r, 500));
    const left = await pg17.sql(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'big_cancel'`);
    assert.equal(left.rows[0].n, 0, 'no session left on the target');
    const rows = await pg17.sql(`SELECT count(*)::int AS n FROM public.wide`, 'big_cancel');
    assert.equal(rows.rows[0].n, 0, 'the sessions rolled back');
  });

  it('only large objects come after its rows: the sessions start on them and the migration ends (no wait on each other)', async () => {
    await pg15.sql(`CREATE DATABASE lob TEMPLATE template0 ENCODING 'UTF8'`);
    await pg15.sql(
      `CREATE TABLE public.only_one (id int PRIMARY KEY, v text); INSERT INTO public.only_one SELECT g, repeat('v', 50) FROM generate_series(1, 300000) g;
       SELECT lo_from_bytea(0, 'a large object'); ANALYZE;`,
      'lob',
    );
    const lines: string[] = [];
    const result = await migrate({
      ...base('lob_split', 'lob.dump', { onLine: (_s, l) => lines.push(l) }),
      source: sideOn(pg15, 'lob', { admin: true }),
    });
    assert.equal(result.ok, true, JSON.stringify(result.steps.find((s) => !s.ok)?.failure));
    assert.ok(
      lines.some((l) => /public\.only_one: 300,000 rows loaded by 2 sessions/.test(l)),
      'loaded by the sessions',
    );
    const lo = await pg17.sql(`SELECT count(*)::int AS n FROM pg_largeobject_metadata`, 'lob_split');
    assert.equal(lo.rows[0].n, 1);
    const report = await validate({ source: sideOn(pg15, 'lob', { admin: true }), target: sideOn(pg17, 'lob_split', { admin: true }) });
    assert.equal(report.ok, true);
  });

  it('a parallel load that cannot start (the table not in the stream): pg_restore loads it, and the indexes are still built', async () => {
    await pg17.sql('CREATE DATABASE big_fallback TEMPLATE template0');
    const o: StreamOptions = {
      source: sideOn(pg15, 'big', { admin: true }),
      target: sideOn(pg17, 'big_fallback', { admin: true }),
      pgDump: join(PG15_TOOLS, 'pg_dump'),
      pgRestore: join(PG15_TOOLS, 'pg_restore'),
      out: join(dir, 'fallback.dump'),
      jobs: 1,
      noOwner: true,
      noAcl: true,
      split: { oid: 1, name: 'public.nowhere', sessions: 2 },
    };
    const lines: string[] = [];
    const { dump, load } = await streamDumpAndLoad(o, { onLine: (l) => lines.push(l) });
    assert.equal(dump.ok, true, JSON.stringify(dump.failure));
    assert.equal(load?.split, undefined, 'no parallel load ran');
    const restored = await restorePostData(o, load!, { onLine: (l) => lines.push(l) });
    assert.equal(restored.ok, true, JSON.stringify(restored.failure));
    assert.ok(
      lines.some((l) => /processing data for table "public\.wide"/.test(l)),
      'pg_restore loaded the table',
    );
    const idx = await pg17.sql(`SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'wide'`, 'big_fallback');
    assert.equal(idx.rows[0].n, 2, 'the primary key and wide_at were built');
    const report = await validate({ source: sideOn(pg15, 'big', { admin: true }), target: sideOn(pg17, 'big_fallback', { admin: true }) });
    assert.equal(report.ok, true);
    assert.ok(report.objects.every((x) => x.status === 'match'));
  });
});
