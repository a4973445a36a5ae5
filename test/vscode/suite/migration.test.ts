/**
 * The migration steps as VS Code commands, inside the real extension host, against real servers:
 * Migrate Database… (each step in its own terminal, recorded in the Runs view), the refusal to
 * restore into a non-empty database, and Ctrl+C in a step terminal.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { runTool } from '../../../src/core/run.js';
import type { HydraMigrateApi } from '../../../src/extension/extension.js';
import { RunningSteps } from '../../../src/extension/runningSteps.js';
import { WALKTHROUGH_KEYS, walkthroughState } from '../../../src/extension/walkthrough.js';
import type { ExplorerNode } from '../../../src/extension/explorer.js';
import type { ValidationReport } from '../../../src/shared/report.js';
import pg from 'pg';

interface Fixture {
  database: string;
  migrator: string;
  migratorPassword: string;
  pg15: { port: number };
  pg17: { port: number; adminUser: string; adminPassword: string };
  dumpDir: string;
}
const fixture: Fixture = JSON.parse(readFileSync(process.env.HM_FIXTURE ?? '', 'utf8'));
let api: HydraMigrateApi;
let sourceId: string;
let targetId: string;

async function labelOf(node: ExplorerNode): Promise<string> {
  const label = (await api.explorer.getTreeItem(node)).label;
  return typeof label === 'string' ? label : (label?.label ?? '');
}
async function child(node: ExplorerNode | undefined, label: string): Promise<ExplorerNode> {
  for (const n of (await api.explorer.getChildren(node)) ?? []) if ((await labelOf(n)) === label) return n;
  throw new Error(`no child "${label}"`);
}

async function client2<T>(work: (c: pg.Client) => Promise<T>, database = 'migrated'): Promise<T> {
  const c = new pg.Client({
    host: '127.0.0.1',
    port: fixture.pg17.port,
    user: fixture.pg17.adminUser,
    password: fixture.pg17.adminPassword,
    database,
  });
  await c.connect();
  try {
    return await work(c);
  } finally {
    await c.end();
  }
}

function closeWithKey(name: string): Promise<number | undefined> {
  const terminal = vscode.window.terminals.find((t) => t.name === name);
  assert.ok(terminal, `terminal "${name}" exists`);
  return new Promise((resolve) => {
    const sub = vscode.window.onDidCloseTerminal((t) => {
      if (t === terminal) {
        sub.dispose();
        resolve(t.exitStatus?.code);
      }
    });
    terminal.sendText('q', false);
  });
}

describe('Migration steps as commands', function () {
  this.timeout(180_000);

  before(async () => {
    const ext = vscode.extensions.getExtension<HydraMigrateApi>('hydra-migrate.hydra-migrate')!;
    api = await ext.activate();
    sourceId = (await api.connections.add({
      role: 'source',
      uri: `postgresql://${fixture.migrator}@127.0.0.1:${fixture.pg15.port}/${encodeURIComponent(fixture.database)}?sslmode=disable`,
      password: fixture.migratorPassword,
      name: 'Step source',
      test: false,
    }))!;
    targetId = (await api.connections.add({
      role: 'target',
      uri: `postgresql://${fixture.pg17.adminUser}@127.0.0.1:${fixture.pg17.port}/postgres?sslmode=disable`,
      password: fixture.pg17.adminPassword,
      name: 'Step target',
      test: false,
    }))!;
    assert.ok(sourceId && targetId);
  });

  it('the walkthrough ticks a step when its work is done, from what exists: connections, successful runs, a validation', async () => {
    const now = await api.walkthrough();
    assert.equal(now.connectSource, true, 'a source connection exists');
    assert.equal(now.connectTarget, true, 'a target connection exists');
    assert.equal(now.migrate, false, 'nothing migrated yet');
    assert.equal(now.validate, false, 'nothing validated yet');
    // Every step's completion event names the context key the extension sets for it.
    const ext = vscode.extensions.getExtension('hydra-migrate.hydra-migrate')!;
    const steps = (ext.packageJSON.contributes.walkthroughs as Array<{ steps: Array<{ id: string; completionEvents: string[] }> }>)[0]!
      .steps;
    assert.deepEqual(
      steps.map((x) => [x.id, x.completionEvents]),
      Object.entries(WALKTHROUGH_KEYS).map(([id, key]) => [id, [`onContext:${key}`]]),
    );
    // A cancelled or failed step is not done; a successful one is; a migration when all its steps succeeded.
    const run = (step: string, ok: boolean, extra: Record<string, unknown> = {}) =>
      ({
        id: step,
        step,
        title: step,
        commands: [],
        startedAt: '2026-01-01T00:00:00Z',
        endedAt: '2026-01-01T00:00:01Z',
        exitCode: ok ? 0 : 130,
        ok,
        ...extra,
      }) as never;
    const cancelled = walkthroughState([run('dump', false), run('restore', false)], 1, 1, false);
    assert.equal(cancelled.dump, false);
    assert.equal(cancelled.restore, false);
    const m = { migration: { id: 'm1', title: 'Migrate a → b' } };
    assert.equal(walkthroughState([run('analyze', true, m), run('restore', false, m)], 1, 1, false).migrate, false);
    const done = walkthroughState([run('analyze', true, m), run('restore', true, m)], 1, 1, true);
    assert.deepEqual([done.migrate, done.restore, done.validate, done.dump], [true, true, true, false]);
  });

  it('Migrate Database…: five steps, each in its terminal, recorded, target complete', async () => {
    // A small database: the plan streams it, so the archive is a custom-format file (.dir becomes .dump).
    const dumpPath = join(fixture.dumpDir, 'migrate.dump');
    const result = await api.steps.migrate({
      sourceConnectionId: sourceId,
      sourceDatabase: fixture.database,
      targetConnectionId: targetId,
      targetDatabase: 'migrated',
      noOwner: true,
      noAcl: true,
      dumpPath: join(fixture.dumpDir, 'migrate.dir'),
    });
    assert.ok(result, 'the command returned');
    assert.equal(result.ok, true, `failed at ${result.failedStep}: ${result.steps.map((s) => s.output).join('\n---\n')}`);
    // One terminal for the migration, named after it; its steps are sections of it.
    assert.deepEqual([...new Set(result.steps.map((s) => s.terminalName))], [result.steps[0]!.terminalName]);
    const session = result.steps[0]!.terminalName;
    assert.ok(session.startsWith(`Migrate ${fixture.database} → Step target/migrated · `) && /\d\d:\d\d/.test(session), session);
    assert.deepEqual(
      result.steps.map((s) => [s.title, s.exitCode]),
      [
        ['Migrate 1/5: readiness checks', 0],
        ['Migrate 2/5: create database migrated', 0],
        [`Migrate 3/5: dump ${fixture.database} and load it into migrated`, 0],
        ['Migrate 4/5: indexes and constraints of migrated', 0],
        ['Migrate 5/5: analyze migrated', 0],
      ],
    );
    const all = result.steps.map((s) => s.output).join('\n');
    assert.match(all, /✔ Table access methods \(columnar\)/);
    assert.match(
      all,
      /Plan: Streaming \(dump and load at the same time, archive kept; indexes in the same pass\): .* too little for parallel jobs to pay/,
    );
    // How long it should take, said before the data moves: from a timed sample of the largest table.
    assert.match(all, /Estimate: about [\d.]+ (s|min): dump and load [\d.]+ s, analyze [\d.]+ s \(from a [\d.]+ s sample of [\w.]+\)/);
    assert.match(all, /\$ .*PGPASSWORD=\*\*\* .*pg_dump --verbose --no-password --format=custom .*\| tee .*migrate\.dump \| .*pg_restore/);
    // Shown exactly as a shell needs it to run again (the conninfo quoted).
    assert.ok(all.includes(`pg_restore --verbose --no-password '--dbname=dbname='\\''migrated'\\''' --no-owner`), all);
    assert.match(all, /pg_restore .* --no-owner --no-acl\b/);
    assert.match(all, /CREATE DATABASE "migrated" WITH TEMPLATE template0 ENCODING 'UTF8'/);
    for (const secret of [fixture.migratorPassword, fixture.pg17.adminPassword])
      assert.ok(!all.includes(secret), 'no password in terminal output');
    assert.ok(existsSync(dumpPath), 'the archive is kept');

    // The dump and the validation read the source as of one snapshot, said in the dump's terminal.
    assert.match(
      all,
      /Snapshot: the dump and the validation read the source as of \d{4}-\d\d-\d\dT[\d:.]+Z \(one transaction held on the source until the validation ends/,
    );
    assert.match(all, /pg_dump .*--snapshot=[0-9A-F]+-[0-9A-F]+/);
    assert.equal(result.validation?.sourceBasis, 'snapshot');
    assert.ok(
      result.validation.tables.every((t) => t.status === 'extra_in_target' || t.sourceRowsNow === t.sourceRows),
      'nothing wrote meanwhile',
    );

    // The validation view opened by itself and shows every table matching.
    assert.equal(result.validation?.ok, true, JSON.stringify(result.validation?.tables.filter((t) => t.status !== 'match')));
    const panel = api.validationPanels().at(-1)!;
    assert.ok(panel, 'a validation panel is open');
    assert.equal(panel.lastRendered?.summary, '✔ The target matches the source');
    assert.equal(panel.lastRendered?.totalRows, result.validation.summary.tables, 'with no differences every table is listed');

    // Every step is in the Runs view with its log.
    const runs = api.runs
      .list()
      .slice(0, 5)
      .reverse()
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    assert.deepEqual(
      runs.map((r) => [r.step, r.ok, r.exitCode]),
      [
        ['preflight', true, 0],
        ['create-database', true, 0],
        ['dump', true, 0],
        ['restore', true, 0],
        ['analyze', true, 0],
      ],
    );
    assert.match(runs[2]!.sha256 ?? '', /^[0-9a-f]{64}$/);
    assert.equal(runs[2]!.archivePath, dumpPath, 'the run names the archive the plan wrote');
    // Streamed: the load's output is in the dump step's log.
    const log = readFileSync(api.runs.logUri(runs[2]!.id).fsPath, 'utf8');
    assert.match(log, /pg_dump: dumping contents of table/);
    assert.match(log, /pg_restore: processing data for table "public\.accounts"/);
    assert.ok(!/\u001b\[/.test(log), 'logs are plain text');
    // Show Log: a read-only document named after the run, with a header saying which run it is.
    const shown = await vscode.commands.executeCommand<string>('hydraMigrate.showRunLog', runs[2]);
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === shown)!;
    assert.equal(doc.uri.scheme, 'hydra-migrate-log');
    assert.match(doc.uri.path, /^\/Migrate 3-5 dump hydra app and load it into migrated \d{4}-\d\d-\d\d \d\d-\d\d-\d\d\.log$/);
    assert.match(doc.getText(), /^# Migrate 3\/5: dump .* and load it into migrated\n# succeeded \(exit 0\) · started .*\n/);
    assert.match(doc.getText(), /pg_restore: processing data for table "public\.accounts"/);
    assert.equal(vscode.workspace.fs.isWritableFileSystem('hydra-migrate-log'), false, 'the log cannot be written');
    await assert.rejects(Promise.resolve(vscode.workspace.fs.writeFile(doc.uri, Buffer.from('changed'))), /NoPermissions|permission/i);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');

    // Validate Migration… from the migration in the Runs view validates the same pair.
    const migrationNode = api.runs.getChildren().find((r) => r.title === session);
    const fromRun = await vscode.commands.executeCommand<{ report: ValidationReport }>('hydraMigrate.validateMigration', migrationNode);
    assert.equal(fromRun?.report.ok, true);
    assert.equal(fromRun.report.target.database, 'migrated');

    // The tree shows the new database with the columnar table.
    const group = (await api.explorer.getChildren())!.find((g) => g.kind === 'group' && g.role === 'target')!;
    const conn = await child(group, 'Step target');
    const db = await child(conn, 'migrated');
    const events = await child(await child(db, 'public'), 'events');
    assert.equal((await api.explorer.getTreeItem(events)).contextValue, 'hm:table:target:columnar');

    // The walkthrough now shows the migration, its steps and the validation as done.
    const ticked = await api.walkthrough();
    assert.deepEqual(
      [ticked.migrate, ticked.preflight, ticked.createDatabase, ticked.dump, ticked.restore, ticked.validate],
      [true, true, true, true, true, true],
    );
    // The Runs view shows the migration with its five steps beneath it, each re-runnable on its own.
    const top = api.runs.getChildren();
    const migration = top.find((r) => r.title === session)!;
    assert.ok(migration, `the migration in the Runs view: ${top.map((r) => r.title).join(', ')}`);
    assert.deepEqual(
      api.runs.getChildren(migration).map((r) => r.title),
      result.steps.map((s) => s.title),
    );
    assert.match(api.runs.getTreeItem(migration).contextValue ?? '', /^hm:rungroup:migrate:rerunnable:migration$/);
    const [, , load, post] = api.runs.getChildren(migration);
    assert.equal(load!.rerun?.step, 'migrate', 'a streamed dump is also the load: again means the migration again');
    assert.equal(post!.rerun?.step, 'restore', 'the restore step re-runs the restore, not the migration');
    assert.equal(post!.rerun?.step === 'restore' && post!.rerun.args.archive, dumpPath);
    // A key press closes the finished migration's terminal with the migration's exit code.
    assert.equal(await closeWithKey(result.steps[0]!.terminalName), 0);
  });

  it('Validate Migration… on a damaged target shows exactly the differences and exports them', async () => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: fixture.pg17.port,
      user: fixture.pg17.adminUser,
      password: fixture.pg17.adminPassword,
      database: 'migrated',
    });
    await client.connect();
    try {
      await client.query(
        'DELETE FROM public.accounts WHERE id <= 3; ALTER TABLE public.events SET ACCESS METHOD heap; DROP MATERIALIZED VIEW public.account_totals',
      );
    } finally {
      await client.end();
    }
    const opened = await api.steps.validate({
      sourceConnectionId: sourceId,
      sourceDatabase: fixture.database,
      targetConnectionId: targetId,
      targetDatabase: 'migrated',
    });
    assert.ok(opened?.report);
    assert.equal(opened.report.ok, false);
    const different = opened.report.tables
      .filter((t) => t.status !== 'match')
      .map((t) => `${t.name}:${t.problems.join('+') || t.status}`)
      .sort();
    assert.deepEqual(different, ['account_totals:missing_in_target', 'accounts:row_count', 'events:access_method']);
    assert.ok(opened.rendered, 'the view reported what it rendered');
    assert.equal(opened.rendered.summary, '✖ The target differs from the source');
    assert.equal(opened.rendered.totalRows, 3, 'only the differences are listed by default');
    // What a window reload shows: the saved report of the pair, not a new validation (the target changes meanwhile).
    await client2(async (c) => c.query('DELETE FROM public.accounts WHERE id = 4'));
    const revived = await api.showSavedValidation({
      sourceConnectionId: sourceId,
      sourceDatabase: fixture.database,
      targetConnectionId: targetId,
      targetDatabase: 'migrated',
    });
    assert.equal(revived.report?.startedAt, opened.report.startedAt, 'the saved report, not a new validation');
    assert.equal(revived.report.tables.find((t) => t.name === 'accounts')?.targetRows, 997);
    assert.equal(revived.lastRendered?.totalRows, 3);
    revived.panel.dispose();
    const panel = api.validationPanels().at(-1)!;
    const csv = vscode.Uri.file(join(fixture.dumpDir, 'report.csv'));
    await panel.export('csv', csv);
    const text = readFileSync(csv.fsPath, 'utf8');
    assert.match(text.split('\r\n')[1] ?? '', /^public,account_totals|^public,accounts|^public,events/);
    assert.match(text, /public,events,table,false,500,500,different,access_method,columnar,heap/);
  });

  it('Restore Dump… refuses the now non-empty database, exit code 1, nothing restored', async () => {
    const result = await api.steps.restore({
      connectionId: targetId,
      database: 'migrated',
      archive: join(fixture.dumpDir, 'migrate.dump'),
    });
    assert.equal(result?.ok, false);
    assert.equal(result.exitCode, 1);
    assert.match(result.output, /"migrated" is not empty/);
    assert.match(result.output, /fix:.*new, empty database/);
    assert.equal(await closeWithKey(result.terminalName), 1);
  });

  it('hydraMigrate.migrationPlan "directory" and archiveCompression "1": a parallel gzip-1 directory archive, the dump before the database, validated', async () => {
    const config = () => vscode.workspace.getConfiguration('hydraMigrate');
    await config().update('migrationPlan', 'directory', vscode.ConfigurationTarget.Global);
    // Without it this small archive would be written uncompressed (the disk has room).
    await config().update('archiveCompression', '1', vscode.ConfigurationTarget.Global);
    try {
      const result = await api.steps.migrate({
        sourceConnectionId: sourceId,
        sourceDatabase: fixture.database,
        targetConnectionId: targetId,
        targetDatabase: 'migrated_dir',
        noOwner: true,
        noAcl: true,
        dumpPath: join(fixture.dumpDir, 'plan.dump'),
      });
      assert.equal(result?.ok, true, result?.steps.map((s) => s.output).join('\n---\n'));
      assert.deepEqual(
        result.steps.map((s) => s.title),
        [
          'Migrate 1/5: readiness checks',
          `Migrate 2/5: dump ${fixture.database}`,
          'Migrate 3/5: create database migrated_dir',
          'Migrate 4/5: restore into migrated_dir',
          'Migrate 5/5: analyze migrated_dir',
        ],
      );
      const all = result.steps.map((s) => s.output).join('\n');
      assert.match(all, /Plan: Parallel directory archive \(\d jobs? for the dump and the restore\), as asked\./);
      assert.ok(existsSync(join(fixture.dumpDir, 'plan.dir', 'toc.dat')), 'the suffix follows the plan: a directory archive');
      assert.match(all, /pg_dump .*--compress=1/);
      const files = readdirSync(join(fixture.dumpDir, 'plan.dir')).filter((f) => /^\d+\.dat/.test(f));
      assert.ok(files.length > 0 && files.every((f) => f.endsWith('.dat.gz')), `gzip data files: ${files.join(' ')}`);
      assert.equal(result.validation?.ok, true);
    } finally {
      await config().update('migrationPlan', undefined, vscode.ConfigurationTarget.Global);
      await config().update('archiveCompression', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it("a hydra-migrate task (as tasks.json defines it) runs a migration to the end; its exit code is the task's", async () => {
    const run = (definition: Record<string, unknown>): Promise<number | undefined> =>
      new Promise((resolve, reject) => {
        const task = api.tasks.resolve({ type: 'hydra-migrate', ...definition } as Parameters<HydraMigrateApi['tasks']['resolve']>[0]);
        const timer = setTimeout(() => reject(new Error('the task did not end')), 150_000);
        const sub = vscode.tasks.onDidEndTaskProcess((e) => {
          if (e.execution.task.definition !== task.definition) return;
          clearTimeout(timer);
          sub.dispose();
          resolve(e.exitCode);
        });
        void vscode.tasks.executeTask(task).then(undefined, reject);
      });
    const code = await run({
      command: 'migrate',
      source: 'Step source',
      sourceDatabase: fixture.database,
      target: 'Step target',
      targetDatabase: 'via_task',
      archive: join(fixture.dumpDir, 'via-task.dump'),
      args: ['--no-owner', '--no-acl'],
    });
    assert.equal(code, 0, 'migrated and validated');
    const { rows } = await client2((c) => c.query<{ n: string }>('SELECT count(*)::text AS n FROM public.accounts'), 'via_task');
    assert.equal(rows[0]?.n, '1000');
    // Into the same (now non-empty) database again: the readiness checks stop it, the task fails.
    assert.equal(
      await run({
        command: 'migrate',
        source: 'Step source',
        sourceDatabase: fixture.database,
        target: 'Step target',
        targetDatabase: 'via_task',
        archive: join(fixture.dumpDir, 'via-task-2.dump'),
      }),
      1,
    );
    // A connection name the view does not have: could not run.
    assert.equal(await run({ command: 'validate', source: 'No such connection', target: 'Step target' }), 2);
  });

  it('names with terminal escape sequences are shown escaped; stored runs are shown and re-run as data, never as Markdown or commands', async () => {
    const hostile = 'evil\u001b]0;pwned\u0007\u001b[2J\u001b[8m';
    const client = new pg.Client({
      host: '127.0.0.1',
      port: fixture.pg15.port,
      user: fixture.migrator,
      password: fixture.migratorPassword,
      database: fixture.database,
    });
    await client.connect();
    try {
      await client.query(`CREATE TABLE public."${hostile}" (id int)`);
      const out = join(fixture.dumpDir, 'hostile.dump');
      const result = await api.steps.dump({ connectionId: sourceId, database: fixture.database, out, format: 'custom' });
      assert.equal(result.ok, true, result.output);
      assert.ok(!result.output.includes('\u001b'), 'no raw escape character reached the terminal');
      // Colour codes too: \x1b[8m (hidden text) from a name would hide everything after it.
      assert.match(result.output, /evil\\x1b\]0;pwned\\x07\\x1b\[2J\\x1b\[8m/);
      await closeWithKey(result.terminalName);
    } finally {
      await client.query(`DROP TABLE IF EXISTS public."${hostile}"`);
      await client.end();
    }
    // A run record whose title is Markdown with a command link, and one of an older shape naming an arbitrary command.
    const now = new Date().toISOString();
    const base = { step: 'dump', commands: [], startedAt: now, endedAt: now, exitCode: 0, ok: true };
    const shown = await api.runs.add({ ...base, title: '**[click](command:workbench.action.quit)**' }, '');
    const tooltip = api.runs.getTreeItem(shown).tooltip as vscode.MarkdownString;
    assert.equal(tooltip.isTrusted, false);
    assert.match(tooltip.value, /click/);
    assert.doesNotMatch(tooltip.value, /(^|[^\\])\[click\]\(command:/, `the title became a link: ${tooltip.value}`);
    assert.doesNotMatch(tooltip.value, /(^|[^\\])\*\*\[/, `the title became Markdown: ${tooltip.value}`);
    const foreign = await api.runs.add({ ...base, title: 'old', rerun: { command: 'workbench.action.quit', args: {} } as never }, '');
    assert.doesNotMatch(api.runs.getTreeItem(foreign).contextValue ?? '', /rerunnable/);
    assert.equal(
      await vscode.commands.executeCommand('hydraMigrate.rerun', foreign),
      undefined,
      'refused (shown as an error), nothing run',
    );
  });

  it('deactivating cancels every running step: their tool processes stop', async () => {
    const steps = new RunningSteps();
    const controllers = [new AbortController(), new AbortController()];
    const runs = controllers.map((c, i) => {
      steps.start(`long step ${i}`, c);
      return runTool('/usr/bin/sleep', ['60'], { signal: c.signal });
    });
    assert.deepEqual(steps.names(), ['long step 0', 'long step 1']);
    const t0 = Date.now();
    steps.dispose(); // what deactivate() does through context.subscriptions
    const done = await Promise.all(runs);
    assert.ok(Date.now() - t0 < 5000, `stopped after ${Date.now() - t0} ms`);
    assert.deepEqual(
      done.map((r) => r.cancelled),
      [true, true],
    );
  });

  it('a workspace cannot choose the programs that receive passwords, nor where archives go', async () => {
    const config = () => vscode.workspace.getConfiguration('hydraMigrate');
    for (const key of ['pgBinDir', 'dumpFolder']) {
      await assert.rejects(
        Promise.resolve(config().update(key, '/tmp/evil', vscode.ConfigurationTarget.Workspace)),
        `${key} cannot be set by the workspace`,
      );
      assert.equal(config().inspect(key)?.workspaceValue, undefined);
    }
    const manifest = vscode.extensions.getExtension('hydra-migrate.hydra-migrate')!.packageJSON as {
      capabilities?: { untrustedWorkspaces?: { supported?: unknown } };
    };
    assert.equal(manifest.capabilities?.untrustedWorkspaces?.supported, 'limited');
  });

  it("a run left running by another machine's window that went away shows as interrupted once its heartbeat is silent", async () => {
    const now = new Date().toISOString();
    const begun = await api.runs.add(
      {
        step: 'restore',
        title: 'Restore into crashed',
        commands: [],
        startedAt: now,
        endedAt: now,
        exitCode: -1,
        ok: false,
        state: 'running',
        heartbeatAt: now,
        owner: { pid: process.pid, host: 'another-machine' },
      },
      '',
    );
    await api.runs.interruptStale();
    assert.equal(api.runs.list().find((r) => r.id === begun.id)?.state, 'running', 'its heartbeat is fresh: still running');
    // As a later check sees it minutes later, with no heartbeat since.
    assert.equal(await api.runs.interruptStale(Date.now() + 10 * 60_000), 1);
    const run = api.runs.list().find((r) => r.id === begun.id)!;
    assert.deepEqual([run.state, run.ok, run.exitCode], ['interrupted', false, 130]);
    const item = api.runs.getTreeItem(run);
    assert.match(item.description as string, /interrupted/);
    assert.match(
      (item.tooltip as vscode.MarkdownString).value,
      /interrupted: it was running when VS Code closed, reloaded or lost its process/,
    );
  });

  it("a run whose window's extension host is gone shows as interrupted at once; another live window's run stays running", async () => {
    const { spawn } = await import('node:child_process');
    const { hostname } = await import('node:os');
    // A process that has ended (a window reloaded or closed), and one that still runs (another window).
    const gone = spawn('true');
    await new Promise((res) => gone.on('exit', res));
    const live = spawn('sleep', ['30']);
    try {
      const now = new Date().toISOString();
      const base = {
        step: 'restore',
        commands: [],
        startedAt: now,
        endedAt: now,
        exitCode: -1,
        ok: false,
        state: 'running' as const,
        heartbeatAt: now,
      };
      const reloaded = await api.runs.add({ ...base, title: 'Restore into reloaded', owner: { pid: gone.pid!, host: hostname() } }, '');
      const elsewhere = await api.runs.add(
        { ...base, title: 'Restore in another window', owner: { pid: live.pid!, host: hostname() } },
        '',
      );
      // Fresh heartbeats: the process alone tells (the window's own 30 s check may have run first).
      await api.runs.interruptStale();
      const state = (id: string) => api.runs.list().find((r) => r.id === id)?.state;
      assert.equal(state(reloaded.id), 'interrupted');
      assert.equal(state(elsewhere.id), 'running');
      // Minutes without a heartbeat do not make a run of a process that still runs interrupted (a window asleep or busy).
      await api.runs.interruptStale(Date.now() + 10 * 60_000);
      assert.equal(state(elsewhere.id), 'running');
      await api.runs.finish(elsewhere.id, { ...base, title: 'Restore in another window', exitCode: 0, ok: true }, '');
    } finally {
      live.kill();
    }
  });

  it('Ctrl+C in the terminal cancels a dump within seconds and removes the partial archive', async () => {
    const out = join(fixture.dumpDir, 'big.dump');
    const running = api.steps.dump({ connectionId: sourceId, database: 'bigdb', out, format: 'custom' });
    const name = 'Dump Step source/bigdb';
    const deadline = Date.now() + 20_000;
    while (!existsSync(`${out}.partial`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(existsSync(`${out}.partial`), 'pg_dump started writing');
    // In the Runs view from its start, as running.
    const live = api.runs.list().find((r) => r.title === 'Dump Step source/bigdb' && r.state === 'running');
    assert.ok(live, 'the running dump is recorded already');
    // "running…" until its first progress, then how far it is.
    assert.match(api.runs.getTreeItem(live).description as string, /running…|\[\d+%\]|\d+% · /);
    // Another step that ends while the dump runs must not take the dump out of the status bar.
    const quick = await api.steps.restore({
      connectionId: targetId,
      database: 'migrated',
      archive: join(fixture.dumpDir, 'migrate.dump'),
    });
    assert.equal(quick?.ok, false);
    await closeWithKey(quick.terminalName);
    assert.deepEqual(api.running.names(), [name], 'the dump is still listed as running');
    assert.match(api.running.statusText() ?? '', new RegExp(`^\\$\\(sync~spin\\) ${name.replace('/', '\\/')}`));
    const terminal = vscode.window.terminals.find((t) => t.name === name)!;
    const t0 = Date.now();
    terminal.sendText('\u0003', false);
    const result = await running;
    assert.ok(Date.now() - t0 < 5000, `stopped after ${Date.now() - t0} ms`);
    assert.equal(result?.ok, false);
    assert.equal(result.exitCode, 130);
    assert.match(result.output, /cancelled/);
    assert.ok(!existsSync(out) && !existsSync(`${out}.partial`), 'no archive that looks complete');
    const run = api.runs.list().find((r) => r.id === result.runId)!;
    assert.equal(run.id, live.id, 'the same record, ended');
    assert.equal(run.state, undefined);
    assert.deepEqual([run.step, run.ok, run.exitCode], ['dump', false, 130]);
    assert.match((api.runs.getTreeItem(run).tooltip as vscode.MarkdownString).value, /cancelled \(exit 130\)/);
    assert.deepEqual(api.running.names(), [], 'nothing runs any more');
    assert.equal(api.running.statusText(), undefined, 'the status bar item is hidden');
  });
});
