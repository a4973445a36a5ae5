/**
 * Entry point of the extension-host suites (extensionTestsPath). Runs every out/test/suite/*.test.cjs
 * with mocha inside the real extension host and, when HM_TEST_RESULTS is set, writes one JSON
 * line per test there so that the outer runner can report each test.
 */
import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import Mocha from 'mocha';
import * as vscode from 'vscode';

/**
 * For `npm run bench`: the wall time of activating Hydra Migrate in this extension host, next
 * to the time of activating a built-in extension that is not active yet (baseline of the same run).
 */
async function measureActivation(out: string): Promise<void> {
  const ext = vscode.extensions.getExtension('hydra-migrate.hydra-migrate');
  const result: Record<string, unknown> = {};
  if (ext && !ext.isActive) {
    const t0 = performance.now();
    const api = (await ext.activate()) as { timings?: unknown } | undefined;
    result.activationMs = performance.now() - t0;
    result.inside = api?.timings;
  } else {
    result.error = ext ? 'already active before measurement' : 'extension not found';
  }
  const baseline = vscode.extensions.all.find(
    (e) =>
      e.id.startsWith('vscode.') && !e.isActive && e.packageJSON.main && /-language-features$|^vscode\.(npm|grunt|gulp|jake)$/.test(e.id),
  );
  if (baseline) {
    const t0 = performance.now();
    await baseline.activate().then(undefined, () => undefined);
    result.baselineMs = performance.now() - t0;
    result.baselineId = baseline.id;
  }
  writeFileSync(out, JSON.stringify(result));
}

export async function run(): Promise<void> {
  const activationOut = process.env.HM_ACTIVATION_OUT;
  if (activationOut) await measureActivation(activationOut);
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false, reporter: 'spec' });
  const dir = join(__dirname, 'suite');
  const grep = process.env.HM_TEST_GREP;
  if (grep) mocha.grep(grep);
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.test.cjs'))
    .sort())
    mocha.addFile(join(dir, file));
  const results = process.env.HM_TEST_RESULTS;
  await new Promise<void>((resolve, reject) => {
    const runner = mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} extension-host test(s) failed.`)) : resolve()));
    if (results) {
      appendFileSync(results, JSON.stringify({ planned: runner.total }) + '\n');
      runner.on('pass', (test) =>
        appendFileSync(results, JSON.stringify({ title: test.fullTitle(), state: 'passed', durationMs: test.duration ?? 0 }) + '\n'),
      );
      runner.on('fail', (test, err: Error) =>
        appendFileSync(results, JSON.stringify({ title: test.fullTitle(), state: 'failed', error: String(err?.stack ?? err) }) + '\n'),
      );
      runner.on('pending', (test) => appendFileSync(results, JSON.stringify({ title: test.fullTitle(), state: 'skipped' }) + '\n'));
    }
  });
}
