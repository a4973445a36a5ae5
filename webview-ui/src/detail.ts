/** The grid's row detail (a table in full), its actions menu and the row actions' icons. */
import type { TableComparison } from '../../src/shared/report.js';
import { accessMethod, checksumText, problemsText, qualifiedName } from './columns.js';
import { difference, el, fmt, statusLabel } from './dom.js';

/** Everything about one table, in full: what the columns cut, the hidden columns, the checksums, the ranges. */
export function tableDetail(t: TableComparison, checksums: boolean, columns: number): HTMLElement {
  const facts: Array<[string, string]> = [
    ['Table', `${qualifiedName(t)} (${t.kind}${t.unlogged ? ', unlogged' : ''})`],
    ['Status', statusLabel[t.status] ?? t.status],
    ['Rows', `source ${fmt(t.sourceRows)} · target ${fmt(t.targetRows)} · difference ${difference(t) || '–'}`],
  ];
  if (t.sourceRowsNow !== undefined) facts.push(['Source now', fmt(t.sourceRowsNow)]);
  facts.push(['Access method', accessMethod(t)]);
  if (checksums) facts.push(['Checksum', `${checksumText(t)} (source ${t.sourceChecksum ?? '–'}, target ${t.targetChecksum ?? '–'})`]);
  facts.push(['Problems', problemsText(t) || 'none']);
  const ranges = t.differingRanges ?? [];
  if (ranges.length)
    facts.push([
      'Rows differ',
      ranges
        .slice(0, 20)
        .map((g) => `${g.key} ${g.from}–${g.to}`)
        .join('; ') + (ranges.length > 20 ? ` (and ${ranges.length - 20} more ranges)` : ''),
    ]);
  const d = el('div', { class: 'grid-detail', role: 'row' });
  const cell = el('div', { class: 'detail-cell', role: 'gridcell', 'aria-colspan': String(columns) });
  const dl = el('dl');
  for (const [k, v] of facts) dl.append(el('dt', {}, k), el('dd', {}, v));
  cell.append(dl);
  d.append(cell);
  return d;
}

/** A menu of actions at a point: arrow keys move, Enter runs, Escape or Tab closes (focus back to its owner). */
export class PopupMenu {
  private node: HTMLElement | undefined;

  constructor(private readonly refocus: () => void) {}

  get isOpen(): boolean {
    return this.node !== undefined;
  }

  open(x: number, y: number, label: string, items: Array<[string, () => void]>): void {
    this.close();
    const menu = el('div', { class: 'menu', role: 'menu', 'aria-label': label });
    for (const [text, run] of items) {
      const b = el('button', { role: 'menuitem', class: 'menu-item', tabindex: '-1' }, text);
      b.addEventListener('click', () => {
        this.close();
        run();
      });
      menu.append(b);
    }
    menu.addEventListener('keydown', (e) => {
      const list = [...menu.querySelectorAll<HTMLElement>('[role=menuitem]')];
      const at = list.indexOf(document.activeElement as HTMLElement);
      if (e.key === 'ArrowDown') list[(at + 1) % list.length]!.focus();
      else if (e.key === 'ArrowUp') list[(at - 1 + list.length) % list.length]!.focus();
      else if (e.key === 'Escape' || e.key === 'Tab') {
        this.close();
        this.refocus();
      } else return;
      e.preventDefault();
      e.stopPropagation();
    });
    document.body.append(menu);
    const box = menu.getBoundingClientRect();
    menu.style.left = `${Math.max(0, Math.min(x, window.innerWidth - box.width - 4))}px`;
    menu.style.top = `${Math.max(0, Math.min(y, window.innerHeight - box.height - 4))}px`;
    this.node = menu;
    (menu.firstElementChild as HTMLElement | null)?.focus();
    setTimeout(() => document.addEventListener('mousedown', this.outside, true));
  }

  private readonly outside = (e: MouseEvent): void => {
    if (this.node && !this.node.contains(e.target as Node)) this.close();
  };

  close(): void {
    this.node?.remove();
    this.node = undefined;
    document.removeEventListener('mousedown', this.outside, true);
  }
}

/** An icon from an SVG path (16×16, stroked in the theme's icon colour): no icon font to load. */
export function icon(path: string): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  for (const [k, v] of Object.entries({
    width: '16',
    height: '16',
    viewBox: '0 0 16 16',
    fill: 'none',
    stroke: 'currentColor',
    'stroke-width': '1.3',
    'aria-hidden': 'true',
  }))
    svg.setAttribute(k, v);
  const p = document.createElementNS(ns, 'path');
  p.setAttribute('d', path);
  p.setAttribute('stroke-linecap', 'round');
  p.setAttribute('stroke-linejoin', 'round');
  svg.append(p);
  return svg;
}
