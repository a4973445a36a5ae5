/**
 * The validation view's tables grid in headless Chromium, from the bundle VS Code loads: one line per
 * table at editor widths from 700 px up with Problems and Access method in sight, 10,000 tables with
 * only the rows in sight in the DOM, the keyboard (arrows, End, Enter for the detail, Shift+F10 for the
 * actions), sorting, resizing, and the state a tab switch or a reload gives back. The same grid in the
 * real workbench: smoke.test.ts.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { requireWorkbench } from '../helpers/codeServer.js';
import { showReport, syntheticReport, viewPages, type ViewPages } from '../helpers/webviewPage.js';
import type { ValidationReport } from '../../src/shared/report.js';

/** Long names and problems, a columnar table turned heap, checksums, validated as of the dump. */
function realisticReport(n = 300, differing = 6): ValidationReport {
  const r = syntheticReport(n, differing, { checksums: true, sourceBasis: 'snapshot', sourceSnapshotAt: new Date().toISOString() });
  r.tables[0]!.name = 'measurements_2025_with_a_very_long_partition_name';
  r.tables[1]!.detail = 'rows with id 39845–40430 differ (checksum); the rest of the table matches';
  r.tables[1]!.problems = ['checksum', 'access_method'];
  r.tables[1]!.sourceAccessMethod = 'columnar';
  r.tables[1]!.targetAccessMethod = 'heap';
  r.tables[1]!.differingRanges = [{ key: 'id', from: '39845', to: '40430' }];
  for (const t of r.tables) {
    t.sourceChecksum = 'c0ffee';
    t.targetChecksum = t.status === 'match' ? 'c0ffee' : 'dead00';
    t.sourceRowsNow = t.sourceRows;
  }
  return r;
}

interface Geometry {
  headers: Array<{ label: string; left: number; right: number }>;
  gridLeft: number;
  gridRight: number;
  scrollWidth: number;
  clientWidth: number;
  rowHeights: number[];
  rows: number;
}

const geometry = (page: Page): Promise<Geometry> =>
  page.evaluate<Geometry>(`(() => {
    const g = document.querySelector('div.grid');
    const box = g.getBoundingClientRect();
    return {
      headers: [...g.querySelectorAll('[role=columnheader]')].map((h) => ({ label: h.textContent.replace(/[▲▼]/g, '').trim(), left: h.getBoundingClientRect().left, right: h.getBoundingClientRect().right })),
      gridLeft: box.left, gridRight: box.right, scrollWidth: g.scrollWidth, clientWidth: g.clientWidth,
      rowHeights: [...g.querySelectorAll('.grid-row')].map((r) => r.getBoundingClientRect().height),
      rows: g.querySelectorAll('.grid-row').length,
    };
  })()`);

const sent = (page: Page): Promise<Array<Record<string, unknown>>> => page.evaluate('window.sent');
const focusedKey = (page: Page): Promise<string | null> =>
  page.evaluate(`document.getElementById(document.querySelector('div.grid').getAttribute('aria-activedescendant'))?.dataset.key ?? null`);

