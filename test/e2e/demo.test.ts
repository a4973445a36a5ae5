/**
 * `npm run demo` stopped with Ctrl+C (SIGINT), as the README promises: code-server and both
 * PostgreSQL servers stop, and the demo's folders (its workspace with the archives, the servers'
 * data, code-server's profile) are removed. The demo runs as `npm run demo` runs it after setup.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { openWorkbench, requireWorkbench } from '../helpers/codeServer.js';
import { processesMentioning } from '../helpers/processes.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Folders under the temporary directory whose files mention `needle` (a port, a path). */
function foldersMentioning(prefix: string, file: string, needle: string): string[] {
  return readdirSync(tmpdir())
    .filter((d) => d.startsWith(prefix))
    .filter((d) => {
      try {
        return readFileSync(join(tmpdir(), d, file), 'utf8').includes(needle);
      } catch {
        return false;
      }
    });
}

describe('the demo', { skip: requireWorkbench() }, () => {
  it('Ctrl+C stops code-server and both servers and removes the demo folders, archives included', async () => {
    assert.ok(existsSync(join(repo, 'dist', 'hydra-migrate.vsix')), 'run `npm run package` first');
    const child = spawn(process.execPath, ['--import', 'tsx', join(repo, 'scripts', 'demo.ts')], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 240_000;
      while (!/Press Ctrl\+C to stop everything/.test(out) && Date.now() < deadline && child.exitCode === null)
        await new Promise((r) => setTimeout(r, 200));
      assert.match(out, /Hydra Migrate demo is running/, out);
      const workspace = /\?folder=(\S+)/.exec(out)![1]!;
      const folder = decodeURIComponent(workspace);
      const ports = [...new Set([...out.matchAll(/@127\.0\.0\.1:(\d+)\//g)].map((m) => m[1]!))];
      const codePort = /Open: +http:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]!;
      assert.equal(ports.length, 2, out);
      assert.ok(existsSync(folder), 'the demo workspace exists while it runs');
      assert.equal(foldersMentioning('hm-code-', 'user-data/Machine/settings.json', join(folder, 'dumps')).length, 1, 'dumps go into it');

      // At first open both servers are in the explorer (from the demo's pg_service.conf), and the
      // source lists its databases with the password from the demo's .pgpass: nothing pasted or typed.
      const { browser, page } = await openWorkbench({ url: `http://127.0.0.1:${codePort}` }, folder);
      try {
        await page.locator('.activitybar [aria-label^="Hydra Migrate"]').first().click();
        const row = (text: string) => page.locator('.monaco-list-row', { hasText: text }).first();
        await row('Demo source (PG15)').waitFor({ timeout: 30_000 });
        await row('Demo target (PG17)').waitFor({ timeout: 10_000 });
        await row('Demo source (PG15)').click();
        await page.keyboard.press('ArrowRight');
        await page.locator('.monaco-list-row[aria-label^="shop, database"]').first().waitFor({ timeout: 30_000 });
        await page.screenshot({ path: join(repo, 'test-results', 'demo-first-open.png') });
        assert.equal(await page.locator('.quick-input-widget:visible').count(), 0, 'no password was asked');
      } finally {
        await browser.close();
      }

      child.kill('SIGINT');
      assert.equal(await exited, 0, out);
      assert.match(out, /Stopping code-server and both PostgreSQL servers, removing their data/);
      assert.ok(!existsSync(folder), 'the workspace (and its dumps folder) is removed');
      assert.deepEqual(
        foldersMentioning('hm-code-', 'user-data/Machine/settings.json', join(folder, 'dumps')),
        [],
        "code-server's profile",
      );
      for (const port of ports) {
        assert.deepEqual(foldersMentioning('hm-pg', 'data/postmaster.opts', `"${port}"`), [], `the data of the server on ${port}`);
        assert.deepEqual(processesMentioning(`-p\u0000${port}`), [], `no server left on ${port}`);
      }
      assert.deepEqual(processesMentioning(`127.0.0.1:${codePort}`), [], 'no code-server left');
    } finally {
      // A failed assertion before the Ctrl+C must not leave the demo running.
      if (child.exitCode === null) {
        child.kill('SIGINT');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    }
  });
});
