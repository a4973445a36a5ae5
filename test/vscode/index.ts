/**
 * Entry point of the extension-host suites (extensionTestsPath). Runs every out/test/suite/*.test.cjs
 * with mocha inside the real extension host and, when HM_TEST_RESULTS is set, writes one JSON
 * line per test there so that the outer runner can report each test.
 */
import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', timeout: 60_000, color: false, reporter: 'spec' });
  const dir = join(__dirname, 'suite');
  const grep = process.env.HM_TEST_GREP;
  if (grep) mocha.grep(grep);
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.test.cjs')).sort()) mocha.addFile(join(dir, file));
  const results = process.env.HM_TEST_RESULTS;
  await new Promise<void>((resolve, reject) => {
    const runner = mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} extension-host test(s) failed.`)) : resolve()));
    if (results) {
      runner.on('pass', (test) => appendFileSync(results, JSON.stringify({ title: test.fullTitle(), state: 'passed', durationMs: test.duration ?? 0 }) + '\n'));
      runner.on('fail', (test, err: Error) => appendFileSync(results, JSON.stringify({ title: test.fullTitle(), state: 'failed', error: String(err?.stack ?? err) }) + '\n'));
      runner.on('pending', (test) => appendFileSync(results, JSON.stringify({ title: test.fullTitle(), state: 'skipped' }) + '\n'));
    }
  });
}
