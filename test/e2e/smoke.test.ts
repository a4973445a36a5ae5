/**
 * The packaged .vsix in a real workbench (code-server + headless Chromium): install it, open the
 * Hydra Migrate view, add a source connection the way a user does (paste a URI into the input
 * box), expand it down to the tables and see the columnar table marked. Screenshots go to
 * test-results/.
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { openWorkbench, startCodeServer, requireWorkbench, type CodeServer } from '../helpers/codeServer.js';
import { filesUnder } from '../helpers/files.js';
import { createSampleDatabase, MIGRATOR, MIGRATOR_PASSWORD, sideOn } from '../helpers/fixtures.js';
import { processesWhere } from '../helpers/processes.js';
import { PG15_TOOLS, startServer, type TestServer } from '../helpers/servers.js';
import { dump } from '../../src/core/dump.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const vsix = join(repo, 'dist', 'hydra-migrate.vsix');
const shots = join(repo, 'test-results');
const DB = 'shop';

describe('packaged extension in a real workbench', { skip: requireWorkbench() }, () => {
  let pg15: TestServer;
  let pg17: TestServer;
  let dumps: string;
  let code: CodeServer;
  let browser: Browser | undefined;
  let page: Page;
  let workspace: string;

  before(async () => {
    assert.ok(existsSync(vsix), 'run `npm run package` first');
    mkdirSync(shots, { recursive: true });
    [pg15, pg17] = await Promise.all([startServer('pg15'), startServer('pg17')]);
    await createSampleDatabase(pg15, DB);
    // A source whose columnar access method belongs to an extension the PG17 target lacks (FACTS: adminpack).
    await pg15.sql(`CREATE DATABASE hydra_ext OWNER ${MIGRATOR} TEMPLATE template0`);
    await pg15.sql(
      `CREATE EXTENSION adminpack; CREATE ACCESS METHOD columnar TYPE TABLE HANDLER heap_tableam_handler;
      ALTER EXTENSION adminpack ADD ACCESS METHOD columnar; SET ROLE ${MIGRATOR}; CREATE TABLE public.metrics (id int, v float8) USING columnar;`,
      'hydra_ext',
    );
    dumps = mkdtempSync(join(tmpdir(), 'hm-e2e-dumps-'));
    code = await startCodeServer({ settings: { 'hydraMigrate.pgBinDir': PG15_TOOLS, 'hydraMigrate.dumpFolder': dumps } });
    await code.installExtension(vsix);
    workspace = mkdtempSync(join(tmpdir(), 'hm-ws-'));
    ({ browser, page } = await openWorkbench(code, workspace));
  });

  after(async () => {
    if (page && process.env.HM_KEEP_FAILURE_SHOT) await page.screenshot({ path: join(shots, 'smoke-last.png') }).catch(() => undefined);
    await browser?.close();
    await code?.stop();
    await Promise.all([pg15?.stop(), pg17?.stop()]);
    if (dumps) rmSync(dumps, { recursive: true, force: true });
    if (workspace) rmSync(workspace, { recursive: true, force: true });
  });

  const quickInput = () => page.locator('.quick-input-widget input.input');

  /** The runs' log files (Runs view → Show Log) there are now. */
  const runLogs = (): string[] => filesUnder(code.userDataDir).filter((f) => /\/runs\/[^/]+\.log$/.test(f));
  /**
   * The log of the run started after `earlier` was taken, once it holds `until`: it is written as the
   * run ends, which may come a moment after its terminal said so.
   */
  async function runLogAfter(earlier: string[], until: RegExp): Promise<string> {
    let log = '';
    for (let i = 0; i < 50 && !until.test(log); i++) {
      if (i) await new Promise((f) => setTimeout(f, 200));
      const added = runLogs().filter((f) => !earlier.includes(f));
      const newest = added.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
      log = newest ? readFileSync(newest, 'utf8') : '';
    }
    return log;
  }

  /** The Migrate confirmation dialog: its text, then Start Migration. */
  async function confirmMigration(shot?: string): Promise<string> {
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 30_000 });
    const text = await dialog.innerText();
    if (shot) await page.screenshot({ path: join(shots, shot) });
    await dialog.locator('.monaco-button', { hasText: 'Start Migration' }).click();
    await dialog.waitFor({ state: 'detached', timeout: 10_000 });
    return text;
  }

  /** In the Add Connection prompts: paste a URI, then name the connection. */
  async function pasteUri(uri: string, name: string): Promise<void> {
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Paste a connection URI' }).click();
    await quickInput().fill(uri);
    await quickInput().press('Enter');
    await page.locator('.quick-input-widget', { hasText: 'Connection name' }).waitFor();
    await quickInput().fill(name);
    await quickInput().press('Enter');
  }

  async function addTargetFromPalette(uri: string, name: string): Promise<void> {
    await page.keyboard.press('F1');
    await quickInput().fill('>Hydra Migrate: Add Target Connection');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Add Target Connection' }).first().click();
    await pasteUri(uri, name);
  }

  /** Right-click a tree row and choose a context-menu entry. */
  async function contextMenu(row: Locator, entry: string, screenshot?: string): Promise<void> {
    const item = page.locator('.monaco-menu .action-item', { hasText: entry }).first();
    // A row the tree renders again under the pointer (a refresh as a connection test ends) loses its menu: once more.
    for (let attempt = 1; ; attempt++) {
      await row.click();
      await row.click({ button: 'right' });
      try {
        await item.waitFor({ timeout: 5_000 });
        break;
      } catch (err) {
        if (attempt === 3) throw err;
        await page.keyboard.press('Escape');
        await page.waitForTimeout(500);
      }
    }
    if (screenshot) await page.screenshot({ path: join(shots, screenshot) });
    await item.hover();
    await page.keyboard.press('Enter');
  }

  /**
   * A row of the connections tree, scrolled into the DOM: the list renders only the rows in sight, so
   * the tree is scrolled from the top down (the mouse wheel over it) until the row is there.
   */
  async function treeRow(label: string): Promise<Locator> {
    const tree = page
      .locator('.pane-body')
      .filter({ has: page.locator('.monaco-list') })
      .first();
    const row = tree.locator(`.monaco-list-row[aria-label^="${label}"]`).first();
    if (await row.isVisible()) return row;
    const box = (await tree.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + Math.min(box.height / 2, 120));
    await page.mouse.wheel(0, -5000);
    for (let i = 0; i < 40 && !(await row.isVisible()); i++) {
      await page.waitForTimeout(100);
      if (!(await row.isVisible())) await page.mouse.wheel(0, 120);
    }
    await row.waitFor({ timeout: 10_000 });
    return row;
  }

  it('shows the Hydra Migrate view with its welcome actions', async () => {
    const tab = page.locator('.activitybar [aria-label^="Hydra Migrate"]').first();
    await tab.waitFor({ timeout: 60_000 });
    await tab.click();
    const welcome = page.locator('.welcome-view-content');
    await welcome.getByRole('button', { name: 'Add Source Connection' }).waitFor({ timeout: 30_000 });
    await welcome.getByRole('button', { name: 'Add Target Connection' }).waitFor();
    // The extension activates when the view opens; the welcome must survive that.
    await page.waitForTimeout(1500);
    assert.ok(
      await welcome.getByRole('button', { name: 'Add Source Connection' }).isVisible(),
      'welcome stays while there are no connections',
    );
    await page.screenshot({ path: join(shots, 'smoke-welcome.png') });
  });

  it('adds a source by pasting a URI and browses to the columnar table', async () => {
    await page.locator('.welcome-view-content').getByRole('button', { name: 'Add Source Connection' }).click();
    const input = page.locator('.quick-input-widget input.input');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Paste a connection URI' }).click();
    // A bad paste first: the input box says what is wrong and keeps the prompt open.
    await input.fill(`postgresql://${MIGRATOR}@127.0.0.1:99999/${DB}`);
    await page.locator('.quick-input-message', { hasText: 'out of range' }).waitFor({ timeout: 10_000 });
    await input.fill(`postgresql://${MIGRATOR}:${encodeURIComponent(MIGRATOR_PASSWORD)}@127.0.0.1:${pg15.port}/${DB}?sslmode=disable`);
    await input.press('Enter');
    // Name prompt, prefilled.
    await page.locator('.quick-input-widget', { hasText: 'Connection name' }).waitFor();
    await input.fill('Shop (PG15)');
    await input.press('Enter');
    await page.locator('.notifications-toasts', { hasText: 'Connected to "Shop (PG15)": PostgreSQL 15' }).waitFor({ timeout: 20_000 });

    const tree = page
      .locator('[id="workbench.view.extension.hydraMigrate"], .pane-body')
      .filter({ has: page.locator('.monaco-list') })
      .first();
    const row = (label: string) => tree.locator(`.monaco-list-row[aria-label^="${label}"]`).first();
    await row('Shop (PG15)').click();
    await row(DB).waitFor({ timeout: 20_000 });
    await row(DB).click();
    await row('public').waitFor({ timeout: 20_000 });
    await row('public').click();
    const events = row('events');
    await events.waitFor({ timeout: 20_000 }).catch(async (e: unknown) => {
      const labels = await tree.locator('.monaco-list-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('aria-label')));
      throw new Error(`${String(e)}\nrows: ${JSON.stringify(labels)}`);
    });
    assert.match(await events.innerText(), /\[columnar\]/);
    assert.match(await row('accounts').innerText(), /~1\.0k rows/);
    await page.screenshot({ path: join(shots, 'smoke-explorer.png') });
  });

  it('migrates the source database to a PG17 target from the context menu and shows the validation', async () => {
    // Add the target through the command palette, pasting a URI with the password in it.
    const input = quickInput();
    await addTargetFromPalette(
      `postgresql://${pg17.adminUser}:${encodeURIComponent(pg17.adminPassword)}@127.0.0.1:${pg17.port}/postgres?sslmode=disable`,
      'Cloud (PG17)',
    );
    await page.locator('.notifications-toasts', { hasText: 'Connected to "Cloud (PG17)": PostgreSQL 17' }).waitFor({ timeout: 20_000 });

    // Right-click the source database -> Migrate Database…
    const tree = page
      .locator('.pane-body')
      .filter({ has: page.locator('.monaco-list') })
      .first();
    await contextMenu(tree.locator(`.monaco-list-row[aria-label^="${DB}, database"]`).first(), 'Migrate Database…', 'context-menu.png');
    await page.locator('.quick-input-widget', { hasText: 'Target database name' }).waitFor({ timeout: 10_000 });
    await input.fill('shop_v17');
    await input.press('Enter');
    // Options: --no-owner --no-acl are preselected (roles differ between servers).
    await page.locator('.quick-input-widget', { hasText: 'Migration options' }).waitFor({ timeout: 10_000 });
    await page.screenshot({ path: join(shots, 'migrate-options.png') });
    await input.press('Enter');
    // The last word before anything runs: what, where, how and how long.
    const confirmation = await confirmMigration('migrate-confirm.png');
    assert.match(confirmation, /Migrate "Shop \(PG15\)\/shop" to "Cloud \(PG17\)\/shop_v17"\?/);
    assert.match(confirmation, /From: Shop \(PG15\), database "shop"/);
    assert.match(confirmation, /To: Cloud \(PG17\), database "shop_v17" .*it must be empty/);
    assert.match(confirmation, /Options: --no-owner --no-acl/);
    assert.match(confirmation, /Plan: Streaming \(dump and load at the same time/);
    assert.match(confirmation, /Estimate: about [\d.]+ s: dump and load [\d.]+ s/);

    // The steps run in terminals; the validation view opens and shows every table matching.
    const view = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
    await view.locator('h2', { hasText: 'The target matches the source' }).waitFor({ timeout: 120_000 });
    const facts = await view.locator('.facts').innerText();
    assert.match(facts, /0 different/);
    assert.match(facts, /0 missing in target/);
    assert.ok((await view.locator('.grid-row[data-key="public.events"]').count()) > 0, 'every table is listed');
    await page.screenshot({ path: join(shots, 'validation.png') });
    // Another editor tab and back: the view is built again and still shows what it showed.
    await page.keyboard.press('F1');
    await quickInput().fill('>New Untitled Text File');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'New Untitled Text File' }).first().click();
    await page
      .locator('.tab', { hasText: /^Untitled-/ })
      .first()
      .waitFor({ timeout: 10_000 });
    await page
      .locator('.tab', { hasText: /^Validate / })
      .first()
      .click();
    await view.locator('h2', { hasText: 'The target matches the source' }).waitFor({ timeout: 30_000 });
    assert.ok(
      (await view.locator('.grid-row[data-key="public.events"]').count()) > 0,
      'still every table after a tab switch (not "No differences.")',
    );
    assert.equal(await view.locator('select[aria-label="Show"]').inputValue(), 'all');
    // Search covers access methods: "columnar" finds the columnar tables and nothing else.
    await view.locator('vscode-textfield[aria-label="Search tables"] input').fill('columnar');
    await view.locator('.grid-row').first().waitFor({ timeout: 10_000 });
    await view.locator('.grid-row[data-key="public.accounts"]').waitFor({ state: 'detached', timeout: 10_000 });
    const found = await view.locator('.grid-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
    assert.ok(found.includes('public.events'), `columnar tables found: ${found.join(', ')}`);
    assert.ok(!found.includes('public.accounts'), 'a heap table is not a match');
    await view.locator('vscode-textfield[aria-label="Search tables"] input').fill('');
    // The Runs view lists the five steps.
    const runsPane = page.locator('.pane-header', { hasText: 'Runs' }).first();
    if ((await runsPane.getAttribute('aria-expanded')) !== 'true') await runsPane.click();
    // The migration with its steps beneath it (the newest migration open).
    const migrationRow = page
      .locator('.monaco-list-row[aria-level="1"]', { hasText: /^Migrate shop → Cloud \(PG17\)\/shop_v17 · / })
      .first();
    await migrationRow.waitFor({ timeout: 10_000 });
    assert.equal(await migrationRow.getAttribute('aria-expanded'), 'true');
    const last = page.locator('.monaco-list-row[aria-level="2"]', { hasText: 'Migrate 5/5: analyze shop_v17' }).first();
    await last.waitFor({ state: 'attached', timeout: 10_000 });
    await last.scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(shots, 'runs.png') });
  });

  it('tampering with the target and re-running the validation shows exactly the differences', async () => {
    await pg17.sql('DELETE FROM public.accounts WHERE id <= 3; ALTER TABLE public.events SET ACCESS METHOD heap', 'shop_v17');
    const view = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
    await page
      .locator('.tab', { hasText: /^Validate / })
      .first()
      .click();
    const rerun = view.getByRole('button', { name: 'Re-run', exact: true });
    await rerun.waitFor({ timeout: 20_000 }).catch(async (e: unknown) => {
      await page.screenshot({ path: join(shots, 'rerun-missing.png') });
      throw e;
    });
    await rerun.click();
    await view.locator('h2', { hasText: 'The target differs from the source' }).waitFor({ timeout: 60_000 });
    const rows = await view.locator('.grid-row').allInnerTexts();
    assert.equal(rows.length, 2, rows.join('\n'));
    assert.ok(
      rows.some((r) => /accounts/.test(r) && /-3/.test(r)),
      'accounts: 3 rows missing',
    );
    assert.ok(
      rows.some((r) => /events/.test(r) && /columnar → heap/.test(r)),
      'events: columnar became heap',
    );
    await page.screenshot({ path: join(shots, 'differences.png') });

    // Re-check one table: the view answers in its status line.
    // Re-check one table from its row's icon button (shown on hover): the row says so, then the status line.
    const accounts = view.locator('.grid-row[data-key="public.accounts"]');
    await accounts.hover();
    await accounts.getByRole('button', { name: 'Re-check public.accounts', exact: true }).click();
    await view.locator('#status-line', { hasText: 'Re-checked public.accounts: different' }).waitFor({ timeout: 30_000 });
    await view.locator('.grid-row.flash[data-key="public.accounts"]').waitFor({ timeout: 5_000 });

    // Export the report as Markdown through the save dialog.
    const out = join(dumps, 'validation-report.md');
    await view.getByRole('button', { name: 'Export Markdown', exact: true }).click();
    const input = page.locator('.quick-input-widget input.input');
    await input.waitFor({ timeout: 10_000 });
    // The dialog fills in the suggested path first; replace it once it is there.
    await page.waitForFunction(
      () => document.querySelector<HTMLInputElement>('.quick-input-widget input.input')?.value.endsWith('.md') ?? false,
      undefined,
      { timeout: 10_000 },
    );
    // It proposes the workspace folder, never the filesystem root.
    const proposed = await input.inputValue();
    assert.ok(proposed.startsWith(`${workspace}/`) && /shop_v17-validation-.*\.md$/.test(proposed), proposed);
    await input.fill(out);
    await page.waitForTimeout(300);
    await input.press('Enter');
    const deadline = Date.now() + 15_000;
    while (!existsSync(out) && Date.now() < deadline) await page.waitForTimeout(100);
    if (!existsSync(out)) await page.screenshot({ path: join(shots, 'export-failed.png') });
    await view.locator('#status-line', { hasText: `Exported to ${out}` }).waitFor({ timeout: 10_000 });
    const md = readFileSync(out, 'utf8');
    assert.match(md, /^# Migration validation: DIFFERENCES FOUND/);
    assert.match(md, /\| different \| public \| events \| table \| 500 \| 500 \| columnar → heap \|/);
    assert.match(md, /\| different \| public \| accounts \| table \| 1,000 \| 997 \|/);
  });

  it('the differences read at 1400×900 and 1100×800 in the dark, light and high-contrast themes, and by keyboard', async () => {
    const view = page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
    const themes = [
      ['Dark 2026', 'vs-dark', 'dark'],
      ['Light 2026', 'vs', 'light'],
      ['Dark High Contrast', 'hc-black', 'high-contrast'],
    ] as const;
    try {
      for (const [theme, cls, name] of themes) {
        // The theme picker (Ctrl+K Ctrl+T), as a user switches themes.
        await page.keyboard.press('Control+K');
        await page.keyboard.press('Control+T');
        await quickInput().fill(theme);
        await page.locator('.quick-input-list .monaco-list-row', { hasText: theme }).first().waitFor({ timeout: 10_000 });
        await quickInput().press('Enter');
        await page.locator(`.monaco-workbench.${cls}`).waitFor({ timeout: 30_000 });
        for (const [width, height] of [
          [1400, 900],
          [1100, 800],
        ] as const) {
          await page.setViewportSize({ width, height });
          await page.waitForTimeout(700);
          await view.locator('.grid-row[data-key="public.accounts"]').waitFor({ timeout: 10_000 });
          const g = await view.locator('div.grid').evaluate((grid) => {
            const box = grid.getBoundingClientRect();
            const heads = [...grid.querySelectorAll('[role=columnheader]')].map((h) => ({
              label: (h.textContent ?? '').replace(/[▲▼]/g, '').trim(),
              inside: h.getBoundingClientRect().left >= box.left - 1 && h.getBoundingClientRect().right <= box.right + 1,
            }));
            const heights = [...grid.querySelectorAll('.grid-row')].map((r) => r.getBoundingClientRect().height);
            const el = grid as HTMLElement;
            return {
              heads,
              heights,
              overflow: grid.scrollWidth > grid.clientWidth,
              why: `${grid.scrollWidth} > ${grid.clientWidth}; window ${window.innerWidth}; hidden ${el.dataset.hidden ?? ''}; ${el.style.getPropertyValue('--cols')}`,
            };
          });
          assert.deepEqual([...new Set(g.heights)], [26], `one line per table at ${width}×${height} (${name})`);
          assert.ok(!g.overflow, `no sideways scrolling at ${width}×${height}: ${g.why}`);
          for (const label of ['Status', 'Table', 'Source rows', 'Target rows', 'Access method', 'Problems'])
            assert.ok(
              g.heads.some((h) => h.label === label && h.inside),
              `${label} in sight at ${width}×${height}: ${JSON.stringify(g.heads)}`,
            );
          await page.screenshot({ path: join(shots, `validation-${name}-${width}.png`) });
        }
      }
    } finally {
      await page.setViewportSize({ width: 1400, height: 900 });
    }
    // The keyboard: into the grid, down to a table, Enter opens its detail with the whole problem.
    await view.locator('div.grid').focus();
    await page.keyboard.press('Home');
    const key = await view.locator('.grid-row.focused').getAttribute('data-key');
    await page.keyboard.press('ArrowDown');
    const next = await view.locator('.grid-row.focused').getAttribute('data-key');
    assert.notEqual(next, key, 'ArrowDown moves to the next table');
    await page.keyboard.press('Enter');
    const detail = view.locator('.grid-detail');
    await detail.waitFor({ timeout: 5_000 });
    assert.match(await detail.innerText(), new RegExp(`Table\\s+${next!.replace('.', '\\.')}`));
    await page.keyboard.press('Shift+F10');
    await view.locator('[role=menu]').waitFor({ timeout: 5_000 });
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    await detail.waitFor({ state: 'detached', timeout: 5_000 });
  });

  it('a target lacking the columnar extension: the readiness checks stop the migration with the fix', async () => {
    const earlier = runLogs();
    await contextMenu(await treeRow('hydra_ext, database'), 'Migrate Database…');
    const input = quickInput();
    await page.locator('.quick-input-widget', { hasText: 'Target database name' }).waitFor({ timeout: 10_000 });
    await input.press('Enter');
    await page.locator('.quick-input-widget', { hasText: 'Migration options' }).waitFor({ timeout: 10_000 });
    await input.press('Enter');
    assert.match(await confirmMigration(), /Plan: /);
    await page.locator('.notifications-toasts', { hasText: 'readiness checks failed' }).waitFor({ timeout: 60_000 });
    // The toast can come before the terminal has drawn the last line: read it until that line is there.
    const flat = await terminalUntil(/✖Migrationstoppedin"Migrate1\/5:readinesschecks"/, 30_000);
    // The end of the terminal is in view: what blocks and the fix.
    assert.match(flat, /Tableaccessmethods\(columnar\);Schemarehearsalonthetarget\./);
    // The migration's last line says where it stopped and why.
    assert.match(
      flat,
      /✖Migrationstoppedin"Migrate1\/5:readinesschecks":Notready:\d+blockingproblem\(s\):.*Tableaccessmethods\(columnar\)/,
    );
    assert.match(flat, /--no-table-access-method/);
    // The whole output is in the run's log (Runs view → Show Log): every check, the extension named.
    const log = await runLogAfter(earlier, /✖ Schema rehearsal on the target/);
    assert.match(log, /✖ Extensions available on the target: .*adminpack/);
    assert.match(log, /✖ Schema rehearsal on the target: Restoring the schema alone reported \d+ error\(s\)/);
    assert.match(flat, /--no-table-access-method/);
    await page.screenshot({ path: join(shots, 'blocked.png') });
    // Done with it: any key closes the finished step's terminal (as its last line says).
    await page.locator('.terminal-wrapper.active .xterm').click();
    await page.keyboard.press('Enter');
    await page
      .locator('.terminal-wrapper.active .xterm-rows', { hasText: 'Migration stopped in' })
      .waitFor({ state: 'detached', timeout: 10_000 });
  });

  it('cancelling a long restore stops pg_restore and says what state the database is in', async () => {
    // A big archive, made with the real pg_dump outside the UI, and an empty target database.
    await pg15.sql(`CREATE DATABASE bigdb OWNER ${MIGRATOR} TEMPLATE template0`);
    await pg15.sql(
      // A small table loaded first, then the big one the Ctrl+C lands in.
      `SET ROLE ${MIGRATOR}; CREATE TABLE public.a_small AS SELECT g AS id FROM generate_series(1, 100) g;
       CREATE TABLE public.big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 6000000) g`,
      'bigdb',
    );
    const archive = await archiveOf('bigdb');
    await pg17.sql('CREATE DATABASE restore_me TEMPLATE template0');

    const target = await treeRow('Cloud (PG17)');
    if ((await target.getAttribute('aria-expanded')) !== 'true') await target.click();
    // The new database appears once the target's list is read again.
    const dbRow = await treeRow('restore_me, database').catch(async () => {
      await target.click();
      await target.click();
      return treeRow('restore_me, database');
    });
    await contextMenu(dbRow, 'Restore Dump…');
    await pickArchiveAndRestore(archive);
    // Wait until the small table is in and the big one is copying (read from the target: the terminal
    // shows only its last rows), then Ctrl+C in the step terminal.
    const rows = page.locator('.terminal-wrapper.active .xterm-rows');
    const deadline = Date.now() + 30_000;
    const smallLoaded = async (): Promise<boolean> =>
      pg17
        .sql('SELECT count(*)::int AS n FROM public.a_small', 'restore_me')
        .then((r) => r.rows[0].n === 100)
        .catch(() => false);
    const copying = (): Promise<boolean> => copyingInto('restore_me');
    while (!((await smallLoaded()) && (await copying())) && Date.now() < deadline) await page.waitForTimeout(50);
    assert.ok((await smallLoaded()) && (await copying()), 'the small table was in and the big one copying when Ctrl+C was pressed');
    // The key goes where the focus is: in the restore's terminal, not a finished one beside it.
    await page.locator('.terminal-wrapper.active .xterm').click();
    await page.locator('.terminal-wrapper.active .xterm-helper-textarea:focus').waitFor({ timeout: 5_000 });
    const t0 = Date.now();
    await page.keyboard.press('Control+C');
    const text = async (): Promise<string> => (await rows.innerText()).replace(/\s+/g, '');
    while (!/cancelled/.test(await text()) && Date.now() - t0 < 15_000) await page.waitForTimeout(100);
    const flat = await text();
    assert.match(flat, /cancelled/, flat);
    assert.match(flat, /"restore_me"ispartiallyrestored/);
    assert.match(flat, /Dropandrecreate"restore_me"/);
    assert.match(flat, /Exitcode130/);
    const { execFileSync } = await import('node:child_process');
    const left = (() => {
      try {
        return execFileSync('pgrep', ['-f', 'pg_restore.*bigdb\.dump']).toString().trim();
      } catch {
        return '';
      }
    })();
    assert.equal(left, '', 'no pg_restore left running');
    await page.screenshot({ path: join(shots, 'cancelled.png') });
  });

  /** The restore step's terminal has ended: its text without whitespace. */
  async function terminalUntil(pattern: RegExp, timeout = 120_000): Promise<string> {
    const rows = page.locator('.terminal-wrapper.active .xterm-rows');
    const deadline = Date.now() + timeout;
    let flat = '';
    while (Date.now() < deadline) {
      flat = (await rows.innerText().catch(() => '')).replace(/\s+/g, '');
      if (pattern.test(flat)) return flat;
      await page.waitForTimeout(250);
    }
    throw new Error(`terminal never matched ${String(pattern)}: ${flat.slice(-800)}`);
  }

  /** A custom-format archive of a PG15 database, made with the real pg_dump outside the UI. */
  async function archiveOf(database: string): Promise<string> {
    const out = join(dumps, `${database}.dump`);
    const made = await dump({
      source: sideOn(pg15, database),
      pgDump: join(PG15_TOOLS, 'pg_dump'),
      pgRestore: join(PG15_TOOLS, 'pg_restore'),
      out,
      format: 'custom',
    });
    assert.ok(made.ok, made.failure?.message);
    return out;
  }

  /** A modal dialog: its text, then the button. */
  async function answerDialog(button: string): Promise<string> {
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 30_000 });
    const text = await dialog.innerText();
    await dialog.locator('.monaco-button', { hasText: button }).click();
    await dialog.waitFor({ state: 'detached', timeout: 10_000 });
    return text;
  }

  /** The typed confirmation: a wrong name is refused in place, the exact one accepted. */
  async function typeDatabaseName(name: string): Promise<void> {
    const input = quickInput();
    await page.locator('.quick-input-widget', { hasText: 'Type the database name to confirm' }).waitFor({ timeout: 10_000 });
    await input.fill(`${name}x`);
    await page.locator('.quick-input-message', { hasText: `Type "${name}" exactly` }).waitFor({ timeout: 10_000 });
    await input.fill(name);
    await input.press('Enter');
  }

  /** Whether a COPY into the target's database `db` is running now (pg_stat_progress_copy). */
  async function copyingInto(db: string): Promise<boolean> {
    const { rows } = await pg17.sql(`SELECT count(*)::int AS n FROM pg_stat_progress_copy WHERE datname = '${db}'`);
    return rows[0].n > 0;
  }

  /**
   * Restore Dump…'s file dialog (code-server's own): the archive's path typed in place of the starting
   * folder the dialog fills in first, then the summary of the archive accepted.
   */
  async function pickArchiveAndRestore(archive: string): Promise<void> {
    const input = quickInput();
    await input.waitFor({ timeout: 10_000 });
    await page.waitForFunction(
      () => (document.querySelector<HTMLInputElement>('.quick-input-widget input.input')?.value ?? '').includes('/'),
      undefined,
      { timeout: 10_000 },
    );
    await page.waitForTimeout(300);
    await input.fill(archive);
    await page.waitForTimeout(300);
    await input.press('Enter');
    await page
      .locator('.quick-input-widget', { hasText: 'Restore 1' })
      .or(page.locator('.quick-input-widget', { hasText: 'entries (PostgreSQL 15' }))
      .first()
      .waitFor({ timeout: 20_000 });
    await input.press('Enter');
  }

  /** An inline action of the newest run in the Runs view whose title has `text` (the view opened if folded). */
  async function runAction(text: string, action: 'Resume' | 'Re-run'): Promise<void> {
    const runsHeader = page.locator('.pane-header', { hasText: 'Runs' }).first();
    if ((await runsHeader.getAttribute('aria-expanded')) !== 'true') await runsHeader.click();
    const run = page.locator('.monaco-list-row', { hasText: text }).first();
    await run.waitFor({ state: 'attached', timeout: 10_000 });
    await run.scrollIntoViewIfNeeded();
    await run.hover();
    await run.locator(`.action-label[aria-label="${action}"]`).click();
  }

  it('Resume on the cancelled restore goes on where it stopped: the schema kept, the table loaded', async () => {
    const earlier = runLogs();
    await page.keyboard.press('Escape');
    await runAction('Restore into Cloud (PG17)/restore_me', 'Resume');
    // While it runs, its row in the Runs view says how far it is.
    await page
      .locator('.monaco-list-row', { hasText: /Resume the restore into Cloud \(PG17\)\/restore_me.*\d+%/ })
      .first()
      .waitFor({ state: 'attached', timeout: 30_000 });
    const flat = await terminalUntil(/ResumetherestoreintoCloud\(PG17\)\/restore_me(succeeded|failed|cancelled)/);
    assert.match(flat, /ResumetherestoreintoCloud\(PG17\)\/restore_mesucceeded/, flat.slice(-600));
    const log = await runLogAfter(earlier, /resume: /);
    assert.match(log, /resume: 1 table\(s\) loaded already, 1 to load \(public\.big\)/);
    const { rows } = await pg17.sql('SELECT count(*)::int AS n FROM public.big', 'restore_me');
    assert.equal(rows[0].n, 6_000_000);
  });

  it('Re-run of the restore re-runs the restore: the database that holds its data is dropped and recreated when asked, then restored whole', async () => {
    const earlier = runLogs();
    await page.keyboard.press('Escape');
    // The finished terminals go (the re-run opens one named like the cancelled one).
    await page.keyboard.press('F1');
    await quickInput().fill('>Terminal: Kill All Terminals');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Kill All Terminals' }).first().click();
    await page.waitForTimeout(500);
    await runAction('Restore into Cloud (PG17)/restore_me', 'Re-run');
    const text = await answerDialog('Drop and Recreate…');
    assert.match(text, /"restore_me" on "Cloud \(PG17\)" is not empty/);
    assert.match(text, /Drop and Recreate: drops "restore_me" with all its data/);
    await typeDatabaseName('restore_me');
    // The new terminal (the cancelled one has the same name) has ended.
    const flat = await terminalUntil(/ANALYZEdone.*Exitcode0|RestoreintoCloud\(PG17\)\/restore_me(failed|cancelled)after/);
    assert.match(flat, /RestoreintoCloud\(PG17\)\/restore_mesucceeded/, flat.slice(-600));
    // The whole output is in the run's log: the drop first, then the restore alone (not a whole migration).
    const log = await runLogAfter(earlier, /DROP DATABASE "restore_me"/);
    assert.match(log, /\$ DROP DATABASE "restore_me" WITH \(FORCE\)\n\$ CREATE DATABASE "restore_me" WITH TEMPLATE template0/);
    assert.match(log, /pg_restore --verbose/);
    assert.doesNotMatch(log, /pg_dump/);
    const { rows } = await pg17.sql('SELECT count(*)::int AS n FROM public.big', 'restore_me');
    assert.equal(rows[0].n, 6_000_000);
    await page.screenshot({ path: join(shots, 'rerun-restore.png') });
  });

  it('Restore Dump… into a database that holds other tables: Restore Anyway with its name typed restores on top', async () => {
    await page.keyboard.press('Escape');
    await pg15.sql(`CREATE DATABASE tiny OWNER ${MIGRATOR} TEMPLATE template0`);
    await pg15.sql(`SET ROLE ${MIGRATOR}; CREATE TABLE public.items AS SELECT g AS id FROM generate_series(1, 42) g`, 'tiny');
    const archive = await archiveOf('tiny');
    await pg17.sql('CREATE DATABASE has_notes TEMPLATE template0');
    await pg17.sql(
      'CREATE TABLE public.notes (id int PRIMARY KEY, body text); INSERT INTO public.notes VALUES (1, $$keep me$$)',
      'has_notes',
    );
    await page.keyboard.press('F1');
    await quickInput().fill('>Hydra Migrate: Refresh');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Refresh' }).first().click();
    const target = await treeRow('Cloud (PG17)');
    if ((await target.getAttribute('aria-expanded')) !== 'true') await target.click();
    await contextMenu(await treeRow('has_notes, database'), 'Restore Dump…');
    // The target is checked first, before the archive and the options are asked for.
    const text = await answerDialog('Restore Anyway…');
    assert.match(text, /"has_notes" on "Cloud \(PG17\)" is not empty/);
    assert.match(text, /It holds 1 object\(s\) in 0 schema\(s\)/);
    await typeDatabaseName('has_notes');
    await pickArchiveAndRestore(archive);
    const flat = await terminalUntil(/RestoreintoCloud\(PG17\)\/has_notes(succeeded|failed|cancelled)/);
    assert.match(flat, /succeeded/, flat.slice(-600));
    const items = await pg17.sql('SELECT count(*)::int AS n FROM public.items', 'has_notes');
    const notes = await pg17.sql('SELECT body FROM public.notes', 'has_notes');
    assert.equal(items.rows[0].n, 42);
    assert.deepEqual(notes.rows, [{ body: 'keep me' }], 'what was there is kept');
  });

  it('a restore cut by a window reload shows as interrupted after it, with its tools stopped, and Resume completes it', async () => {
    await page.keyboard.press('Escape');
    await pg17.sql('CREATE DATABASE reload_me TEMPLATE template0');
    // A table big enough that its load outlasts a reload on a loaded machine.
    await pg15.sql(`CREATE DATABASE reloaddb OWNER ${MIGRATOR} TEMPLATE template0`);
    await pg15.sql(
      `SET ROLE ${MIGRATOR}; CREATE TABLE public.a_small AS SELECT g AS id FROM generate_series(1, 100) g;
       CREATE TABLE public.big AS SELECT g AS id, md5(g::text) AS h FROM generate_series(1, 10000000) g`,
      'reloaddb',
    );
    const archive = await archiveOf('reloaddb');
    await page.keyboard.press('F1');
    await quickInput().fill('>Hydra Migrate: Refresh');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Refresh' }).first().click();
    const target = await treeRow('Cloud (PG17)');
    if ((await target.getAttribute('aria-expanded')) !== 'true') await target.click();
    await contextMenu(await treeRow('reload_me, database'), 'Restore Dump…');
    await pickArchiveAndRestore(archive);
    // The big table is loading: the window reloads (Developer: Reload Window).
    const deadline = Date.now() + 30_000;
    while (!(await copyingInto('reload_me')) && Date.now() < deadline) await page.waitForTimeout(50);
    assert.ok(await copyingInto('reload_me'), 'the restore was copying rows when the window reloaded');
    await page.keyboard.press('F1');
    await quickInput().fill('>Developer: Reload Window');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Reload Window' }).first().click();
    await page.waitForTimeout(1000);
    await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
    // The extension host that ran it stopped its tools: no pg_restore goes on loading behind the user's back.
    const left = (): string[] => processesWhere((cmd) => cmd.includes('pg_restore') && cmd.includes(archive));
    const stopBy = Date.now() + 20_000;
    while (left().length && Date.now() < stopBy) await page.waitForTimeout(200);
    assert.deepEqual(left(), [], 'no pg_restore left running after the reload');
    const cut = await pg17.sql('SELECT count(*)::int AS n FROM public.big', 'reload_me');
    assert.equal(cut.rows[0].n, 0, 'the big table was cut');
    // The Runs view (in the Hydra Migrate side bar again) shows the run interrupted, with Resume.
    await page.locator('.pane-header', { hasText: 'Runs' }).first().waitFor({ timeout: 60_000 });
    const runsHeader = page.locator('.pane-header', { hasText: 'Runs' }).first();
    if ((await runsHeader.getAttribute('aria-expanded')) !== 'true') await runsHeader.click();
    await page
      .locator('.monaco-list-row', { hasText: /Restore into Cloud \(PG17\)\/reload_me.*interrupted/ })
      .first()
      .waitFor({ state: 'attached', timeout: 60_000 });
    await page.screenshot({ path: join(shots, 'interrupted.png') });
    await runAction('Restore into Cloud (PG17)/reload_me', 'Resume');
    const flat = await terminalUntil(/ResumetherestoreintoCloud\(PG17\)\/reload_me(succeeded|failed|cancelled)/);
    assert.match(flat, /ResumetherestoreintoCloud\(PG17\)\/reload_mesucceeded/, flat.slice(-600));
    const { rows } = await pg17.sql('SELECT count(*)::int AS n FROM public.big', 'reload_me');
    assert.equal(rows[0].n, 10_000_000);
  });

  it('a wrong password shows the explanation in the tree without retrying in a loop', async () => {
    await page.keyboard.press('Escape');
    // The Runs view folded again: the connections get the side bar's height.
    const runsHeader = page.locator('.pane-header', { hasText: 'Runs' }).first();
    if ((await runsHeader.getAttribute('aria-expanded')) === 'true') await runsHeader.click();
    await addTargetFromPalette(
      `postgresql://${pg17.adminUser}:not-the-password@127.0.0.1:${pg17.port}/postgres?sslmode=disable`,
      'Wrong password',
    );
    await page.locator('.notifications-toasts', { hasText: 'rejected the password' }).first().waitFor({ timeout: 20_000 });
    const tree = page
      .locator('.pane-body')
      .filter({ has: page.locator('.monaco-list') })
      .first();
    // The tree may still be repainting after the test of the new connection: expand until the error shows.
    const wrong = tree.locator('.monaco-list-row[aria-label^="Wrong password"]').first();
    const errorRow = tree.locator('.monaco-list-row', { hasText: 'rejected the password' }).first();
    for (let attempt = 0; attempt < 10 && !(await errorRow.isVisible()); attempt++) {
      await wrong.scrollIntoViewIfNeeded();
      if ((await wrong.getAttribute('aria-expanded')) !== 'true') await wrong.locator('.monaco-tl-twistie').click();
      await page.waitForTimeout(1000);
    }
    await errorRow.waitFor({ timeout: 5_000 });
    const log = join(dirname(pg17.dataDir), 'server.log');
    const failures = (): number => (readFileSync(log, 'utf8').match(/password authentication failed/g) ?? []).length;
    const before = failures();
    await page.waitForTimeout(4000);
    assert.ok(failures() - before <= 1, `${failures() - before} more failed logins in 4 s: the tree retries in a loop`);
    await page.screenshot({ path: join(shots, 'wrong-password.png') });
  });
});
