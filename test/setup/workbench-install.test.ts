/**
 * The first thing every new user meets: `npm test` / `npm run demo` install Node 24 and code-server
 * from inside `npm run`, whose Node 20 npm exports npm_config_user_agent = "npm/… node/v20…".
 * code-server's postinstall reads the Node version from that variable and refused to install
 * ("code-server currently requires node v24 … you are on node v20") until setup ran its Node 24
 * installs without the outer npm's variables.
 *
 * This runs the workbench part of the setup the way `npm run` does, into an EMPTY cache, then starts
 * the code-server it installed and asks /healthz. It takes minutes (native builds), so it runs
 * under CI=true (every CI run) or HM_TEST_SETUP=1.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { codeServerBin, node24Bin, startCodeServer } from '../helpers/codeServer.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const enabled = Boolean(process.env.CI || process.env.HM_TEST_SETUP);

/** What a Node 20 `npm run test` puts into the environment of the scripts it runs. */
function npmRunEnvironment(cache: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HYDRA_MIGRATE_CACHE: cache,
    npm_config_user_agent: 'npm/10.9.4 node/v20.20.2 linux x64 workspaces/false',
    npm_config_node_gyp: '/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js',
    npm_config_nodedir: '/usr',
    npm_lifecycle_event: 'test',
    npm_lifecycle_script: 'bash scripts/test.sh',
    npm_package_name: 'hydra-migrate',
    npm_node_execpath: '/usr/bin/node',
    npm_execpath: '/usr/lib/node_modules/npm/bin/npm-cli.js',
    npm_command: 'run-script',
    INIT_CWD: repo,
    NODE: '/usr/bin/node',
  };
}

function runSetup(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn('bash', [join(repo, 'scripts', 'setup.sh'), 'workbench'], { env, cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolveRun({ code, output }));
  });
}

describe(
  'setup on a fresh machine, run from inside npm run',
  { skip: enabled ? false : 'slow (minutes): runs under CI=true or HM_TEST_SETUP=1' },
  () => {
    it(
      'installs Node 24 and code-server into an empty cache, and the installed code-server answers /healthz',
      { timeout: 15 * 60_000 },
      async () => {
        const cache = mkdtempSync(join(tmpdir(), 'hm-fresh-cache-'));
        try {
          const setup = await runSetup(npmRunEnvironment(cache));
          assert.equal(setup.code, 0, `setup failed:\n${setup.output}`);
          assert.doesNotMatch(setup.output, /requires node v24/);
          assert.ok(existsSync(join(node24Bin(cache), 'node')), `no Node 24 in the fresh cache:\n${setup.output}`);
          assert.ok(existsSync(codeServerBin(cache)), `no code-server in the fresh cache:\n${setup.output}`);

          const server = await startCodeServer({ cache });
          try {
            const res = await fetch(`${server.url}/healthz`);
            assert.equal(res.status, 200);
            const health = (await res.json()) as { status?: string };
            assert.ok(health.status === 'alive' || health.status === 'expired', `unexpected /healthz answer ${JSON.stringify(health)}`);
            const page = await fetch(`${server.url}/`, { redirect: 'follow' });
            assert.equal(page.status, 200);
            assert.match(await page.text(), /vscode|workbench/i, 'the installed code-server does not serve the workbench');
          } finally {
            await server.stop();
          }
        } finally {
          rmSync(cache, { recursive: true, force: true });
        }
      },
    );
  },
);
