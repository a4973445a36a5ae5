import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countSessions } from '../../src/core/validatePool.js';
import { compareByKey } from '../../src/core/validateInventory.js';

describe('validation sessions per side', () => {
  it('as many counting sessions as there are batches, up to the wanted pool less the objects session', () => {
    assert.equal(countSessions(4, 1), 1); // pgbench: 4 tables, one batch
    assert.equal(countSessions(4, 2), 2);
    assert.equal(countSessions(4, 40), 3); // 1,000 tables in batches of 25
    assert.equal(countSessions(16, 40), 15);
  });
  it('at least one, even with nothing to count or a pool of one', () => {
    assert.equal(countSessions(4, 0), 1);
    assert.equal(countSessions(1, 10), 1);
  });
});

describe('compareByKey', () => {
  it('pairs by key in key order, each side present or not', () => {
    const pairs = compareByKey([{ k: 'b' }, { k: 'a' }], [{ k: 'c' }, { k: 'a' }], (x) => x.k);
    assert.deepEqual(
      pairs.map((p) => [p.key, !!p.source, !!p.target]),
      [
        ['a', true, true],
        ['b', true, false],
        ['c', false, true],
      ],
    );
  });
});
