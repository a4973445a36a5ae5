/**
 * The tables grid of the validation view, the grid of a data tool: one line per table at any editor
 * width (columns dropped by priority, names and problems cut with an ellipsis, the full text in a
 * tooltip and in the row's detail), a sticky header with sortable, resizable columns, only the rows
 * in sight in the DOM (10,000 tables scroll like 10), keyboard navigation (arrows, Page Up/Down,
 * Home/End; Enter opens the row's detail; the context-menu key or Shift+F10 its actions), row actions
 * as icon buttons shown on hover and on the focused row.
 */
import type { TableComparison, ValidationReport } from '../../src/shared/report.js';
import { columnsFor, fitColumns, minWidth, qualifiedName, template, type Column } from './columns.js';
import { el } from './dom.js';
import { icon, PopupMenu, tableDetail } from './detail.js';

export const ROW_HEIGHT = 26;
const OVERSCAN = 10;

export interface RowAction {
  id: string;
  label: string;
  /** An SVG path (16×16, stroked in the theme's icon colour): no icon font to load, no glyph a font may lack. */
  icon: string;
  run: (t: TableComparison) => void;
}

/** What the grid keeps in the view's state (kept across tab switches and reloads). */
export interface GridState {
  widths?: Record<string, number>;
  focus?: number;
  expanded?: string;
  scrollTop?: number;
  sort?: { column: string; descending: boolean };
}

export interface GridHost {
  state: GridState;
  save(): void;
  onSort(column: string): void;
  actions: RowAction[];
  /** Tables being re-checked (schema.name). */
  pending: ReadonlySet<string>;
  /** A table just re-checked: its row is marked for a moment. */
  flash?: string;
}

export class TablesGrid {
  readonly node: HTMLElement;
  private readonly head: HTMLElement;
  private readonly body: HTMLElement;
  private readonly all: Column[];
  private cols: Column[];
  private detailHeight = 0;
  private flash: string | undefined;
  private frame = 0;
  private readonly menu = new PopupMenu(() => this.node.focus({ preventScroll: true }));
  private readonly observer: ResizeObserver;

  constructor(
    private readonly report: ValidationReport,
    private readonly rows: TableComparison[],
    private readonly host: GridHost,
  ) {
    this.all = columnsFor(report);
    this.cols = this.all;
    // The state is the view's own, but a width that is no number (an older version's state) is dropped.
    host.state.widths = Object.fromEntries(
      Object.entries(host.state.widths ?? {}).filter(([, w]) => typeof w === 'number' && Number.isFinite(w) && w >= 40 && w <= 4000),
    );
    this.node = el('div', {
      class: 'grid',
      role: 'grid',
      tabindex: '0',
      'aria-label': 'Tables compared',
      'aria-rowcount': String(rows.length + 1),
      'aria-multiselectable': 'false',
    });
    this.head = el('div', { class: 'grid-head', role: 'row', 'aria-rowindex': '1' });
    this.body = el('div', { class: 'grid-body', role: 'rowgroup' });
    this.node.append(this.head, this.body);
    // A state from another report, filter or version: a focus and a scroll position that are numbers, an open detail still listed.
    const focus = Number.isFinite(host.state.focus) ? host.state.focus! : 0;
    host.state.focus = Math.min(Math.max(0, focus), Math.max(0, rows.length - 1));
    if (!Number.isFinite(host.state.scrollTop)) host.state.scrollTop = 0;
    if (host.state.expanded !== undefined && !rows.some((t) => qualifiedName(t) === host.state.expanded)) host.state.expanded = undefined;
    this.flash = host.flash;
    // The re-checked row flashes once, not again at every repaint (a scroll) while the animation would run.
    if (this.flash) setTimeout(() => (this.flash = undefined), 1600);
    this.node.addEventListener('scroll', () => this.schedule());
    this.node.addEventListener('keydown', (e) => this.onKey(e));
    this.node.addEventListener('contextmenu', (e) => {
      const i = this.rowIndexOf(e.target);
      if (i === undefined) return;
      e.preventDefault();
      this.setFocus(i, false);
      this.openMenu(e.clientX, e.clientY);
    });
    this.observer = new ResizeObserver(() => this.layout());
    this.observer.observe(this.node);
    window.addEventListener('resize', this.onWindowResize);
  }

