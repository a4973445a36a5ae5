/**
 * Runs inside the real extension host (code-server = VS Code 1.139) against real PG15 and PG17
 * servers started by test/vscode/run.test.ts (their details arrive in HM_FIXTURE).
 */
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { HydraMigrateApi } from '../../../src/extension/extension.js';
import type { ExplorerNode } from '../../../src/extension/explorer.js';

interface Fixture {
  database: string;
  migrator: string;
  migratorPassword: string;
  pg15: { port: number };
  pg17: { port: number };
  awkward: Record<string, string>;
  service: string;
  servicePassword: string;
  passfile: string;
}

const fixture: Fixture = JSON.parse(readFileSync(process.env.HM_FIXTURE ?? '', 'utf8'));
const EXT_ID = 'hydra-migrate.hydra-migrate';
const uri = (port: number, withPassword: boolean, password = fixture.migratorPassword): string =>
  `postgresql://${fixture.migrator}${withPassword ? `:${encodeURIComponent(password)}` : ''}@127.0.0.1:${port}/${encodeURIComponent(fixture.database)}?sslmode=disable`;

let api: HydraMigrateApi;

async function children(node?: ExplorerNode): Promise<ExplorerNode[]> {
  return (await api.explorer.getChildren(node)) ?? [];
}

async function item(node: ExplorerNode): Promise<vscode.TreeItem> {
  return api.explorer.getTreeItem(node);
}

async function labelOf(node: ExplorerNode): Promise<string> {
  const label = (await item(node)).label;
  return typeof label === 'string' ? label : (label?.label ?? '');
}

async function find(nodes: ExplorerNode[], label: string): Promise<ExplorerNode> {
  for (const n of nodes) if ((await labelOf(n)) === label) return n;
  throw new Error(`No node "${label}" among: ${(await Promise.all(nodes.map(labelOf))).join(', ')}`);
}

async function connectionNode(role: 'source' | 'target', name: string): Promise<ExplorerNode> {
  const groups = await children();
  const group = groups.find((g) => g.kind === 'group' && g.role === role)!;
  return find(await children(group), name);
}

function assertNoPasswordStored(password: string): void {
  const state = JSON.stringify(api.storedState());
  assert.ok(!state.includes(password), 'globalState/workspaceState must not hold the password');
  assert.ok(!state.includes(encodeURIComponent(password)), 'not even percent-encoded');
  const settings =
    JSON.stringify(vscode.workspace.getConfiguration().inspect('hydraMigrate') ?? {}) +
    JSON.stringify(vscode.workspace.getConfiguration('hydraMigrate'));
  assert.ok(!settings.includes(password), 'settings must not hold the password');
}

