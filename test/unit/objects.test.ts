/** The Objects tab's Detail: what was compared for each kind of object, in words. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { objectDetail } from '../../src/core/validateInventory.js';

describe('objectDetail', () => {
  it('large objects: the counts, on both sides or each', () => {
    assert.equal(objectDetail('large objects', 'match', '3', '3'), '3 on both sides');
    assert.equal(objectDetail('large objects', 'different', '3', '1'), 'source 3, target 1');
  });
  it('extensions: the version, or both when they differ', () => {
    assert.equal(objectDetail('extension', 'match', '1.4', '1.4'), 'version 1.4');
    assert.equal(objectDetail('extension', 'different', '1.4', '1.5'), 'version 1.4 on the source, 1.5 on the target');
    assert.equal(objectDetail('extension', 'missing_in_target', '1.4', undefined), 'only on the source: version 1.4');
  });
  it('definitions: shown when they match, both when they differ, the side that has it otherwise', () => {
    const def = 'CREATE INDEX i ON public.t USING btree (a)';
    assert.equal(objectDetail('index', 'match', def, def), def);
    assert.equal(
      objectDetail('index', 'different', def, 'CREATE INDEX i ON public.t USING hash (a)'),
      `source: ${def} / target: CREATE INDEX i ON public.t USING hash (a)`,
    );
    assert.equal(objectDetail('index', 'missing_in_target', def, undefined), `only on the source: ${def}`);
    assert.equal(objectDetail('view', 'extra_in_target', undefined, undefined), 'only on the target');
    assert.equal(objectDetail('schema', 'match', undefined, undefined), undefined);
  });
});
