/**
 * runTool's tools outlive nothing: a tool runs in a process group of its own (so a cancel stops
 * its workers too), and when the process that started it is killed outright (an extension host
 * ended by a window reload, a CLI killed with SIGKILL) the tool is stopped within seconds instead
 * of going on behind the user's back. Real processes, no servers.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { processesWhere } from '../helpers/processes.js';

const host = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', 'helpers'), 'toolHost.ts');
/** Pids of `/bin/sleep SECONDS` (the tool these tests run). */
const pids = (seconds: string): string[] => processesWhere((cmd) => cmd === `/bin/sleep\u0000${seconds}\u0000`);

async function startAndKillHost(seconds: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', host, '/bin/sleep', seconds], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((res) => child.stdout.once('data', () => res()));
  const deadline = Date.now() + 10_000;
  while (!pids(seconds).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(pids(seconds).length, 1, 'the tool runs');
  // Its watchdog starts a moment after the tool (it needs the tool's group): a host killed within
  // those milliseconds leaves the tool unguarded, a window this test does not aim at.
  const watchdog = (): string[] => processesWhere((cmd) => cmd.includes(`\u0000hydra-migrate-watchdog\u0000${child.pid}\u0000`));
  if (!env.HM_CAPTURE) {
    while (!watchdog().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(watchdog().length, 1, 'the watchdog runs');
  }
  child.kill('SIGKILL');
  await new Promise((res) => child.on('exit', res));
}

describe('runTool: a tool does not outlive the process that started it', () => {
  it('the host killed with SIGKILL: its tool is stopped within seconds', async () => {
    await startAndKillHost('61.25');
    const deadline = Date.now() + 8000; // the watchdog looks every 0.5 s; a loaded machine is slower
    while (pids('61.25').length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(pids('61.25'), [], 'no tool left running');
  });

  it('a listing (captured output, over in a moment) runs without the watchdog: it would outlive the host', async () => {
    await startAndKillHost('61.5', { HM_CAPTURE: '1' });
    await new Promise((r) => setTimeout(r, 1500));
    const left = pids('61.5');
    assert.equal(left.length, 1, 'the control: without the guard the tool goes on');
    for (const p of left) process.kill(Number(p), 'SIGKILL');
  });
});