describe('Hydra Migrate in a real extension host', function () {
  this.timeout(60_000);

  before(async () => {
    const ext = vscode.extensions.getExtension<HydraMigrateApi>(EXT_ID);
    assert.ok(ext, `extension ${EXT_ID} is loaded`);
    api = await ext.activate();
    assert.ok(api, 'activate() returned the API (activation did not fail)');
  });

  it('registers exactly the commands package.json contributes', async () => {
    const ext = vscode.extensions.getExtension(EXT_ID)!;
    const declared = (ext.packageJSON.contributes.commands as Array<{ command: string }>).map((c) => c.command).sort();
    const registered = (await vscode.commands.getCommands(true)).filter((c) => /^hydraMigrate\.[A-Za-z]+$/.test(c)).sort(); // view commands (hydraMigrate.connections.focus ...) come from VS Code
    assert.deepEqual(registered, declared);
  });

  it('adds a source from a URI: password stripped, kept only in SecretStorage, connection works', async () => {
    const id = await api.connections.add({
      uri: uri(fixture.pg15.port, true),
      role: 'source',
      name: 'PG15 source',
      test: false,
    });
    assert.ok(id, 'a connection id is returned');
    assert.equal(await api.passwordStored(id), true, 'the password is in context.secrets');
    assertNoPasswordStored(fixture.migratorPassword);
    const stored = JSON.stringify(api.storedState().globalState['hydraMigrate.connections']);
    assert.match(stored, /"host":"127\.0\.0\.1"/);
    assert.ok(!stored.includes('password'), 'no password field at all');
    // The profiles (and only they: no run history, reports or estimates) roam with Settings Sync; that value holds no password.
    assert.deepEqual(api.syncedKeys(), ['hydraMigrate.connections']);
    assert.ok(Object.keys(api.storedState().globalState).includes(api.syncedKeys()[0]!), 'the synced key is where the profiles are');
    const result = await api.connections.test(id);
    assert.ok(result?.ok, result && !result.ok ? result.error.message : 'no result');
    assert.equal(result.info.serverVersion.split('.')[0], '15');
    assert.equal(result.info.currentUser, fixture.migrator);
  });

  it('a connection by pg_service.conf name, its password from .pgpass: never copied into SecretStorage, the tree says where it comes from', async () => {
    const id = await api.connections.add({ role: 'source', uri: `service=${fixture.service}`, name: 'Service source', test: false });
    assert.ok(id);
    const stored = (
      api.storedState().globalState['hydraMigrate.connections'] as { connections: Array<Record<string, unknown>> }
    ).connections.find((c) => c.id === id)!;
    assert.equal(stored.service, fixture.service);
    assert.equal(stored.user, 'svc_reader');
    assert.equal(stored.port, fixture.pg15.port, 'resolved from the service file');
    assert.equal(await api.passwordStored(id), false, 'the .pgpass password is not copied into SecretStorage');
    assertNoPasswordStored(fixture.servicePassword);
    const result = await api.connections.test(id);
    assert.ok(result?.ok, result && !result.ok ? result.error.message : 'no result');
    assert.equal(result.info.currentUser, 'svc_reader');
    // Listing the databases uses the same password; the tooltip says where it came from.
    const group = (await children()).find((n) => n.kind === 'group' && n.role === 'source')!;
    const node = (await children(group)).find((n) => n.kind === 'connection' && n.profile.id === id)!;
    const dbs = await children(node);
    assert.ok(
      dbs.some((n) => n.kind === 'database' && n.database.name === fixture.database),
      JSON.stringify(dbs.map((n) => n.kind)),
    );
    const tooltip = api.explorer.getTreeItem(node) as vscode.TreeItem;
    const text = (tooltip.tooltip as vscode.MarkdownString).value;
    assert.match(text, /service: `hm_svc` \(pg_service\.conf\)/);
    assert.ok(text.includes(`password: from the password file \`${fixture.passfile}\``), text);
    await api.connections.remove(id);
  });

  it('imports connections from pg_service.conf, .pgpass, the PostgreSQL extension and SQLTools; no password taken; exports them as pg_service.conf', async () => {
    const profiles = () =>
      (api.storedState().globalState['hydraMigrate.connections'] as { connections: Array<Record<string, unknown>> }).connections;
    const fromService = await api.connections.import('serviceFile', 'source');
    const fromPgpass = await api.connections.import('pgpass', 'source');
    const fromPgsql = await api.connections.import('pgsql', 'target');
    const fromSqltools = await api.connections.import('sqltools', 'source');
    const all = [...fromService, ...fromPgpass, ...fromPgsql, ...fromSqltools];
    try {
      const byId = (id: string) => profiles().find((p) => p.id === id)!;
      assert.deepEqual(
        fromService.map((id) => [byId(id).name, byId(id).service, byId(id).user]),
        [['hm_svc', 'hm_svc', 'svc_reader']],
      );
      // The .pgpass line (any database) becomes a connection to that server's postgres database.
      assert.deepEqual(
        fromPgpass.map((id) => [byId(id).name, byId(id).database, byId(id).user]),
        [[`svc_reader@127.0.0.1:${fixture.pg15.port}`, 'postgres', 'svc_reader']],
      );
      assert.deepEqual(
        fromPgsql.map((id) => [byId(id).name, byId(id).role, byId(id).port]),
        [['Fixture PG17 (pgsql)', 'target', fixture.pg17.port]],
      );
      assert.deepEqual(
        fromSqltools.map((id) => [byId(id).name, byId(id).user]),
        [['Fixture PG15 (SQLTools)', fixture.migrator]],
        'the MySQL one left out',
      );
      for (const id of all) assert.equal(await api.passwordStored(id), false, 'no password imported');
      const state = JSON.stringify(api.storedState());
      assert.ok(!state.includes('never-imported'), "another extension's passwords are never read");
      assert.deepEqual(await api.connections.import('sqltools', 'source'), [], 'importing again adds nothing');
      // The service connection works with its .pgpass password.
      const tested = await api.connections.test(fromService[0]!);
      assert.ok(tested?.ok, tested && !tested.ok ? tested.error.message : 'no result');
      const exported = api.connections.exportServiceFile();
      assert.match(
        exported,
        new RegExp(
          `\\[hm_svc\\]\\nhost=127\\.0\\.0\\.1\\nport=${fixture.pg15.port}\\ndbname=${fixture.database}\\nuser=svc_reader\\nsslmode=disable`,
        ),
      );
      assert.ok(!exported.includes(fixture.migratorPassword) && !exported.includes('svc-pw'));
    } finally {
      for (const id of all) await api.connections.remove(id);
    }
  });

  it('adds a target step by step (programmatic) and tests it against PG17', async () => {
    const id = await api.connections.add({
      role: 'target',
      uri: uri(fixture.pg17.port, false),
      password: fixture.migratorPassword,
      name: 'PG17 target',
      test: false,
    });
    assert.ok(id);
    const result = await api.connections.test(id);
    assert.ok(result?.ok && result.info.serverVersion.startsWith('17'));
    const tested = await item(await connectionNode('target', 'PG17 target'));
    assert.equal(tested.contextValue, 'hm:connection:target:ok');
    // What the toast may cut is in the tooltip: who the session is, superuser or not, SSL.
    const tip = (tested.tooltip as vscode.MarkdownString).value;
    assert.match(tip, /Tested .*: user `migrator` \(not superuser\), SSL off, \d+ ms/);
  });

  it('expands connection -> databases -> schemas -> tables, columnar marked, awkward names intact', async () => {
    const conn = await connectionNode('source', 'PG15 source');
    assert.match((await item(conn)).contextValue ?? '', /^hm:connection:source/);
    const db = await find(await children(conn), fixture.database);
    const dbItem = await item(db);
    assert.equal(dbItem.contextValue, 'hm:database:source');
    assert.match(String(dbItem.description), /UTF8 · C\.UTF-8/);
    const schemas = await children(db);
    for (const s of ['public', fixture.awkward.schemaQuote!, fixture.awkward.schemaDot!, fixture.awkward.schemaUnicode!])
      await find(schemas, s);
    const tables = await children(await find(schemas, 'public'));
    const events = await item(await find(tables, 'events'));
    assert.equal(events.contextValue, 'hm:table:source:columnar');
    assert.match(String(events.description), /\[columnar\]/);
    // Partitions beneath their partitioned table, which shows their sizes summed, not "0 B".
    assert.ok(!tables.some((n) => n.kind === 'table' && n.table.name.startsWith('measurements_')), 'no partition beside its parent');
    const measurementsNode = await find(tables, 'measurements');
    const measurements = await item(measurementsNode);
    assert.equal(measurements.collapsibleState, vscode.TreeItemCollapsibleState.Collapsed);
    assert.match(String(measurements.description), /2 partitions/);
    assert.doesNotMatch(String(measurements.description), /· 0 B/);
    const partitions = await children(measurementsNode);
    assert.deepEqual(
      partitions.map((n) => (n.kind === 'table' ? n.table.name : n.kind)),
      ['measurements_2025', 'measurements_2026'],
    );
    const accounts = await item(await find(tables, 'accounts'));
    assert.equal(accounts.contextValue, 'hm:table:source:heap');
    assert.match(String(accounts.description), /~1\.0k rows/);
    const odd = await children(await find(schemas, fixture.awkward.schemaQuote!));
    await find(odd, fixture.awkward.tableSemicolon!);
    const uni = await children(await find(schemas, fixture.awkward.schemaUnicode!));
    assert.equal((await item(await find(uni, fixture.awkward.tableUnicode!))).contextValue, 'hm:table:source:columnar');
  });

  it('a wrong password renders an error node with the explanation, not a crash', async () => {
    const id = await api.connections.add({
      uri: uri(fixture.pg17.port, true, 'not-the-password'),
      role: 'target',
      name: 'bad password',
      test: false,
    });
    const conn = await connectionNode('target', 'bad password');
    const kids = await children(conn);
    assert.equal(kids.length, 1);
    const err = await item(kids[0]!);
    assert.equal(err.contextValue, 'hm:error:auth_failed');
    assert.match(await labelOf(kids[0]!), /rejected the password for user "migrator"/);
    assert.match(String(err.description), /Edit Connection/);
    // Fixing the password makes the same node work.
    assert.equal(await api.connections.setPassword(id, fixture.migratorPassword), true);
    const fixed = await children(await connectionNode('target', 'bad password'));
    await find(fixed, fixture.database);
    assertNoPasswordStored('not-the-password');
    assertNoPasswordStored(fixture.migratorPassword);
  });

  it('a connection added from a URI without a name is named after it, its port included when not 5432', async () => {
    const id = await api.connections.add({ uri: `postgresql://u@127.0.0.1:${fixture.pg15.port}/named_db`, role: 'source', test: false });
    try {
      const stored = api.storedState().globalState['hydraMigrate.connections'] as { connections: Array<{ id: string; name: string }> };
      assert.equal(stored.connections.find((c) => c.id === id)?.name, `named_db @ 127.0.0.1:${fixture.pg15.port}`);
    } finally {
      await api.connections.remove(id);
    }
  });

  it('a pasted URI that is not valid adds nothing', async () => {
    const before = api.storedState().globalState['hydraMigrate.connections'];
    await assert.rejects(api.connections.add({ uri: 'postgresql://u@h:99999/d', role: 'source' }), /out of range/);
    assert.deepEqual(api.storedState().globalState['hydraMigrate.connections'], before);
  });

  it('copies the URI without the password; rename, duplicate, move, edit, remove', async () => {
    const conn = await connectionNode('source', 'PG15 source');
    const copied = await vscode.commands.executeCommand<string>('hydraMigrate.copyConnectionUri', conn);
    assert.equal(copied, `postgresql://migrator@127.0.0.1:${fixture.pg15.port}/${encodeURIComponent(fixture.database)}?sslmode=disable`);
    assert.equal(await vscode.env.clipboard.readText(), copied);

    const id = conn.kind === 'connection' ? conn.profile.id : '';
    const copyId = await api.connections.duplicate(id);
    assert.ok(copyId && copyId !== id);
    assert.equal(await api.passwordStored(copyId), true, 'the duplicate has its own stored password');
    assert.equal(await api.connections.rename(copyId, 'renamed copy'), true);
    await assert.rejects(api.connections.rename(copyId, 'PG15 source'), /taken|exists|already/i, 'a taken name is refused');
    assert.equal(await api.connections.move(copyId, 'target'), true);
    await connectionNode('target', 'renamed copy');
    assert.equal(await api.connections.edit(copyId, { target: { port: fixture.pg17.port } }), true);
    const r = await api.connections.test(copyId);
    assert.ok(r?.ok && r.info.serverVersion.startsWith('17'), 'the edit took effect');
    assert.equal(await api.connections.remove(copyId), true);
    assert.equal(await api.passwordStored(copyId), false, 'removing a connection deletes its secret');
    await assert.rejects(connectionNode('target', 'renamed copy'));
  });

  it('Open psql: a terminal that connects with the password only in its environment', async () => {
    const conn = await connectionNode('source', 'PG15 source');
    const db = await find(await children(conn), fixture.database);
    const dir = mkdtempSync(join(tmpdir(), 'hm-psql-'));
    const out = join(dir, 'out.txt');
    try {
      const name = await vscode.commands.executeCommand<string>('hydraMigrate.openPsql', db);
      assert.equal(name, `psql: PG15 source/${fixture.database}`);
      const terminal = vscode.window.terminals.find((t) => t.name === name);
      assert.ok(terminal, 'the terminal exists');
      const options = terminal.creationOptions as vscode.TerminalOptions;
      assert.ok(!JSON.stringify(options.shellArgs ?? []).includes(fixture.migratorPassword), 'not in the arguments');
      const pid = await terminal.processId;
      assert.ok(pid);
      // The pty forks, then execs psql: read the command line once the exec happened.
      let cmdline = '';
      for (const until = Date.now() + 10_000; !/psql/.test(cmdline) && Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      }
      assert.match(cmdline, /psql/);
      assert.ok(!cmdline.includes(fixture.migratorPassword), 'not in the process command line');
      terminal.sendText(`\\o ${out}`);
      terminal.sendText(`SELECT current_user || '|' || current_database() || '|hm-marker';`);
      terminal.sendText('\\o');
      const deadline = Date.now() + 20_000;
      while (!(existsSync(out) && readFileSync(out, 'utf8').includes('hm-marker')) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200));
      assert.match(readFileSync(out, 'utf8'), new RegExp(`migrator\\|${fixture.database}\\|hm-marker`));
      terminal.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
