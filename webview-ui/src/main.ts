/**
 * The validation view: a summary, then every table (sortable, filterable, searchable, paginated
 * for 10,000+ tables) and a second tab for objects and sequences. Built with
 * @vscode-elements/elements and styled only with --vscode-* theme variables.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import {
  assertNever,
  parseHostMessage,
  type ValidationViewState,
  type WebviewRequest,
  type WebviewToHost,
} from '../../src/shared/protocol.js';
import type { TableComparison, ValidationReport } from '../../src/shared/report.js';
import { button, el, fmt } from './dom.js';
import { asOfDump, columnsFor } from './columns.js';
import { TablesGrid, type RowAction } from './grid.js';
import { objectsTab } from './objects.js';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): ValidationViewState | undefined;
  setState(state: ValidationViewState): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const state: ValidationViewState = {
  filter: 'differences',
  search: '',
  tab: 'tables',
  sort: { column: 'status', descending: false },
  ...vscode.getState(),
};
let report: ValidationReport | undefined;
// Only a filter the user picked is kept; the default follows each report (a saved default is no choice).
let userChoseFilter = vscode.getState()?.filterChosen === true;
const root = document.getElementById('root')!;
// What to validate again after a window reload (the serializer reads it from the state).
if (!state.args && root.dataset.args) {
  const initial = JSON.parse(decodeURIComponent(root.dataset.args)) as ValidationViewState;
  if (initial.args) state.args = initial.args;
  vscode.setState(state);
}

function save(): void {
  vscode.setState(state);
}

type Request = WebviewRequest extends infer R ? (R extends WebviewRequest ? Omit<R, 'id'> : never) : never;
let nextId = 1;
const pending = new Map<number, string>();

/** Sends a request; its answer (`done`, same id) is shown in the status line. */
function request(r: Request, pendingText: string): number {
  const id = nextId++;
  pending.set(id, pendingText);
  showStatus(pendingText, 'busy');
  vscode.postMessage({ ...r, id });
  return id;
}

/** The one status line of the view (role=status: screen readers announce it). */
function showStatus(text: string, kind: 'busy' | 'ok' | 'error'): void {
  let line = document.getElementById('status-line');
  if (!line) {
    line = el('div', { id: 'status-line', role: 'status', 'aria-live': 'polite' });
    document.body.prepend(line);
  }
  line.className = `status-line ${kind}`;
  line.textContent = text;
}

function visibleTables(r: ValidationReport): TableComparison[] {
  const needle = (state.search ?? '').trim().toLowerCase();
  let rows = r.tables;
  if (state.filter === 'differences') rows = rows.filter((t) => t.status !== 'match');
  if (needle)
    // Names, kind, access methods ("columnar" finds the columnar tables) and problems.
    rows = rows.filter((t) =>
      `${t.schema}.${t.name} ${t.kind} ${t.sourceAccessMethod ?? ''} ${t.targetAccessMethod ?? ''} ${t.detail ?? ''} ${t.problems.join(' ')}`
        .toLowerCase()
        .includes(needle),
    );
  const cols = columnsFor(r);
  const col = cols.find((c) => c.id === state.sort?.column) ?? cols[0]!;
  const dir = state.sort?.descending ? -1 : 1;
  return [...rows].sort((a, b) => {
    const x = col.value(a);
    const y = col.value(b);
    const c = x < y ? -1 : x > y ? 1 : 0;
    return c * dir || a.schema.localeCompare(b.schema) || a.name.localeCompare(b.name);
  });
}

function summary(r: ValidationReport): HTMLElement {
  const s = r.summary;
  const box = el('section', { class: `summary ${r.ok ? 'ok' : 'bad'}`, role: 'status' });
  box.append(
    el('h2', {}, r.ok ? '✔ The target matches the source' : '✖ The target differs from the source'),
    el('p', {}, `${r.source.server} (PostgreSQL ${r.source.version}) → ${r.target.server} (PostgreSQL ${r.target.version})`),
    el(
      'ul',
      { class: 'facts' },
      el('li', {}, `${s.tables} tables compared`),
      el('li', {}, `${s.matching} matching`),
      el('li', {}, `${s.different} different`),
      el('li', {}, `${s.missingInTarget} missing in target`),
      el('li', {}, `${s.extraInTarget} extra in target`),
      el('li', {}, `rows: ${fmt(s.sourceRows)} source / ${fmt(s.targetRows)} target`),
      el(
        'li',
        {},
        `${s.objects} objects, ${s.objectsDifferent} differ; ${s.sequencesDifferent} sequence${s.sequencesDifferent === 1 ? '' : 's'} differ${s.sequencesDifferent === 1 ? 's' : ''}${s.sequencesAdvanced ? `; ${s.sequencesAdvanced} moved on on the source since the dump` : ''}`,
      ),
      ...(asOfDump(r)
        ? [
            el(
              'li',
              { class: 'basis' },
              `source as of the dump (${r.sourceSnapshotAt ? new Date(r.sourceSnapshotAt).toLocaleTimeString() : '?'}) · source now beside it`,
            ),
          ]
        : []),
      ...(r.sourceBasisNote ? [el('li', { class: 'basis warn' }, r.sourceBasisNote)] : []),
      el(
        'li',
        {},
        `${r.mode === 'estimate' ? 'ESTIMATES from statistics' : 'exact counts'}${r.checksums ? ' + checksums' : ''}, ${(r.durationMs / 1000).toFixed(1)} s`,
      ),
    ),
  );
  return box;
}