  private readonly onWindowResize = (): void => this.fitHeight();

  /** After the grid is in the document: columns for its width, its height, the rows in sight. */
  mount(): void {
    this.layout();
    this.node.scrollTop = this.host.state.scrollTop ?? 0;
    this.paint();
  }

  get renderedRows(): number {
    return this.body.querySelectorAll('.grid-row').length;
  }

  private layout(): void {
    const widths = this.host.state.widths!;
    const available = this.node.clientWidth || this.node.getBoundingClientRect().width || 1000;
    const fitted = fitColumns(this.all, available - 2, widths);
    const changed = fitted.length !== this.cols.length || fitted.some((c, i) => c !== this.cols[i]);
    this.cols = fitted;
    this.applyWidths();
    this.node.setAttribute('aria-colcount', String(this.cols.length));
    this.node.dataset.hidden = this.all
      .filter((c) => !this.cols.includes(c))
      .map((c) => c.id)
      .join(' ');
    if (changed || !this.head.firstChild) this.paintHead();
    this.fitHeight();
    // A taller grid has room for more rows: paint again (cheap: only the rows in sight).
    this.paint();
  }

  /** The columns' widths as CSS (a user's width wins). */
  private applyWidths(): void {
    const widths = this.host.state.widths!;
    this.node.style.setProperty('--cols', template(this.cols, widths));
    this.node.style.setProperty('--min-width', `${this.cols.reduce((s, c) => s + minWidth(c, widths), 0)}px`);
  }

  /** The grid scrolls inside the editor's height: the header stays, the page around it does not scroll away. */
  private fitHeight(): void {
    const top = this.node.getBoundingClientRect().top;
    const room = Math.max(ROW_HEIGHT * 6, window.innerHeight - Math.max(0, top) - 12);
    this.node.style.maxHeight = `${room}px`;
  }

  private paintHead(): void {
    const sort = this.host.state.sort;
    this.head.replaceChildren(
      ...this.cols.map((c, ci) => {
        const sorted = sort?.column === c.id;
        const th = el('div', {
          class: `grid-cell head${c.numeric ? ' num' : ''}`,
          role: 'columnheader',
          'aria-colindex': String(ci + 1),
          ...(c.noSort ? {} : { 'aria-sort': sorted ? (sort.descending ? 'descending' : 'ascending') : 'none' }),
        });
        // The actions column has no visible title (its buttons say what they do).
        if (c.noSort) th.append(el('span', { class: 'visually-hidden' }, c.label));
        else {
          const b = el('button', { class: 'sort', title: `Sort by ${c.label}` }, c.label, sorted ? (sort.descending ? ' ▼' : ' ▲') : '');
          b.addEventListener('click', () => this.host.onSort(c.id));
          th.append(b);
        }
        if (c.id !== 'actions') th.append(this.resizer(c, th));
        return th;
      }),
    );
  }

