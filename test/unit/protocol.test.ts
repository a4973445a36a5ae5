/** The webview protocol's runtime guards: well-formed messages pass, anything else is dropped. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parseHostMessage, parseWebviewMessage } from '../../src/shared/protocol.js';

describe('parseWebviewMessage', () => {
  const accepted: unknown[] = [
    { type: 'ready' },
    { type: 'rerun', id: 1, checksums: true },
    { type: 'recheckTable', id: 2, schema: 'public', name: 'a "b"' },
    { type: 'export', id: 3, format: 'markdown' },
    { type: 'copyCountQuery', id: 4, schema: 's', name: 't' },
    { type: 'syncSequences', id: 5 },
    { type: 'rendered', rows: 2, totalRows: 10, summary: 'The target matches', tab: 'tables' },
  ];
  for (const m of accepted) it(`accepts ${JSON.stringify(m)}`, () => assert.deepEqual(parseWebviewMessage(m), m));

  const rejected: Array<[string, unknown]> = [
    ['not an object', 'ready'],
    ['null', null],
    ['an array', [{ type: 'ready' }]],
    ['an unknown type', { type: 'dropDatabase', id: 1 }],
    ['a request without id', { type: 'rerun', checksums: false }],
    ['a negative id', { type: 'rerun', id: -1, checksums: false }],
    ['checksums not a boolean', { type: 'rerun', id: 1, checksums: 'yes' }],
    ['an unknown export format', { type: 'export', id: 1, format: 'sql' }],
    ['a name that is not text', { type: 'recheckTable', id: 1, schema: 'public', name: 7 }],
    ['a sequence sync without id', { type: 'syncSequences' }],
    ['a name far longer than any identifier', { type: 'copyCountQuery', id: 1, schema: 'public', name: 'x'.repeat(5000) }],
    ['a tab that does not exist', { type: 'rendered', rows: 1, totalRows: 1, summary: '', tab: 'other' }],
  ];
  for (const [name, m] of rejected) it(`drops ${name}`, () => assert.equal(parseWebviewMessage(m), undefined));

  it('copies only the known fields', () => {
    assert.deepEqual(parseWebviewMessage({ type: 'rerun', id: 1, checksums: false, extra: 'x' }), {
      type: 'rerun',
      id: 1,
      checksums: false,
    });
  });
});

describe('parseHostMessage', () => {
  it('accepts what the host sends', () => {
    for (const m of [
      { type: 'running', title: 'Validate a → b', checksums: false },
      { type: 'progress', done: 1, total: 2 },
      { type: 'error', title: 't', message: 'Could not connect.' },
      { type: 'done', id: 3, ok: true, message: 'Exported to /tmp/x.md' },
    ])
      assert.deepEqual(parseHostMessage(m), m);
    assert.equal(parseHostMessage({ type: 'report', title: 't', report: { tables: [] } })?.type, 'report');
  });
  it('drops the rest', () => {
    for (const m of [
      undefined,
      {},
      { type: 'report', title: 't', report: {} },
      { type: 'progress', done: '1', total: 2 },
      { type: 'done', id: 1, ok: 'true', message: '' },
    ]) {
      assert.equal(parseHostMessage(m), undefined, JSON.stringify(m));
    }
  });
});