function toolbar(): HTMLElement {
  const bar = el('div', { class: 'toolbar', role: 'toolbar' });
  bar.append(
    button('Re-run', () => request({ type: 'rerun', checksums: false }, 'Validating again…')),
    button('Re-run with checksums', () => request({ type: 'rerun', checksums: true }, 'Validating again with checksums…'), {
      secondary: '',
    }),
    button('Export JSON', () => request({ type: 'export', format: 'json' }, 'Exporting JSON…'), { secondary: '' }),
    button('Export CSV', () => request({ type: 'export', format: 'csv' }, 'Exporting CSV…'), { secondary: '' }),
    button('Export Markdown', () => request({ type: 'export', format: 'markdown' }, 'Exporting Markdown…'), { secondary: '' }),
  );
  return bar;
}

function tabs(): HTMLElement {
  const t = el('div', { class: 'tabs', role: 'tablist' });
  for (const [id, label] of [
    ['tables', 'Tables'],
    ['objects', 'Objects and sequences'],
  ] as const) {
    const b = el(
      'button',
      { role: 'tab', 'aria-selected': String(state.tab === id), class: state.tab === id ? 'tab active' : 'tab' },
      label,
    );
    b.addEventListener('click', () => {
      state.tab = id;
      save();
      render();
    });
    t.append(b);
  }
  return t;
}

function tablesTab(r: ValidationReport): { node: HTMLElement; shown: number; total: number } {
  const wrap = el('div', { class: 'tables-tab' });
  const controls = el('div', { class: 'controls' });
  const filter = el(
    'select',
    { 'aria-label': 'Show' },
    el('option', { value: 'differences' }, 'Only differences'),
    el('option', { value: 'all' }, 'All tables'),
  );
  filter.value = state.filter ?? 'differences';
  filter.addEventListener('change', () => {
    state.filter = filter.value as 'differences' | 'all';
    state.filterChosen = true;
    userChoseFilter = true;
    resetPosition();
    save();
    renderTableOnly();
  });
  const search = document.createElement('vscode-textfield');
  search.setAttribute('placeholder', 'Search tables, kinds, access methods, problems');
  search.setAttribute('aria-label', 'Search tables');
  (search as unknown as { value: string }).value = state.search ?? '';
  search.addEventListener('input', () => {
    state.search = (search as unknown as { value: string }).value;
    resetPosition();
    save();
    renderTableOnly();
  });
  const count = el('span', { id: 'table-count', class: 'count', 'aria-live': 'polite' });
  const hint = el('span', { class: 'hint' }, '↑↓ move · Enter details · Shift+F10 actions');
  controls.append(filter, search, count, hint);
  wrap.append(controls);
  const holder = el('div', { id: 'table-holder' });
  wrap.append(holder);
  const counts = fillTable(holder, r);
  return { node: wrap, ...counts };
}

/** A new filter or search starts at the top. */
function resetPosition(): void {
  state.focus = 0;
  state.scrollTop = 0;
  state.expanded = undefined;
}

let grid: TablesGrid | undefined;
/** Tables being re-checked, by request id (their rows say so until the answer comes). */
const rechecking = new Map<number, string>();
let flash: string | undefined;

const rowActions: RowAction[] = [
  {
    id: 'recheck',
    label: 'Re-check',
    icon: 'M13 8a5 5 0 1 1-1.5-3.6M13 2.5v3h-3',
    run: (t) => {
      const id = request({ type: 'recheckTable', schema: t.schema, name: t.name }, `Re-checking ${t.schema}.${t.name}…`);
      rechecking.set(id, `${t.schema}.${t.name}`);
      renderTableOnly();
    },
  },
  {
    id: 'copy',
    label: 'Copy count query',
    icon: 'M5.5 5.5h7v8h-7z M3.5 10.5v-8h7',
    run: (t) => void request({ type: 'copyCountQuery', schema: t.schema, name: t.name }, 'Copying…'),
  },
];

