/**
 * The extension-host suites on DESKTOP VS Code through @vscode/test-electron (on a machine that can
 * download VS Code or has one: set HM_VSCODE_EXECUTABLE to use an installed VS Code). Starts the
 * same real PG15/PG17 servers as test/vscode/run.test.ts. Offline machines use code-server
 * instead (npm test).
 *   npm run build && node scripts/build.mjs --tests && node --import tsx scripts/run-desktop-tests.ts
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTests } from '@vscode/test-electron';
import { AWKWARD, createSampleDatabase, MIGRATOR, MIGRATOR_PASSWORD } from '../test/helpers/fixtures.js';
import { startServers } from '../test/helpers/servers.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DB = 'hydra app';
const servers = await startServers('pg15', 'pg17');
const work = mkdtempSync(join(tmpdir(), 'hm-desktop-'));
let code = 1;
try {
  await Promise.all([createSampleDatabase(servers.pg15, DB), createSampleDatabase(servers.pg17, DB)]);
  const fixture = join(work, 'fixture.json');
  writeFileSync(
    fixture,
    JSON.stringify({
      database: DB,
      migrator: MIGRATOR,
      migratorPassword: MIGRATOR_PASSWORD,
      pg15: { port: servers.pg15.port },
      pg17: { port: servers.pg17.port },
      awkward: AWKWARD,
    }),
  );
  const options: Parameters<typeof runTests>[0] = {
    extensionDevelopmentPath: repo,
    extensionTestsPath: join(repo, 'out', 'test', 'index.cjs'),
    extensionTestsEnv: { HM_FIXTURE: fixture },
    launchArgs: [work, '--disable-extensions', '--disable-workspace-trust', `--user-data-dir=${join(work, 'user-data')}`],
  };
  if (process.env.HM_VSCODE_EXECUTABLE) options.vscodeExecutablePath = process.env.HM_VSCODE_EXECUTABLE;
  code = await runTests(options);
} catch (err) {
  console.error(`Desktop tests could not run: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  await Promise.all([servers.pg15.stop(), servers.pg17.stop()]);
  rmSync(work, { recursive: true, force: true });
}
process.exit(code);
