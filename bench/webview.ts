/**
 * `npm run bench` (webview): first render of the validation view with a 10,000-table report in
 * headless Chromium (the same bundle VS Code loads), against rendering a 100-table report in the
 * same run. Goal: under 500 ms. Not a test.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser } from '../test/helpers/codeServer.js';
import type { ValidationReport } from '../src/shared/report.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(join(tmpdir(), 'hm-webview-bench-'));
copyFileSync(join(repo, 'dist', 'webview', 'main.js'), join(dir, 'main.js'));
copyFileSync(join(repo, 'media', 'validation.css'), join(dir, 'validation.css'));
writeFileSync(
  join(dir, 'index.html'),
  `<!DOCTYPE html><html><head><link rel="stylesheet" href="validation.css">
<script>window.acquireVsCodeApi = () => ({ postMessage: (m) => { (window.sent ||= []).push(m); }, getState: () => undefined, setState: () => {} });</script>
</head><body><main id="root"></main><script type="module" src="main.js"></script></body></html>`,
);

function report(n: number, differing: number): ValidationReport {
  const tables = Array.from({ length: n }, (_, i) => ({
    schema: `s${i % 20}`,
    name: `t${String(i).padStart(5, '0')}`,
    kind: 'table',
    unlogged: false,
    sourceRows: 1000 + i,
    targetRows: i < differing ? 999 + i : 1000 + i,
    status: i < differing ? ('different' as const) : ('match' as const),
    problems: i < differing ? ['row_count' as const] : [],
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
    summary: {
      tables: n,
      matching: n - differing,
      different: differing,
      missingInTarget: 0,
      extraInTarget: 0,
      sourceRows: 0,
      targetRows: 0,
      objects: 0,
      objectsDifferent: 0,
      sequencesDifferent: 0,
    },
  };
}

// Module scripts do not load from file:// URLs: serve the folder on loopback.
const server = createServer((req, res) => {
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
try {
  const measure = async (n: number, differing: number): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const page = await browser.newPage();
      await page.goto(`${base}/index.html`);
      await page.waitForFunction('window.sent && window.sent.length > 0');
      const r = report(n, differing);
      // A string, not a function: tsx would add helpers that do not exist in the page.
      const ms = await page.evaluate<number>(`new Promise((resolve) => {
        const t0 = performance.now();
        window.postMessage({ type: 'report', title: 'bench', report: ${JSON.stringify(r)} }, '*');
        const check = () => (window.hmLastRenderMs !== undefined ? resolve(performance.now() - t0) : requestAnimationFrame(check));
        check();
      })`);
      times.push(ms);
      await page.close();
    }
    return times.sort((a, b) => a - b);
  };
  const med = (xs: number[]): number => xs[Math.floor(xs.length / 2)]!;
  const small = await measure(100, 0);
  const bigAll = await measure(10000, 0);
  const bigDiff = await measure(10000, 400);
  console.log(
    `webview first render, median of 5 (message to painted): 100 tables ${med(small).toFixed(0)} ms; 10,000 tables all matching ${med(bigAll).toFixed(0)} ms (ratio ${(med(bigAll) / med(small)).toFixed(1)}); 10,000 tables with 400 differences ${med(bigDiff).toFixed(0)} ms (goal < 500 ms)`,
  );
} finally {
  await browser.close();
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
