/**
 * The validation view's bundle (dist/webview/main.js, the file VS Code loads) served on loopback to
 * headless Chromium, with the webview's message channel (acquireVsCodeApi) recording what the view
 * sends and keeping its state. For the grid's component tests and the render benchmark; the journeys
 * in the real workbench are in smoke.test.ts.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from './codeServer.js';
import { summarize, type ValidationReport } from '../../src/shared/report.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ViewPages {
  browser: Browser;
  /** A page with the view loaded, `ready` sent; `state` is what getState returns (a reload's state). */
  open(options?: { width?: number; height?: number; state?: unknown }): Promise<Page>;
  close(): Promise<void>;
}

export async function viewPages(): Promise<ViewPages> {
  const dir = mkdtempSync(join(tmpdir(), 'hm-webview-'));
  copyFileSync(join(repo, 'dist', 'webview', 'main.js'), join(dir, 'main.js'));
  copyFileSync(join(repo, 'media', 'validation.css'), join(dir, 'validation.css'));
  writeFileSync(
    join(dir, 'index.html'),
    `<!DOCTYPE html><html><head><link rel="stylesheet" href="validation.css">
<script>
const saved = new URLSearchParams(location.search).get('state');
window.hmState = saved ? JSON.parse(saved) : undefined;
window.acquireVsCodeApi = () => ({ postMessage: (m) => { (window.sent ||= []).push(m); }, getState: () => window.hmState, setState: (s) => { window.hmState = JSON.parse(JSON.stringify(s)); } });
</script>
</head><body><main id="root"></main><script type="module" src="main.js"></script></body></html>`,
  );
  // Module scripts do not load from file:// URLs.
  const server: Server = createServer((req, res) => {
    const file = join(dir, (req.url ?? '/').replace(/^\/+/, '').replace(/\?.*$/, '') || 'index.html');
    try {
      const body = readFileSync(file);
      res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'text/html' });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const browser = await launchBrowser();
  return {
    browser,
    async open(options = {}) {
      const page = await browser.newPage({ viewport: { width: options.width ?? 1200, height: options.height ?? 800 } });
      const query = options.state === undefined ? '' : `?state=${encodeURIComponent(JSON.stringify(options.state))}`;
      await page.goto(`${base}/index.html${query}`);
      await page.waitForFunction('window.sent && window.sent.length > 0');
      return page;
    },
    async close() {
      await browser.close();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Posts a report to the view as the host does; resolves when it is painted. */
export async function showReport(page: Page, report: ValidationReport): Promise<number> {
  // A string, not a function: tsx would add helpers that do not exist in the page.
  return page.evaluate<number>(`new Promise((resolve) => {
    window.hmLastRenderMs = undefined;
    const t0 = performance.now();
    window.postMessage({ type: 'report', title: 'test', report: ${JSON.stringify(report)} }, '*');
    const check = () => (window.hmLastRenderMs !== undefined ? resolve(performance.now() - t0) : requestAnimationFrame(check));
    check();
  })`);
}

/** A report of `n` tables, the first `differing` of them with rows missing. */
export function syntheticReport(n: number, differing: number, extra: Partial<ValidationReport> = {}): ValidationReport {
  const tables = Array.from({ length: n }, (_, i) => ({
    schema: `s${i % 20}`,
    name: `t${String(i).padStart(5, '0')}`,
    kind: 'table',
    unlogged: false,
    sourceRows: 1000 + i,
    targetRows: i < differing ? 999 + i : 1000 + i,
    status: i < differing ? ('different' as const) : ('match' as const),
    problems: i < differing ? ['row_count' as const] : [],
    ...(i < differing ? { detail: '1 row missing in the target' } : {}),
    sourceAccessMethod: 'heap',
    targetAccessMethod: 'heap',
  }));
  return {
    ok: differing === 0,
    mode: 'exact',
    checksums: false,
    source: { server: 's', version: '15.18', database: 'd' },
    target: { server: 't', version: '17.10', database: 'd' },
    startedAt: new Date().toISOString(),
    durationMs: 1000,
    tables,
    objects: [],
    sequences: [],
    summary: summarize(tables, [], []),
    ...extra,
  };
}
