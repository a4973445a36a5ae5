/** The migration plan chosen from the source's sizes (src/core/plan.ts), and the archive suffix that follows it. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { withSuffixOf } from '../../src/core/migrate.js';
import { choosePlan, type DataShape } from '../../src/core/plan.js';

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

  it('a share just under an even split is still parallel; at an even split it streams', () => {
    assert.equal(choosePlan(shape(8, 800, 190), 4).kind, 'directory');
    assert.equal(choosePlan(shape(8, 800, 200), 4).kind, 'stream');
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

describe('withSuffixOf', () => {
  it('swaps .dir and .dump, leaves other paths alone', () => {
    assert.equal(withSuffixOf('/d/shop-1.dir', '.dump'), '/d/shop-1.dump');
    assert.equal(withSuffixOf('/d/shop-1.dump', '.dir'), '/d/shop-1.dir');
    assert.equal(withSuffixOf('/d/shop.archive', '.dump'), '/d/shop.archive');
  });
});
