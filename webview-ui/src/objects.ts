/** The Objects and sequences tab of the validation view. */
import type { ValidationReport } from '../../src/shared/report.js';
import { button, el, fmt, statusLabel } from './dom.js';

/** `onSyncSequences`: the action that raises the target's sequences to the source's. */
export function objectsTab(r: ValidationReport, onSyncSequences: () => void): HTMLElement {
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
        el('th', {}, 'Detail'),
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
        el('td', {}, q.detail ?? ''),
      ),
    );
  t2.append(b2);
  // Behind the source (moved on since the dump, or never set): one action sets them all, never lowering one.
  const behind = r.sequences.filter((q) => q.advancedSinceDump || (q.status === 'different' && q.sourceValue !== null)).length;
  const sync = behind
    ? [
        el(
          'p',
          { class: 'sync' },
          button(`Set ${behind} sequence${behind === 1 ? '' : 's'} from the source`, onSyncSequences, {
            title: 'Raise each target sequence that is behind to the source value (a sequence ahead on the target is never lowered)',
          }),
        ),
      ]
    : [];
  wrap.append(el('h3', {}, `Objects (${r.objects.length})`), t1, el('h3', {}, `Sequences (${r.sequences.length})`), ...sync, t2);
  return wrap;
}