function fillTable(holder: HTMLElement, r: ValidationReport): { shown: number; total: number } {
  grid?.dispose();
  const rows = visibleTables(r);
  const g = new TablesGrid(r, rows, {
    state,
    save,
    actions: rowActions,
    pending: new Set(rechecking.values()),
    ...(flash ? { flash } : {}),
    onSort: (column) => {
      const sorted = state.sort?.column === column;
      state.sort = { column, descending: sorted ? !state.sort!.descending : false };
      resetPosition();
      save();
      renderTableOnly();
    },
  });
  grid = g;
  holder.replaceChildren(g.node);
  if (rows.length === 0)
    holder.append(el('p', { class: 'empty' }, state.filter === 'differences' ? 'No differences.' : 'No table matches the search.'));
  const count = document.getElementById('table-count');
  if (count) count.textContent = `${rows.length.toLocaleString()} of ${r.tables.length.toLocaleString()} tables`;
  if (holder.isConnected) g.mount();
  return { shown: rows.length, total: rows.length };
}

function renderTableOnly(): void {
  const holder = document.getElementById('table-holder');
  if (!holder || !report) return render();
  const counts = fillTable(holder, report);
  vscode.postMessage({
    type: 'rendered',
    rows: counts.shown,
    totalRows: counts.total,
    summary: document.querySelector('.summary h2')?.textContent ?? '',
    tab: 'tables',
  });
}

function render(): void {
  if (!report) return;
  const r = report;
  if (!userChoseFilter) state.filter = r.ok ? 'all' : 'differences';
  grid?.dispose();
  grid = undefined;
  root.replaceChildren(summary(r), toolbar(), tabs());
  if (state.tab === 'objects') {
    root.append(objectsTab(r, () => request({ type: 'syncSequences' }, 'Setting the sequences from the source…')));
    vscode.postMessage({
      type: 'rendered',
      rows: r.objects.length,
      totalRows: r.objects.length,
      summary: document.querySelector('.summary h2')?.textContent ?? '',
      tab: 'objects',
    });
  } else {
    const t = tablesTab(r);
    root.append(t.node);
    // fillTable made the grid; it lays itself out once it is in the document.
    (grid as TablesGrid | undefined)?.mount();
    vscode.postMessage({
      type: 'rendered',
      rows: t.shown,
      totalRows: t.total,
      summary: document.querySelector('.summary h2')?.textContent ?? '',
      tab: 'tables',
    });
  }
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const m = parseHostMessage(event.data);
  if (!m) return; // not from the host, or malformed: ignored
  switch (m.type) {
    case 'running':
      grid?.dispose();
      grid = undefined;
      root.replaceChildren(
        el(
          'div',
          { class: 'running', role: 'status' },
          document.createElement('vscode-progress-ring'),
          el('span', { id: 'progress' }, ` Validating${m.checksums ? ' with checksums' : ''}…`),
        ),
      );
      break;
    case 'progress': {
      const p = document.getElementById('progress');
      if (p) p.textContent = ` Counting rows: ${m.done} of ${m.total}`;
      break;
    }
    case 'report': {
      const started = performance.now();
      report = m.report;
      document.title = m.title;
      render();
      if (m.savedAt)
        showStatus(
          `Saved report of ${new Date(m.savedAt).toLocaleString()}: not validated again after the reload. Re-run to compare now.`,
          'ok',
        );
      // Time to first paint of the report (for the benchmark), measured after layout.
      requestAnimationFrame(() => {
        (window as unknown as { hmLastRenderMs?: number }).hmLastRenderMs = performance.now() - started;
      });
      break;
    }
    case 'error':
      root.replaceChildren(
        el('section', { class: 'summary bad', role: 'alert' }, el('h2', {}, 'Validation could not run'), el('p', {}, m.message)),
        toolbar(),
      );
      break;
    case 'done': {
      if (pending.delete(m.id)) showStatus(m.message, m.ok ? 'ok' : 'error');
      const key = rechecking.get(m.id);
      if (key !== undefined) {
        // The re-checked row is marked for a moment, where it is now (it may have moved in the sort).
        rechecking.delete(m.id);
        flash = key;
        renderTableOnly();
        setTimeout(() => {
          if (flash === key) flash = undefined;
        }, 2000);
      }
      break;
    }
    default:
      assertNever(m);
  }
});
vscode.postMessage({ type: 'ready' });
