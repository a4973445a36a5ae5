/** The Objects and sequences tab of the validation view. */
import type { ValidationReport } from '../../src/shared/report.js';
import { el, fmt, statusLabel } from './dom.js';

export function objectsTab(r: ValidationReport): HTMLElement {
  const wrap = el('div');
  const objs = [...r.objects].sort(
    (a, b) =>
      (a.status === 'match' ? 1 : 0) - (b.status === 'match' ? 1 : 0) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name),
  );
  const t1 = el(
    'table',
    { class: 'grid' },
    el(
      'thead',
      {},
      el('tr', {}, el('th', {}, 'Status'), el('th', {}, 'Kind'), el('th', {}, 'Schema'), el('th', {}, 'Name'), el('th', {}, 'Detail')),
    ),
  );
  const b1 = el('tbody');
  for (const o of objs)
    b1.append(
      el(
        'tr',
        {},
        el('td', { class: `status ${o.status}` }, statusLabel[o.status] ?? o.status),
        el('td', {}, o.kind),
        el('td', {}, o.schema),
        el('td', {}, o.name),
        el('td', {}, o.detail ?? ''),
      ),
    );
  t1.append(b1);
  const t2 = el(
    'table',
    { class: 'grid' },
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        el('th', {}, 'Status'),
        el('th', {}, 'Schema'),
        el('th', {}, 'Sequence'),
        el('th', { class: 'num' }, 'Source value'),
        el('th', { class: 'num' }, 'Target value'),
      ),
    ),
  );
  const b2 = el('tbody');
  for (const q of r.sequences)
    b2.append(
      el(
        'tr',
        {},
        el('td', { class: `status ${q.status}` }, statusLabel[q.status] ?? q.status),
        el('td', {}, q.schema),
        el('td', {}, q.name),
        el('td', { class: 'num' }, fmt(q.sourceValue)),
        el('td', { class: 'num' }, fmt(q.targetValue)),
      ),
    );
  t2.append(b2);
  wrap.append(el('h3', {}, `Objects (${r.objects.length})`), t1, el('h3', {}, `Sequences (${r.sequences.length})`), t2);
  return wrap;
}
