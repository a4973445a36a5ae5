/** The migration plan chosen from the source's sizes (src/core/plan.ts), and the archive suffix that follows it. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withSuffixOf } from '../../src/core/migrate.js';
import { completeArchive } from '../../src/core/migrateResume.js';
import { choosePlan, freeSpace, planCompression, streamIndexJobs, uncompressedArchive, type DataShape } from '../../src/core/plan.js';

const MB = 1024 * 1024;
const shape = (tables: number, dataMB: number, largestMB: number, name = 'public.pgbench_accounts'): DataShape => ({
  tables,
  dataBytes: dataMB * MB,
  indexBytes: 0,
  largest: { name, bytes: largestMB * MB },
});

describe('choosePlan', () => {
  it('streams when one table holds most of the data, and says which table and how much', () => {
    const p = choosePlan(shape(4, 640, 600), 2);
    assert.equal(p.kind, 'stream');
    assert.match(p.reason, /public\.pgbench_accounts holds 94% of the data/);
  });

  it('uses parallel directory archives when many similar tables keep the jobs busy', () => {
    const p = choosePlan(shape(400, 700, 4), 2);
    assert.equal(p.kind, 'directory');
    assert.match(p.reason, /400 tables, the largest 1% of 700 MB, keep 2 jobs busy/);
  });

  it('streams from 60% of the data in one table (measured), parallel below, whatever the jobs', () => {
    assert.equal(choosePlan(shape(20, 1000, 520, 'public.metrics'), 2).kind, 'directory');
    assert.equal(choosePlan(shape(20, 1000, 600), 2).kind, 'stream');
    assert.equal(choosePlan(shape(20, 1000, 590), 8).kind, 'directory');
    assert.equal(choosePlan(shape(20, 1000, 610), 8).kind, 'stream');
  });

  it('streams small databases and one-job runs', () => {
    assert.match(choosePlan(shape(400, 20, 1), 8).reason, /20\.0 MB of data is too little/);
    assert.equal(choosePlan(shape(400, 20, 1), 8).kind, 'stream');
    assert.equal(choosePlan(shape(400, 2000, 5), 1).kind, 'stream');
  });

  it('an explicit plan is kept; unknown sizes fall back to the directory plan and say why', () => {
    assert.equal(choosePlan(shape(4, 640, 600), 2, 'directory').kind, 'directory');
    assert.match(choosePlan(shape(4, 640, 600), 2, 'custom').reason, /as asked/);
    const unknown = choosePlan(undefined, 2);
    assert.equal(unknown.kind, 'directory');
    assert.match(unknown.reason, /sizes could not be read/);
  });

  it('an empty database streams', () => {
    assert.equal(choosePlan({ tables: 0, dataBytes: 0, indexBytes: 0 }, 4).kind, 'stream');
  });
});

describe('choosePlan: the dominant table loaded by several sessions', () => {
  const big = (mb: number, heap = true): DataShape => {
    const s = shape(4, mb, mb);
    return { ...s, largest: { ...s.largest!, oid: 16400, heap } };
  };
  it('a streamed heap table of 256 MiB or more gets one session per job', () => {
    const plan = choosePlan(big(640), 2);
    assert.equal(plan.kind, 'stream');
    assert.deepEqual(plan.split, { name: 'public.pgbench_accounts', oid: 16400, sessions: 2 });
    assert.match(plan.reason, /the largest table's rows through 2 sessions at once, then the indexes\)/);
    assert.deepEqual(choosePlan(big(640), 4).split?.sessions, 4);
  });
  it('not below the size, with one job, for a table that is not heap (columnar), or for an archive plan', () => {
    assert.equal(choosePlan(big(200), 2).split, undefined);
    assert.equal(choosePlan(big(640), 1).split, undefined);
    assert.equal(choosePlan(big(640, false), 2).split, undefined);
    assert.equal(choosePlan(big(640), 2, 'directory').split, undefined);
    assert.equal(choosePlan(big(640), 2, 'stream').split?.sessions, 2, 'a stream asked for splits too');
    assert.equal(choosePlan(big(1), 2, 'auto', undefined, 1024).split?.sessions, 2, 'the size is a parameter');
  });
});

describe('streamIndexJobs', () => {
  const withIndexes = (indexMB: number, largestMB: number): DataShape => ({
    ...shape(20, 1000, 900),
    indexBytes: indexMB * MB,
    largestIndexes: { name: 'public.big', bytes: largestMB * MB },
  });
  it('one pass when one table holds most of the index bytes, or they are small; N jobs when they are spread', () => {
    assert.equal(streamIndexJobs(withIndexes(200, 190), 4), 1);
    assert.equal(streamIndexJobs(withIndexes(20, 5), 4), 1);
    assert.equal(streamIndexJobs(withIndexes(200, 50), 4), 4);
    assert.equal(streamIndexJobs(withIndexes(200, 50), 1), 1);
  });
  it('the reason says which', () => {
    assert.match(choosePlan(withIndexes(200, 190), 2).reason, /indexes in the same pass/);
    assert.match(choosePlan(withIndexes(200, 50), 2).reason, /then the indexes with 2 jobs/);
  });
});

describe('withSuffixOf', () => {
  it('swaps .dir and .dump, leaves other paths alone', () => {
    assert.equal(withSuffixOf('/d/shop-1.dir', '.dump'), '/d/shop-1.dump');
    assert.equal(withSuffixOf('/d/shop-1.dump', '.dir'), '/d/shop-1.dir');
    assert.equal(withSuffixOf('/d/shop.archive', '.dump'), '/d/shop.archive');
  });
});

describe('completeArchive (migrate --resume)', () => {
  it('an archive at the path or with the other suffix, unless a later dump to it was cut (a .partial beside it)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hm-kept-'));
    try {
      const at = (name: string) => join(dir, name);
      assert.equal(completeArchive(at('shop.dump')), undefined, 'nothing there');
      mkdirSync(at('shop.dir'));
      assert.equal(completeArchive(at('shop.dump')), at('shop.dir'), 'the directory plan wrote it');
      writeFileSync(at('shop.dump'), 'PGDMP');
      assert.equal(completeArchive(at('shop.dump')), at('shop.dump'));
      // A later dump to the same path was cut: what is at the path is an earlier run's, not this one's.
      writeFileSync(at('shop.dump.partial'), '');
      mkdirSync(at('shop.dir.partial'));
      assert.equal(completeArchive(at('shop.dump')), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('uncompressedArchive', () => {
  const many = (): DataShape => ({
    tables: 400,
    dataBytes: 439 * 2 ** 20,
    indexBytes: 200 * 2 ** 20,
    largest: { name: 'public.t1', bytes: 2 ** 20 },
  });
  it('writes a directory archive uncompressed when its disk holds twice the data plus 1 GiB, and says so', () => {
    const plan = choosePlan(many(), 2);
    assert.equal(plan.kind, 'directory');
    const free = 2 * 439 * 2 ** 20 + 2 ** 30;
    const chosen = uncompressedArchive(plan, free);
    assert.equal(chosen.compress, 0);
    assert.match(chosen.reason, /Archive uncompressed \(about 439 MB, .* free there\).*--compress 1/);
    assert.equal(uncompressedArchive(plan, free - 1).compress, undefined, 'one byte short: compressed as before');
    assert.match(uncompressedArchive(plan, free - 1).reason, /Archive gzip level 1: .* free there, less than an uncompressed one wants/);
    assert.equal(uncompressedArchive(plan, undefined).compress, undefined, 'free space unknown: compressed');
    assert.match(uncompressedArchive(plan, undefined).reason, /Archive gzip level 1: the free space where it goes could not be read/);
  });
  it('keeps the streamed plan compressed (its bytes cross two pipes)', () => {
    const stream = choosePlan(many(), 2, 'stream');
    assert.equal(uncompressedArchive(stream, 2 ** 50).compress, undefined);
    assert.equal(uncompressedArchive(stream, 2 ** 50).reason, stream.reason);
  });
  it('a level asked for (--compress, hydraMigrate.archiveCompression) is kept; no folder: the plan as chosen', () => {
    const plan = choosePlan(many(), 2);
    const asked = planCompression(plan, 1, tmpdir());
    assert.equal(asked.compress, undefined, 'the level travels as --compress, not as the plan choice');
    assert.match(asked.reason, /Archive gzip level 1, as asked\.$/);
    assert.match(planCompression(plan, 0, tmpdir()).reason, /Archive uncompressed, as asked\.$/);
    assert.equal(planCompression(plan, undefined, undefined), plan);
  });
  it("the free space of a folder not made yet is its nearest existing parent's", () => {
    const base = mkdtempSync(join(tmpdir(), 'hm-free-'));
    try {
      const there = freeSpace(base);
      assert.ok(there !== undefined && there > 0);
      const notYet = freeSpace(join(base, 'dumps', 'later'));
      assert.ok(notYet !== undefined && Math.abs(notYet - there) < 2 ** 30, `${notYet} vs ${there}`);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});