  /** Drag a header's edge to resize its column (double-click: back to automatic). */
  private resizer(c: Column, th: HTMLElement): HTMLElement {
    const grip = el('span', { class: 'resizer', 'aria-hidden': 'true', title: `Resize ${c.label} (double-click: automatic)` });
    const widths = this.host.state.widths!;
    grip.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      e.stopPropagation();
      const startX = e.clientX;
      const startW = th.getBoundingClientRect().width;
      grip.setPointerCapture(e.pointerId);
      const move = (m: PointerEvent): void => {
        widths[c.id] = Math.round(Math.max(40, startW + m.clientX - startX));
        this.applyWidths();
      };
      const up = (): void => {
        grip.removeEventListener('pointermove', move);
        grip.removeEventListener('pointerup', up);
        this.host.save();
      };
      grip.addEventListener('pointermove', move);
      grip.addEventListener('pointerup', up);
    });
    grip.addEventListener('dblclick', (e) => {
      e.stopPropagation();
      delete widths[c.id];
      this.host.save();
      this.layout();
    });
    return grip;
  }

  private expandedIndex(): number {
    const key = this.host.state.expanded;
    return key === undefined ? -1 : this.rows.findIndex((t) => qualifiedName(t) === key);
  }

  private top(i: number, expanded: number): number {
    return i * ROW_HEIGHT + (expanded >= 0 && i > expanded ? this.detailHeight : 0);
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.host.state.scrollTop = this.node.scrollTop;
      this.host.save();
      this.paint();
    });
  }

  /** Only the rows in sight (and a few around) are in the DOM. */
  private paint(): void {
    const expanded = this.expandedIndex();
    const headH = this.head.offsetHeight || ROW_HEIGHT;
    const y = Math.max(0, this.node.scrollTop - headH);
    const view = Math.max(this.node.clientHeight, ROW_HEIGHT * 20);
    // The first row in sight: above the open detail, inside it (the expanded row itself), or below it.
    const detailTop = (expanded + 1) * ROW_HEIGHT;
    const first =
      expanded < 0 || y < detailTop
        ? Math.floor(y / ROW_HEIGHT)
        : y < detailTop + this.detailHeight
          ? expanded
          : Math.floor((y - this.detailHeight) / ROW_HEIGHT);
    const start = Math.max(0, first - OVERSCAN);
    const end = Math.min(this.rows.length, start + Math.ceil(view / ROW_HEIGHT) + 2 * OVERSCAN);
    const focus = this.host.state.focus ?? 0;
    const nodes: HTMLElement[] = [];
    for (let i = start; i < end; i++) {
      nodes.push(this.row(i, i === focus, expanded));
      if (i === expanded) nodes.push(this.detail(this.rows[i]!, i));
    }
    // The expanded row may be above the window: its detail still shifts the rows below it.
    this.body.replaceChildren(...nodes);
    const detail = this.body.querySelector<HTMLElement>('.grid-detail');
    if (detail) {
      const h = detail.offsetHeight;
      if (h && h !== this.detailHeight) {
        this.detailHeight = h;
        return this.paint();
      }
    }
    this.body.style.height = `${this.rows.length * ROW_HEIGHT + (expanded >= 0 ? this.detailHeight : 0)}px`;
    if (this.rows.length) this.node.setAttribute('aria-activedescendant', `hm-row-${focus}`);
    else this.node.removeAttribute('aria-activedescendant');
  }

  private row(i: number, focused: boolean, expandedIndex: number): HTMLElement {
    const t = this.rows[i]!;
    const key = qualifiedName(t);
    const expanded = this.host.state.expanded === key;
    const pending = this.host.pending.has(key);
    const r = el('div', {
      class: `grid-row ${t.status}${focused ? ' focused' : ''}${this.flash === key ? ' flash' : ''}`,
      role: 'row',
      id: `hm-row-${i}`,
      'aria-rowindex': String(i + 2),
      'aria-selected': String(focused),
      'aria-expanded': String(expanded),
      'data-key': key,
      'data-index': String(i),
    });
    r.style.top = `${this.top(i, expandedIndex)}px`;
    const qualified = !this.cols.some((c) => c.id === 'schema');
    this.cols.forEach((c, ci) => {
      const cell = c.cell(t, qualified);
      const td = el('div', {
        class: `grid-cell ${cell.cls ?? ''}${c.numeric ? ' num' : ''}`,
        role: 'gridcell',
        'aria-colindex': String(ci + 1),
      });
      if (c.id === 'actions') {
        td.classList.add('actions');
        for (const a of this.host.actions) {
          const b = el(
            'button',
            { class: 'icon', tabindex: '-1', title: `${a.label} ${key}`, 'aria-label': `${a.label} ${key}` },
            icon(a.icon),
          );
          b.addEventListener('click', (e) => {
            e.stopPropagation();
            a.run(t);
          });
          td.append(b);
        }
      } else if (c.id === 'status' && pending) {
        td.classList.add('pending');
        td.textContent = '⟳ re-checking…';
      } else {
        td.textContent = cell.text;
        if (cell.title) td.title = cell.title;
      }
      r.append(td);
    });
    r.addEventListener('click', () => this.setFocus(i, true));
    r.addEventListener('dblclick', () => this.toggle(i));
    return r;
  }

  private detail(t: TableComparison, i: number): HTMLElement {
    const d = tableDetail(t, this.report.checksums, this.cols.length);
    d.setAttribute('aria-rowindex', String(i + 2));
    d.id = `hm-detail-${i}`;
    d.style.top = `${this.top(i, -1) + ROW_HEIGHT}px`;
    return d;
  }

  private rowIndexOf(target: EventTarget | null): number | undefined {
    const r = (target as HTMLElement | null)?.closest?.('.grid-row') as HTMLElement | null;
    return r ? Number(r.dataset.index) : undefined;
  }

  private setFocus(i: number, focusGrid: boolean): void {
    if (!this.rows.length) return;
    const focus = Math.min(Math.max(0, i), this.rows.length - 1);
    this.host.state.focus = focus;
    // Keep the focused row (and its detail) in sight.
    const expanded = this.expandedIndex();
    const headH = this.head.offsetHeight || ROW_HEIGHT;
    const rowTop = this.top(focus, expanded) + headH;
    const rowBottom = rowTop + ROW_HEIGHT + (focus === expanded ? this.detailHeight : 0);
    if (rowTop - headH < this.node.scrollTop) this.node.scrollTop = rowTop - headH;
    else if (rowBottom > this.node.scrollTop + this.node.clientHeight) this.node.scrollTop = rowBottom - this.node.clientHeight;
    this.host.state.scrollTop = this.node.scrollTop;
    this.host.save();
    this.paint();
    if (focusGrid) this.node.focus({ preventScroll: true });
  }

  private toggle(i: number): void {
    const key = qualifiedName(this.rows[i]!);
    this.host.state.expanded = this.host.state.expanded === key ? undefined : key;
    this.detailHeight = 0;
    this.host.save();
    this.setFocus(i, true);
  }

  private onKey(e: KeyboardEvent): void {
    if (this.menu.isOpen) return;
    const focus = this.host.state.focus ?? 0;
    const page = Math.max(1, Math.floor(this.node.clientHeight / ROW_HEIGHT) - 2);
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page };
    if (e.key in moves) this.setFocus(focus + moves[e.key]!, false);
    else if (e.key === 'Home') this.setFocus(0, false);
    else if (e.key === 'End') this.setFocus(this.rows.length - 1, false);
    else if (e.key === 'Enter' || e.key === ' ') {
      if (this.rows.length) this.toggle(focus);
    } else if (e.key === 'Escape' && this.expandedIndex() >= 0) this.toggle(this.expandedIndex());
    else if (e.key === 'ContextMenu' || (e.key === 'F10' && e.shiftKey)) {
      const r = this.body.querySelector<HTMLElement>('.grid-row.focused');
      if (!r) return;
      const box = r.getBoundingClientRect();
      this.openMenu(box.left + 24, box.bottom);
    } else return;
    e.preventDefault();
  }

  /** The row's actions as a menu (right-click, the context-menu key, Shift+F10). */
  private openMenu(x: number, y: number): void {
    const t = this.rows[this.host.state.focus ?? 0];
    if (!t) return;
    const key = qualifiedName(t);
    this.menu.open(x, y, `Actions for ${key}`, [
      [this.host.state.expanded === key ? 'Hide Details' : 'Show Details', () => this.toggle(this.host.state.focus ?? 0)],
      ...this.host.actions.map((a): [string, () => void] => [a.label, () => a.run(t)]),
    ]);
  }

  dispose(): void {
    this.observer.disconnect();
    window.removeEventListener('resize', this.onWindowResize);
    this.menu.close();
  }
}