describe('validation grid (the view bundle in Chromium)', { skip: requireWorkbench() }, () => {
  let pages: ViewPages;
  before(async () => {
    pages = await viewPages();
  });
  after(async () => {
    await pages?.close();
  });

  for (const width of [700, 900, 1100, 1400]) {
    it(`at ${width} px: one line per table, Problems and Access method in sight, no sideways scrolling`, async () => {
      const page = await pages.open({ width, height: 700 });
      await showReport(page, realisticReport());
      const g = await geometry(page);
      await page.close();
      assert.ok(g.rows >= 6, `${g.rows} rows`);
      assert.deepEqual([...new Set(g.rowHeights)], [26], `every row one line: ${g.rowHeights.join(',')}`);
      assert.ok(g.scrollWidth <= g.clientWidth, `no horizontal overflow (${g.scrollWidth} > ${g.clientWidth})`);
      for (const label of ['Status', 'Table', 'Source rows (dump)', 'Target rows', 'Access method', 'Problems', 'Actions']) {
        const h = g.headers.find((x) => x.label === label);
        assert.ok(h, `${label} shown at ${width} px (headers: ${g.headers.map((x) => x.label).join(', ')})`);
        assert.ok(
          h.left >= g.gridLeft - 1 && h.right <= g.gridRight + 1,
          `${label} inside the grid: ${h.left}–${h.right} of ${g.gridLeft}–${g.gridRight}`,
        );
      }
      if (width >= 1400)
        for (const label of ['Schema', 'Source now', 'Difference', 'Checksum'])
          assert.ok(
            g.headers.some((x) => x.label === label),
            `${label} at ${width} px`,
          );
    });
  }

  it('a cut name keeps its full text in the tooltip; without the Schema column the name says its schema', async () => {
    const page = await pages.open({ width: 700 });
    await showReport(page, realisticReport());
    const cell = page.locator('.grid-row[data-key="s0.measurements_2025_with_a_very_long_partition_name"] .grid-cell.name');
    assert.equal(await cell.getAttribute('title'), 's0.measurements_2025_with_a_very_long_partition_name');
    assert.ok(await cell.evaluate((e) => e.scrollWidth > e.clientWidth), 'the name is cut with an ellipsis at 700 px');
    await page.close();
  });

  it('10,000 tables: only the rows in sight are in the DOM, and the last one scrolls into view', async () => {
    const page = await pages.open({ width: 1200, height: 800 });
    await showReport(page, syntheticReport(10_000, 0));
    assert.equal(await page.locator('div.grid').getAttribute('aria-rowcount'), '10001');
    const g = await geometry(page);
    assert.ok(g.rows > 10 && g.rows < 120, `${g.rows} rows in the DOM`);
    await page.locator('div.grid').focus();
    await page.keyboard.press('End');
    await page.waitForTimeout(100);
    // Sorted by status, schema, name: s9 sorts after s19, and t09989 is the last table of s9.
    assert.equal(await focusedKey(page), 's9.t09989');
    // In sight: inside the grid's scrolled box.
    await page.locator('.grid-row[data-key="s9.t09989"]').waitFor({ timeout: 5000 });
    const inSight = await page.evaluate<boolean>(`(() => {
      const g = document.querySelector('div.grid').getBoundingClientRect();
      const r = document.querySelector('.grid-row[data-key="s9.t09989"]').getBoundingClientRect();
      return r.top >= g.top && r.bottom <= g.bottom + 1;
    })()`);
    assert.ok(inSight, 'the last table is shown');
    assert.ok((await geometry(page)).rows < 120);
    await page.close();
  });

  it('the keyboard: arrows move, Enter opens the detail, Shift+F10 the actions, Re-check asks the host', async () => {
    const page = await pages.open({ width: 1100 });
    await showReport(page, realisticReport());
    const grid = page.locator('div.grid');
    await grid.focus();
    assert.equal(await focusedKey(page), 's0.measurements_2025_with_a_very_long_partition_name');
    await page.keyboard.press('ArrowDown');
    assert.equal(await focusedKey(page), 's1.t00001');
    await page.keyboard.press('Enter');
    const detail = page.locator('.grid-detail');
    await detail.waitFor({ timeout: 5000 });
    const text = await detail.innerText();
    assert.match(text, /rows with id 39845–40430 differ \(checksum\); the rest of the table matches/);
    assert.match(text, /columnar → heap/);
    assert.match(text, /✖ differs \(source c0ffee, target dead00\)/);
    assert.match(text, /id 39845–40430/);
    // The rows below the detail move down, none hides under it.
    const below = await page.locator('.grid-row[data-key="s2.t00002"]').boundingBox();
    const box = await detail.boundingBox();
    assert.ok(below && box && below.y >= box.y + box.height - 1, 'the next row starts under the detail');
    await page.keyboard.press('Escape');
    await detail.waitFor({ state: 'detached', timeout: 5000 });
    await page.keyboard.press('Shift+F10');
    const menu = page.locator('[role=menu]');
    await menu.waitFor({ timeout: 5000 });
    assert.deepEqual(await menu.locator('[role=menuitem]').allInnerTexts(), ['Show Details', 'Re-check', 'Copy count query']);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await menu.waitFor({ state: 'detached', timeout: 5000 });
    const asked = (await sent(page)).filter((m) => m.type === 'recheckTable');
    assert.deepEqual(
      asked.map((m) => [m.schema, m.name]),
      [['s1', 't00001']],
    );
    // Until the host answers, the row says it is being re-checked; the answer marks it.
    await page.locator('.grid-row[data-key="s1.t00001"] .pending', { hasText: 're-checking' }).waitFor({ timeout: 5000 });
    await page.evaluate(
      `window.postMessage({ type: 'done', id: ${String(asked[0]!.id)}, ok: true, message: 'Re-checked s1.t00001: different' }, '*')`,
    );
    await page.locator('.grid-row.flash[data-key="s1.t00001"]').waitFor({ timeout: 5000 });
    assert.equal(await page.locator('.grid-row[data-key="s1.t00001"] .pending').count(), 0);
    assert.equal(await page.locator('#status-line').innerText(), 'Re-checked s1.t00001: different');
    await page.close();
  });

  it('a tall detail: scrolled to inside it, the row it belongs to and the rows after it stay painted', async () => {
    const page = await pages.open({ width: 700, height: 600 });
    const r = realisticReport(300, 6);
    r.tables[1]!.detail = `rows differ in many places: ${Array.from({ length: 400 }, (_, i) => `id ${i * 1000}–${i * 1000 + 17}`).join(', ')}`;
    await showReport(page, r);
    await page.locator('div.grid').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const detail = page.locator('.grid-detail');
    await detail.waitFor({ timeout: 5000 });
    const height = (await detail.boundingBox())!.height;
    assert.ok(height > 600, `a detail taller than the grid (${height} px)`);
    // Scroll to the middle of the detail, as a wheel does.
    await page.locator('div.grid').evaluate((g, h) => {
      g.scrollTop = 26 * 3 + h / 2;
      g.dispatchEvent(new Event('scroll'));
    }, height);
    await page.waitForTimeout(200);
    const keys = await page.locator('.grid-row').evaluateAll((rows) => rows.map((x) => x.getAttribute('data-key')));
    assert.ok(keys.includes('s1.t00001'), `the expanded row is painted: ${keys.join(', ')}`);
    assert.ok(keys.includes('s2.t00002'), 'the row after the detail is painted');
    await page.close();
  });

  it('a saved state from another report (a table no longer listed open, a focus beyond the end): no error, Escape and the arrows work', async () => {
    const errors: string[] = [];
    const page = await pages.open({
      width: 1100,
      state: { expanded: 'gone.table', focus: 99999, scrollTop: 'top', filter: 'all', filterChosen: true },
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await showReport(page, realisticReport(30, 3));
    await page.locator('div.grid').focus();
    assert.equal(await focusedKey(page), 's9.t00029', 'the focus moved to the last row');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Home');
    await page.keyboard.press('Enter');
    await page.locator('.grid-detail').waitFor({ timeout: 5000 });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('sorting by a column and resizing one are kept in the state a tab switch or reload gives back', async () => {
    const page = await pages.open({ width: 1400 });
    const r = realisticReport(50, 0);
    await showReport(page, r);
    await page.locator('[role=columnheader]', { hasText: 'Target rows' }).locator('button').click();
    await page.locator('[role=columnheader]', { hasText: 'Target rows' }).locator('button').click();
    const header = page.locator('[role=columnheader]', { hasText: 'Target rows' });
    assert.equal(await header.getAttribute('aria-sort'), 'descending');
    assert.equal(await page.locator('.grid-row').first().getAttribute('data-key'), 's9.t00049');
    const problems = page.locator('[role=columnheader]', { hasText: 'Problems' });
    const before = (await problems.boundingBox())!;
    const grip = (await problems.locator('.resizer').boundingBox())!;
    await page.mouse.move(grip.x + 3, grip.y + 10);
    await page.mouse.down();
    await page.mouse.move(grip.x + 80, grip.y + 10, { steps: 5 });
    await page.mouse.up();
    const after = (await problems.boundingBox())!;
    assert.ok(after.width > before.width + 40, `resized from ${before.width} to ${after.width}`);
    await page.locator('vscode-textfield[aria-label="Search tables"] input').fill('t0004');
    await page.waitForTimeout(100);
    const state = await page.evaluate<Record<string, unknown>>('window.hmState');
    await page.close();
    // A reload (or a tab switch: VS Code builds the view again) starts from this state.
    const again = await pages.open({ width: 1400, state });
    await showReport(again, r);
    assert.equal(await again.locator('[role=columnheader]', { hasText: 'Target rows' }).getAttribute('aria-sort'), 'descending');
    assert.equal(
      await again.locator('vscode-textfield[aria-label="Search tables"]').evaluate((e) => (e as unknown as { value: string }).value),
      't0004',
    );
    assert.deepEqual(await again.locator('.grid-row').evaluateAll((rows) => rows.map((x) => x.getAttribute('data-key'))), [
      's9.t00049',
      's8.t00048',
      's7.t00047',
      's6.t00046',
      's5.t00045',
      's4.t00044',
      's3.t00043',
      's2.t00042',
      's1.t00041',
      's0.t00040',
    ]);
    const width = (await again.locator('[role=columnheader]', { hasText: 'Problems' }).boundingBox())!.width;
    assert.ok(Math.abs(width - after.width) < 2, `the width is kept: ${width} vs ${after.width}`);
    // The filter the report chose is no choice of the user's: an all-matching report lists every table.
    assert.equal(await again.locator('select[aria-label="Show"]').inputValue(), 'all');
    await again.close();
  });
});
