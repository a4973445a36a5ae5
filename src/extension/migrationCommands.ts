/**
 * The migration steps as commands: Run Readiness Checks…, Dump Database…, Create Database…,
 * Restore Dump…, Migrate Database…. Each asks only what it must (or takes an options object),
 * runs over the one core implementation in a step terminal, and records the run.
 */
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import * as vscode from 'vscode';
import { readArchive, summarizeToc } from '../core/archive.js';
import { analyze } from '../core/analyze.js';
import { formatBytes, listSchemas } from '../core/catalog.js';
import { createDatabase, prepareTarget } from '../core/createDatabase.js';
import { dump, type ArchiveFormat } from '../core/dump.js';
import { readDatabaseLocale } from '../core/inspect.js';
import { ConnectionError } from '../core/pg.js';
import { describeTarget, type ConnectionProfile } from '../core/connection.js';
import { migrate, type MigrateStepName } from '../core/migrate.js';
import { locateTool } from '../core/pgbin.js';
import { preflight, type PreflightReport } from '../core/preflight.js';
import { restore } from '../core/restore.js';
import { withSide, type Side, type SideRole } from '../core/side.js';
import type { StepFailure, StepProgress } from '../core/step.js';
import { transfer } from '../core/transfer.js';
import type { ConnectionStore } from './connectionStore.js';
import { databaseOf, profileOf, type ConnectionsExplorer, type ExplorerNode } from './explorer.js';
import type { RunHistory, RunRecord } from './runHistory.js';
import type { RunningSteps } from './runningSteps.js';
import type { ValidationArgs } from '../shared/protocol.js';
import type { ValidationReport } from '../shared/report.js';
import { ValidationPanel } from './validationPanel.js';
import { settings, toolOptions } from './settings.js';
import { runStepInTerminal, style, type StepIo, type StepOutcome } from './stepTerminal.js';

const t = vscode.l10n.t;

export interface StepCtx {
  extensionUri: vscode.Uri;
  store: ConnectionStore;
  explorer: ConnectionsExplorer;
  log: vscode.LogOutputChannel;
  history: RunHistory;
  running: RunningSteps;
}

export interface StepCommandResult {
  ok: boolean;
  exitCode: number;
  runId?: string;
  terminalName: string;
  output: string;
}

/** Options accepted by the step commands instead of prompts (automation, tests, Re-run). */
export interface DumpArgs { connectionId: string; database?: string; out?: string; format?: ArchiveFormat; jobs?: number; noOwner?: boolean; noAcl?: boolean; overwrite?: boolean; schemas?: string[] }
export interface RestoreArgs { connectionId: string; database: string; archive: string; jobs?: number; noOwner?: boolean; noAcl?: boolean; noTableAccessMethod?: boolean; confirmNonEmpty?: string; analyze?: boolean; schemas?: string[] }
export interface CreateDatabaseArgs { connectionId: string; name: string; likeConnectionId?: string; likeDatabase?: string; owner?: string; createRoles?: boolean; createExtensions?: boolean }
export interface PairArgs { sourceConnectionId: string; sourceDatabase?: string; targetConnectionId: string; targetDatabase?: string; noOwner?: boolean; noAcl?: boolean; noTableAccessMethod?: boolean; confirmNonEmpty?: string }
export interface MigrateArgs extends PairArgs { dumpPath?: string; format?: ArchiveFormat; jobs?: number }

/** The user dismissed a prompt: the command ends quietly. */
export class Cancelled extends Error {
  override name = 'Cancelled';
}

function isNode(arg: unknown): arg is ExplorerNode {
  return !!arg && typeof arg === 'object' && 'kind' in arg;
}

async function sideOf(ctx: StepCtx, profile: ConnectionProfile, database: string, role: SideRole = profile.role): Promise<Side> {
  return { role, profile, password: await ctx.store.getPassword(profile.id), database, connectTimeoutSeconds: settings().connectTimeoutSeconds };
}

function profile(ctx: StepCtx, id: string): ConnectionProfile {
  const p = ctx.store.get(id);
  if (!p) throw new Error(t('No connection with id {0}: it may have been removed.', id));
  return p;
}

function failureLines(f: StepFailure | undefined): string[] {
  return f ? [style.red(f.message), `${style.bold('fix:')} ${f.hint}`] : [];
}

function defaultDumpFolder(): string {
  const configured = vscode.workspace.getConfiguration('hydraMigrate').get<string>('dumpFolder')?.trim();
  return configured ? configured.replace(/^~(?=$|\/)/, homedir()) : join(homedir(), 'hydra-migrate-dumps');
}

function timestamp(): string {
  return new Date().toISOString().replace(/[:T]/g, '-').replace(/\..*$/, '');
}

function safeFileName(name: string): string {
  return name.replace(/[^\p{L}\p{N}._-]+/gu, '_').slice(0, 80) || 'database';
}

async function pickConnection(ctx: StepCtx, role: 'source' | 'target', placeHolder: string): Promise<ConnectionProfile> {
  const list = ctx.store.list(role);
  if (list.length === 0) throw new Error(role === 'target' ? t('Add a target connection first (Hydra Migrate view → Add Target Connection).') : t('Add a source connection first.'));
  if (list.length === 1) return list[0]!;
  const picked = await vscode.window.showQuickPick(list.map((p) => ({ label: p.name, description: describeTarget(p), p })), { placeHolder, ignoreFocusOut: true });
  if (!picked) throw new Cancelled();
  return picked.p;
}

async function ask(prompt: string, value: string, validate?: (v: string) => string | undefined): Promise<string> {
  const options: vscode.InputBoxOptions = { prompt, value, ignoreFocusOut: true };
  if (validate) options.validateInput = validate;
  const answer = await vscode.window.showInputBox(options);
  if (answer === undefined) throw new Cancelled();
  return answer.trim();
}

async function pickFlags(title: string, flags: Array<{ id: string; label: string; detail: string; picked: boolean }>): Promise<Set<string>> {
  const picked = await vscode.window.showQuickPick(flags, { canPickMany: true, title, ignoreFocusOut: true });
  if (!picked) throw new Cancelled();
  return new Set(picked.map((p) => p.id));
}

/** Runs one step in its terminal and records it. */
async function runRecorded(
  ctx: StepCtx,
  name: string,
  record: Omit<RunRecord, 'id' | 'startedAt' | 'endedAt' | 'exitCode' | 'ok' | 'commands'>,
  work: (io: StepIo, commands: string[], extra: Partial<RunRecord>) => Promise<StepOutcome>,
): Promise<StepCommandResult> {
  const startedAt = new Date().toISOString();
  const commands: string[] = [];
  const extra: Partial<RunRecord> = {};
  const run = runStepInTerminal(name, (io) => work({ ...io, command: (c) => { commands.push(c); io.command(c); } }, commands, extra), { running: ctx.running, log: ctx.log });
  const outcome = await run.outcome;
  const saved = await ctx.history.add({ ...record, ...extra, commands, startedAt, endedAt: new Date().toISOString(), exitCode: outcome.exitCode, ok: outcome.ok }, outcome.output);
  if (!outcome.ok && !outcome.cancelled) {
    void vscode.window.showErrorMessage(t('{0} failed: {1}', name, extra.errorSummary ?? t('see the terminal')), t('Show Terminal')).then((a) => {
      if (a) run.terminal.show();
    });
  }
  return { ok: outcome.ok, exitCode: outcome.exitCode, runId: saved.id, terminalName: name, output: outcome.output };
}

// -----------------------------------------------------------------------------------------------

async function dumpCommand(ctx: StepCtx, arg?: ExplorerNode | DumpArgs): Promise<StepCommandResult | undefined> {
  let args: DumpArgs;
  if (arg && !isNode(arg)) {
    args = arg;
  } else {
    const p = profileOf(arg) ?? (await pickConnection(ctx, 'source', t('Dump from which connection?')));
    const database = databaseOf(arg) ?? p.database;
    const format = await vscode.window.showQuickPick(
      [
        { label: t('Directory (parallel, fastest)'), description: '-Fd --jobs N', id: 'directory' as const },
        { label: t('Custom (one portable file)'), description: '-Fc', id: 'custom' as const },
      ],
      { title: t('Dump "{0}"', database), placeHolder: t('Archive format'), ignoreFocusOut: true },
    );
    if (!format) return undefined;
    const flags = await pickFlags(t('Dump options'), [
      { id: 'noOwner', label: '--no-owner', detail: t('do not record object owners (roles differ between environments)'), picked: true },
      { id: 'noAcl', label: '--no-acl', detail: t('do not record GRANTs'), picked: true },
    ]);
    let schemas: string[] | undefined;
    try {
      const all = await withSide(await sideOf(ctx, p, database), async (client) =>
        (await listSchemas(async (text, values) => (await client.query(text, values)).rows as never)).map((x) => x.name));
      if (all.length > 1) {
        const pick = await vscode.window.showQuickPick(all.map((x) => ({ label: x, picked: true })), { canPickMany: true, title: t('Schemas to dump (all by default)'), ignoreFocusOut: true });
        if (!pick || pick.length === 0) return undefined;
        if (pick.length < all.length) schemas = pick.map((x) => x.label);
      }
    } catch (err) {
      if (err instanceof ConnectionError) throw new Error(`${err.explained.message} ${err.explained.hint}`);
      throw err;
    }
    const folder = defaultDumpFolder();
    const defaultUri = vscode.Uri.file(join(folder, `${safeFileName(database)}-${timestamp()}${format.id === 'custom' ? '.dump' : '.dir'}`));
    await vscode.workspace.fs.createDirectory(vscode.Uri.file(folder));
    const target = await vscode.window.showSaveDialog({ defaultUri, title: t('Where to write the archive'), saveLabel: t('Dump here') });
    if (!target) return undefined;
    args = { connectionId: p.id, database, out: target.fsPath, format: format.id, noOwner: flags.has('noOwner'), noAcl: flags.has('noAcl'), overwrite: false, ...(schemas ? { schemas } : {}) };
  }
  const p = profile(ctx, args.connectionId);
  const database = args.database ?? p.database;
  const format = args.format ?? 'directory';
  const out = args.out ?? join(defaultDumpFolder(), `${safeFileName(database)}-${timestamp()}${format === 'custom' ? '.dump' : '.dir'}`);
  const cfg = settings();
  const binOpts = toolOptions(cfg);
  return runRecorded(ctx, t('Dump {0}', `${p.name}/${database}`), { step: 'dump', title: t('Dump {0}', `${p.name}/${database}`), source: `${p.name}/${database}`, archivePath: out, rerun: { command: 'hydraMigrate.dumpDatabase', args: { ...args, out, overwrite: false } } }, async (io, _c, extra) => {
    const [pgDump, pgRestore] = await Promise.all([locateTool('pg_dump', binOpts), locateTool('pg_restore', binOpts)]);
    await vscode.workspace.fs.createDirectory(vscode.Uri.file(join(out, '..')));
    const r = await dump({
      source: await sideOf(ctx, p, database), pgDump: pgDump.path, pgRestore: pgRestore.path, out, format,
      ...(format === 'directory' ? { jobs: args.jobs ?? cfg.jobs } : {}),
      ...(args.noOwner ? { noOwner: true } : {}), ...(args.noAcl ? { noAcl: true } : {}), ...(args.overwrite ? { overwrite: true } : {}),
      ...(args.schemas?.length ? { schemas: args.schemas } : {}),
      signal: io.signal, onCommand: io.command, onLine: io.line, onProgress: io.progress,
    });
    if (r.archive) {
      extra.sha256 = r.archive.sha256;
      return { ok: true, summary: [`archive: ${r.archive.path}`, `${r.archive.format} format, ${formatBytes(r.archive.sizeBytes)}, ${r.archive.entries} entries (verified with pg_restore -l)`, `sha256: ${r.archive.sha256}`] };
    }
    if (r.failure) extra.errorSummary = r.failure.message;
    return { ok: false, cancelled: r.cancelled, summary: failureLines(r.failure) };
  });
}

async function restoreCommand(ctx: StepCtx, arg?: ExplorerNode | vscode.Uri | RestoreArgs): Promise<StepCommandResult | undefined> {
  let args: RestoreArgs;
  if (arg && !isNode(arg) && !(arg instanceof vscode.Uri)) {
    args = arg;
  } else {
    const fromNode = isNode(arg) ? arg : undefined;
    const p = profileOf(fromNode) ?? (await pickConnection(ctx, 'target', t('Restore into which connection?')));
    const database = databaseOf(fromNode) ?? (await ask(t('Database to restore into (it must exist and be empty)'), p.database));
    let archive = arg instanceof vscode.Uri ? arg.fsPath : undefined;
    if (!archive) {
      const picked = await vscode.window.showOpenDialog({ title: t('Choose the archive (a .dump file or a dump directory)'), canSelectFiles: true, canSelectFolders: true, canSelectMany: false, defaultUri: vscode.Uri.file(defaultDumpFolder()), openLabel: t('Restore this') });
      if (!picked?.[0]) return undefined;
      archive = picked[0].fsPath;
    }
    const cfg = settings();
    const binOpts = toolOptions(cfg);
    const read = await readArchive((await locateTool('pg_restore', binOpts)).path, archive);
    if (!read.ok) throw new Error(`${read.failure.message} ${read.failure.hint}`);
    const toc = read.value;
    const kinds = summarizeToc(toc).slice(0, 6).map((k) => `${k.count} ${k.desc}`).join(', ');
    const flags = await pickFlags(t('Restore {0} entries (PostgreSQL {1}): {2}', toc.entries.length, toc.dumpedFromVersion ?? '?', kinds), [
      { id: 'noOwner', label: '--no-owner', detail: t('objects belong to the restoring user'), picked: true },
      { id: 'noAcl', label: '--no-acl', detail: t('skip GRANTs'), picked: true },
      { id: 'noTableAccessMethod', label: '--no-table-access-method', detail: t('create columnar tables as heap (only if the target cannot have columnar)'), picked: false },
      { id: 'analyze', label: 'ANALYZE', detail: t('vacuumdb --analyze-only afterwards'), picked: true },
    ]);
    const schemasInArchive = [...new Set(toc.entries.map((e) => e.schema).filter((x) => x !== '-'))].sort();
    let schemas: string[] | undefined;
    if (schemasInArchive.length > 1) {
      const pick = await vscode.window.showQuickPick(schemasInArchive.map((x) => ({ label: x, picked: true })), { canPickMany: true, title: t('Schemas to restore (all by default)'), ignoreFocusOut: true });
      if (!pick || pick.length === 0) return undefined;
      if (pick.length < schemasInArchive.length) schemas = pick.map((x) => x.label);
    }
    args = { connectionId: p.id, database, archive, noOwner: flags.has('noOwner'), noAcl: flags.has('noAcl'), noTableAccessMethod: flags.has('noTableAccessMethod'), analyze: flags.has('analyze'), ...(schemas ? { schemas } : {}) };
  }
  const p = profile(ctx, args.connectionId);
  const cfg = settings();
  const binOpts = toolOptions(cfg);
  const title = t('Restore into {0}', `${p.name}/${args.database}`);
  return runRecorded(ctx, title, { step: 'restore', title, target: `${p.name}/${args.database}`, archivePath: args.archive, rerun: { command: 'hydraMigrate.restoreDump', args: { ...args, confirmNonEmpty: undefined } } }, async (io, _c, extra) => {
    const pgRestore = await locateTool('pg_restore', binOpts);
    const side = await sideOf(ctx, p, args.database);
    let confirm = args.confirmNonEmpty;
    const r = await restore({
      target: side, pgRestore: pgRestore.path, archive: args.archive, jobs: args.jobs ?? cfg.jobs,
      ...(args.noOwner ? { noOwner: true } : {}), ...(args.noAcl ? { noAcl: true } : {}), ...(args.noTableAccessMethod ? { noTableAccessMethod: true } : {}),
      ...(confirm ? { confirmNonEmptyDatabase: confirm } : {}), ...(args.schemas ? { schemas: args.schemas } : {}),
      signal: io.signal, onCommand: io.command, onLine: io.line, onProgress: io.progress,
      onToc: (toc) => io.line(style.dim(`archive: ${toc.format ?? '?'} format, dumped from PostgreSQL ${toc.dumpedFromVersion ?? '?'}, ${toc.entries.length} entries: ${summarizeToc(toc).slice(0, 6).map((k) => `${k.count} ${k.desc}`).join(', ')}`)),
    });
    if (!r.ok) {
      confirm = undefined;
      extra.errorSummary = r.failure?.message;
      const lines = failureLines(r.failure);
      for (const g of r.errors) {
        lines.push('', style.red(`✖ ${g.title} (${g.count})`), `  ${style.bold('fix:')} ${g.fix}`);
        for (const e of g.examples.slice(0, 3)) lines.push(`  - ${e.error}${e.command ? `\n    Command was: ${e.command}` : ''}`);
      }
      return { ok: false, cancelled: r.cancelled, summary: lines };
    }
    const summary = [`restored ${r.toc?.entries.length ?? 0} entries into "${args.database}" with no errors`];
    if (args.analyze !== false) {
      const vacuumdb = await locateTool('vacuumdb', binOpts).catch(() => undefined);
      if (vacuumdb) {
        io.line('');
        const a = await analyze({ target: side, vacuumdb: vacuumdb.path, jobs: args.jobs ?? cfg.jobs, signal: io.signal, onCommand: io.command, onLine: io.line });
        summary.push(a.ok ? 'ANALYZE done: planner statistics are fresh' : `ANALYZE failed: ${a.failure?.message ?? ''}`);
      }
    }
    return { ok: true, summary };
  });
}

async function createDatabaseCommand(ctx: StepCtx, arg?: ExplorerNode | CreateDatabaseArgs): Promise<StepCommandResult | undefined> {
  let args: CreateDatabaseArgs;
  if (arg && !isNode(arg)) {
    args = arg;
  } else {
    const p = profileOf(arg) ?? (await pickConnection(ctx, 'target', t('Create the database on which connection?')));
    const sources = ctx.store.list('source');
    let like: { connectionId: string; database: string } | undefined;
    if (sources.length) {
      const pick = await vscode.window.showQuickPick(
        [{ label: t('Server defaults'), description: t('no source to copy encoding and locale from'), id: '' }, ...sources.map((s) => ({ label: t('Like {0}', `${s.name}/${s.database}`), description: t('same encoding, LC_COLLATE and LC_CTYPE'), id: s.id }))],
        { title: t('Create Database'), placeHolder: t('Copy encoding and locale from a source database?'), ignoreFocusOut: true },
      );
      if (!pick) return undefined;
      if (pick.id) {
        const s = profile(ctx, pick.id);
        like = { connectionId: s.id, database: await ask(t('Source database to copy encoding and locale from'), s.database) };
      }
    }
    const name = await ask(t('Name of the new database'), like?.database ?? '', (v) => (v.trim() === '' ? t('Enter a name.') : Buffer.byteLength(v, 'utf8') > 63 ? t('PostgreSQL names are at most 63 bytes.') : undefined));
    let extras = new Set<string>();
    if (like) {
      extras = await pickFlags(t('Also prepare what the dump needs but does not carry'), [
        { id: 'roles', label: t('Create missing roles'), detail: t('roles that own objects or hold grants on the source, created NOLOGIN without passwords'), picked: false },
        { id: 'extensions', label: t('Create the source\'s extensions'), detail: t('CREATE EXTENSION IF NOT EXISTS for each one the target offers'), picked: false },
      ]);
    }
    args = { connectionId: p.id, name, ...(like ? { likeConnectionId: like.connectionId, likeDatabase: like.database, createRoles: extras.has('roles'), createExtensions: extras.has('extensions') } : {}) };
  }
  const p = profile(ctx, args.connectionId);
  const title = t('Create database {0}', `${p.name}/${args.name}`);
  return runRecorded(ctx, title, { step: 'create-database', title, target: `${p.name}/${args.name}`, rerun: { command: 'hydraMigrate.createDatabase', args: { ...args } } }, async (io, _c, extra) => {
    let locale;
    if (args.likeConnectionId) {
      const s = profile(ctx, args.likeConnectionId);
      locale = await readDatabaseLocale(await sideOf(ctx, s, args.likeDatabase ?? s.database));
      io.line(`source ${s.name}/${args.likeDatabase ?? s.database}: ${locale.encoding}, LC_COLLATE ${locale.collate}, LC_CTYPE ${locale.ctype}`);
    }
    const r = await createDatabase(await sideOf(ctx, p, 'postgres'), args.name, locale, args.owner ? { owner: args.owner } : {});
    io.command(r.sql);
    ctx.explorer.refresh({ kind: 'connection', profile: p });
    if (!r.ok) {
      extra.errorSummary = r.failure?.message;
      return { ok: false, summary: failureLines(r.failure) };
    }
    const summary = [`created "${args.name}"`];
    if (args.likeConnectionId && (args.createRoles || args.createExtensions)) {
      const s = profile(ctx, args.likeConnectionId);
      const prepared = await prepareTarget(await sideOf(ctx, s, args.likeDatabase ?? s.database), await sideOf(ctx, p, args.name), { roles: !!args.createRoles, extensions: !!args.createExtensions });
      for (const c of prepared.created) io.line(style.green(`created ${c}`));
      for (const k of prepared.skipped) io.line(style.yellow(`skipped ${k}`));
      for (const f of prepared.failures) io.line(style.red(`failed: ${f}`));
      summary.push(`${prepared.created.length} role(s)/extension(s) created, ${prepared.skipped.length} skipped, ${prepared.failures.length} failed`);
      if (prepared.failures.length) {
        extra.errorSummary = prepared.failures[0];
        return { ok: false, summary };
      }
    }
    return { ok: true, summary };
  });
}

async function pairArgs(ctx: StepCtx, arg: ExplorerNode | PairArgs | undefined): Promise<PairArgs> {
  if (arg && !isNode(arg)) return arg;
  const src = profileOf(arg) ?? (await pickConnection(ctx, 'source', t('Migrate from which source connection?')));
  const sourceDatabase = databaseOf(arg) ?? src.database;
  const tgt = await pickConnection(ctx, 'target', t('Migrate "{0}" to which target connection?', sourceDatabase));
  const targetDatabase = await ask(t('Target database name (created when missing; must be empty)'), sourceDatabase);
  return { sourceConnectionId: src.id, sourceDatabase, targetConnectionId: tgt.id, targetDatabase };
}

function preflightLines(report: PreflightReport): string[] {
  const icon = { ok: style.green('✔'), warning: style.yellow('!'), blocker: style.red('✖'), unknown: '?' } as const;
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${icon[c.status]} ${style.bold(c.title)}: ${c.detail}`);
    if (c.fix && c.status !== 'ok') lines.push(`    ${style.bold('fix:')} ${c.fix}`);
  }
  return lines;
}

async function preflightCommand(ctx: StepCtx, arg?: ExplorerNode | PairArgs): Promise<(StepCommandResult & { report?: PreflightReport }) | undefined> {
  const args = await pairArgs(ctx, arg);
  const s = profile(ctx, args.sourceConnectionId);
  const tg = profile(ctx, args.targetConnectionId);
  const sourceDb = args.sourceDatabase ?? s.database;
  const targetDb = args.targetDatabase ?? sourceDb;
  const title = t('Readiness checks {0} → {1}', `${s.name}/${sourceDb}`, `${tg.name}/${targetDb}`);
  let report: PreflightReport | undefined;
  const cfg = settings();
  const result = await runRecorded(ctx, title, { step: 'preflight', title, source: `${s.name}/${sourceDb}`, target: `${tg.name}/${targetDb}`, rerun: { command: 'hydraMigrate.preflight', args: { ...args } } }, async (io, _c, extra) => {
    report = await preflight({
      source: await sideOf(ctx, s, sourceDb), target: await sideOf(ctx, tg, targetDb), ...toolOptions(cfg),
      ...(args.noOwner ? { noOwner: true } : {}), ...(args.noAcl ? { noAcl: true } : {}), ...(args.noTableAccessMethod ? { noTableAccessMethod: true } : {}),
      ...(args.confirmNonEmpty ? { confirmNonEmptyDatabase: args.confirmNonEmpty } : {}),
    });
    for (const l of preflightLines(report)) io.line(l);
    const blockers = report.checks.filter((c) => c.status === 'blocker');
    if (!report.ready) extra.errorSummary = blockers.map((b) => b.title).join('; ') || 'a server could not be reached';
    return report.ready
      ? { ok: true, summary: [t('Ready to migrate.')] }
      : { ok: false, summary: [t('Not ready: {0} blocking problem(s). Fix them and run the checks again.', blockers.length)] };
  });
  if (report && (isNode(arg) || arg === undefined)) void showChecklist(report);
  return report ? { ...result, report } : result;
}

/** The readiness checks as a list: one item per check with its status icon, detail and fix. */
async function showChecklist(report: PreflightReport): Promise<void> {
  const icon = { ok: '$(pass)', warning: '$(warning)', blocker: '$(error)', unknown: '$(question)' } as const;
  const items = report.checks.map((c) => ({ label: `${icon[c.status]} ${c.title}`, description: c.status === 'ok' ? '' : c.status, detail: c.fix && c.status !== 'ok' ? `${c.detail} — Fix: ${c.fix}` : c.detail }));
  const blockers = report.checks.filter((c) => c.status === 'blocker').length;
  await vscode.window.showQuickPick(items, { title: report.ready ? t('Ready to migrate') : t('Not ready: {0} blocking problem(s)', blockers), placeHolder: t('Readiness checks (Escape to close)'), matchOnDetail: true });
}

interface OpenStep {
  line: (text: string) => void;
  progress: (p: StepProgress) => void;
  /** Ends the step with its outcome; resolves when the run is recorded. */
  finish: (outcome: StepOutcome, extra?: Partial<RunRecord>) => Promise<StepCommandResult>;
}

/** A step terminal whose work is driven from outside (the steps of Migrate Database…). */
function openStep(ctx: StepCtx, title: string, record: Omit<RunRecord, 'id' | 'startedAt' | 'endedAt' | 'exitCode' | 'ok' | 'commands'>, onCancel: () => void): OpenStep {
  let resolveIo!: (io: StepIo) => void;
  let resolveOutcome!: (o: StepOutcome) => void;
  const ioReady = new Promise<StepIo>((r) => (resolveIo = r));
  const outcome = new Promise<StepOutcome>((r) => (resolveOutcome = r));
  let extraOut: Partial<RunRecord> = {};
  let chain: Promise<unknown> = ioReady;
  const done = runRecorded(ctx, title, record, async (io, _commands, extra) => {
    io.signal.addEventListener('abort', onCancel, { once: true });
    resolveIo(io);
    const o = await outcome;
    Object.assign(extra, extraOut);
    return o;
  });
  const later = (fn: (io: StepIo) => void): void => {
    chain = chain.then(async () => fn(await ioReady));
  };
  return {
    line: (text) => later((io) => io.line(text)),
    progress: (p) => later((io) => io.progress(p)),
    finish: async (o, extra = {}) => {
      extraOut = extra;
      await chain;
      resolveOutcome(o);
      return done;
    },
  };
}

async function validateCommand(ctx: StepCtx, arg?: ExplorerNode | ValidationArgs | RunRecord): Promise<{ report: ValidationReport | undefined; rendered?: ValidationPanel['lastRendered'] } | undefined> {
  let args: ValidationArgs;
  if (arg && 'rerun' in arg && arg.rerun?.command === 'hydraMigrate.migrateDatabase') {
    // A migration run in the Runs view: validate the pair it migrated.
    const m = arg.rerun.args as unknown as MigrateArgs;
    const sourceDatabase = m.sourceDatabase ?? profile(ctx, m.sourceConnectionId).database;
    args = { sourceConnectionId: m.sourceConnectionId, sourceDatabase, targetConnectionId: m.targetConnectionId, targetDatabase: m.targetDatabase ?? sourceDatabase };
  } else if (arg && !isNode(arg) && 'sourceConnectionId' in arg) {
    args = arg;
  } else {
    if (arg && !isNode(arg)) return undefined;
    const pair = await pairArgs(ctx, arg);
    const checksums = await vscode.window.showQuickPick([{ label: t('Exact row counts'), id: false }, { label: t('Exact row counts and content checksums'), description: t('slower: reads every row'), id: true }], { placeHolder: t('How thorough?'), ignoreFocusOut: true });
    if (!checksums) return undefined;
    args = { sourceConnectionId: pair.sourceConnectionId, sourceDatabase: pair.sourceDatabase ?? profile(ctx, pair.sourceConnectionId).database, targetConnectionId: pair.targetConnectionId, targetDatabase: pair.targetDatabase ?? profile(ctx, pair.targetConnectionId).database, checksums: checksums.id };
  }
  const { panel, report } = await ValidationPanel.show({ extensionUri: ctx.extensionUri, store: ctx.store, log: ctx.log }, args);
  return { report, ...(panel.lastRendered ? { rendered: panel.lastRendered } : {}) };
}

async function migrateCommand(ctx: StepCtx, arg?: ExplorerNode | MigrateArgs): Promise<{ ok: boolean; failedStep?: MigrateStepName; steps: StepCommandResult[]; validation?: ValidationReport } | undefined> {
  const args: MigrateArgs = await pairArgs(ctx, arg);
  if (!arg || isNode(arg)) {
    const flags = await pickFlags(t('Migration options'), [
      { id: 'noOwner', label: '--no-owner', detail: t('objects belong to the restoring user (roles usually differ between servers)'), picked: true },
      { id: 'noAcl', label: '--no-acl', detail: t('skip GRANTs'), picked: true },
      { id: 'noTableAccessMethod', label: '--no-table-access-method', detail: t('create columnar tables as heap (only if the target cannot have columnar)'), picked: false },
    ]);
    args.noOwner = flags.has('noOwner');
    args.noAcl = flags.has('noAcl');
    args.noTableAccessMethod = flags.has('noTableAccessMethod');
  }
  const s = profile(ctx, args.sourceConnectionId);
  const tg = profile(ctx, args.targetConnectionId);
  const sourceDb = args.sourceDatabase ?? s.database;
  const targetDb = args.targetDatabase ?? sourceDb;
  const cfg = settings();
  const format = args.format ?? 'directory';
  const dumpPath = args.dumpPath ?? join(defaultDumpFolder(), `${safeFileName(sourceDb)}-${timestamp()}${format === 'custom' ? '.dump' : '.dir'}`);
  await vscode.workspace.fs.createDirectory(vscode.Uri.file(join(dumpPath, '..')));
  const titles: Record<MigrateStepName, string> = {
    preflight: t('Migrate 1/5: readiness checks'), dump: t('Migrate 2/5: dump {0}', sourceDb), 'create-database': t('Migrate 3/5: create database {0}', targetDb),
    restore: t('Migrate 4/5: restore into {0}', targetDb), analyze: t('Migrate 5/5: analyze {0}', targetDb),
  };
  const controller = new AbortController();
  const finished: Array<Promise<StepCommandResult>> = [];
  let current: OpenStep | undefined;
  const open = (step: MigrateStepName): OpenStep => {
    current = openStep(ctx, titles[step], {
      step, title: titles[step], source: `${s.name}/${sourceDb}`, target: `${tg.name}/${targetDb}`, archivePath: dumpPath,
      rerun: { command: 'hydraMigrate.migrateDatabase', args: { ...args, dumpPath: undefined } },
    }, () => controller.abort());
    return current;
  };
  const result = await migrate({
    source: await sideOf(ctx, s, sourceDb), target: await sideOf(ctx, tg, targetDb), dumpPath, format, jobs: args.jobs ?? cfg.jobs,
    ...(args.noOwner ? { noOwner: true } : {}), ...(args.noAcl ? { noAcl: true } : {}), ...(args.noTableAccessMethod ? { noTableAccessMethod: true } : {}),
    ...(args.confirmNonEmpty ? { confirmNonEmptyDatabase: args.confirmNonEmpty } : {}),
    ...toolOptions(cfg),
    signal: controller.signal,
    onStep: (step, state, record) => {
      if (state === 'start') {
        open(step);
        return;
      }
      if (!record) return;
      const session = current ?? open(step);
      current = undefined;
      if (record.command) session.line(`${style.cyan('$')} ${style.bold(record.command)}`);
      const summary = [...(record.detail ? [record.detail] : []), ...failureLines(record.failure)];
      const extra: Partial<RunRecord> = {};
      if (record.failure) extra.errorSummary = record.failure.message;
      if (record.archive) extra.sha256 = record.archive.sha256;
      finished.push(session.finish({ ok: record.ok || !!record.skipped, summary, cancelled: record.failure?.problem === 'cancelled' }, extra));
    },
    onPreflight: (report) => {
      for (const l of preflightLines(report)) current?.line(l);
    },
    onLine: (_step, line) => current?.line(line),
    onProgress: (_step, p) => current?.progress(p),
  });
  const steps = await Promise.all(finished);
  ctx.explorer.refresh({ kind: 'connection', profile: tg });
  let validation: ValidationReport | undefined;
  if (result.ok) {
    void vscode.window.showInformationMessage(t('Migrated {0} to {1} in {2} s. Validating…', `${s.name}/${sourceDb}`, `${tg.name}/${targetDb}`, (result.durationMs / 1000).toFixed(1)));
    validation = (await validateCommand(ctx, { sourceConnectionId: s.id, sourceDatabase: sourceDb, targetConnectionId: tg.id, targetDatabase: targetDb }))?.report;
  }
  return { ok: result.ok && (validation?.ok ?? false), ...(result.failedStep ? { failedStep: result.failedStep } : {}), steps, ...(validation ? { validation } : {}) };
}

export interface TransferArgs { archive: string; host: string; user: string; port?: number; remoteDir: string; identityFile?: string; tool?: 'rsync' | 'scp' }

async function transferCommand(ctx: StepCtx, arg?: TransferArgs | vscode.Uri | RunRecord): Promise<StepCommandResult | undefined> {
  let args: TransferArgs;
  if (arg && 'host' in arg) {
    args = arg;
  } else {
    let archive = arg instanceof vscode.Uri ? arg.fsPath : arg && 'archivePath' in arg ? arg.archivePath : undefined;
    if (!archive) {
      const picked = await vscode.window.showOpenDialog({ title: t('Choose the archive to transfer'), canSelectFiles: true, canSelectFolders: true, canSelectMany: false, defaultUri: vscode.Uri.file(defaultDumpFolder()) });
      if (!picked?.[0]) return undefined;
      archive = picked[0].fsPath;
    }
    const dest = await ask(t('Copy to (user@host or user@host:port)'), '', (v) => (/^[^@\s]+@[^:\s]+(:\d{1,5})?$/.test(v.trim()) ? undefined : t('Write it as user@host or user@host:port.')));
    const m = /^([^@]+)@([^:]+)(?::(\d+))?$/.exec(dest)!;
    const remoteDir = await ask(t('Remote folder (created when missing)'), '/var/tmp/hydra-migrate');
    const key = await vscode.window.showQuickPick([{ label: t('Use my ssh agent / default keys'), id: '' }, { label: t('Choose an identity file…'), id: 'pick' }], { placeHolder: t('ssh key'), ignoreFocusOut: true });
    if (!key) return undefined;
    let identityFile: string | undefined;
    if (key.id === 'pick') {
      const picked = await vscode.window.showOpenDialog({ title: t('Private key file'), canSelectMany: false, defaultUri: vscode.Uri.file(join(homedir(), '.ssh')) });
      if (!picked?.[0]) return undefined;
      identityFile = picked[0].fsPath;
    }
    const tool = await vscode.window.showQuickPick([{ label: 'rsync', description: t('resumes interrupted copies'), id: 'rsync' as const }, { label: 'scp', description: t('when rsync is missing on the far side'), id: 'scp' as const }], { ignoreFocusOut: true });
    if (!tool) return undefined;
    args = { archive, user: m[1]!, host: m[2]!, remoteDir, tool: tool.id, ...(m[3] ? { port: Number(m[3]) } : {}), ...(identityFile ? { identityFile } : {}) };
  }
  const title = t('Transfer {0} to {1}', basename(args.archive), `${args.user}@${args.host}`);
  return runRecorded(ctx, title, { step: 'transfer', title, target: `${args.user}@${args.host}:${args.remoteDir}`, archivePath: args.archive, rerun: { command: 'hydraMigrate.transferDump', args: { ...args } } }, async (io, _c, extra) => {
    const r = await transfer({ ...args, signal: io.signal, onCommand: io.command, onLine: io.line, onProgress: io.progress });
    if (!r.ok) extra.errorSummary = r.failure?.message;
    return r.ok
      ? { ok: true, summary: [`copied to ${r.remotePath}`, r.verifyNote ?? ''] }
      : { ok: false, cancelled: r.cancelled, summary: failureLines(r.failure) };
  });
}

export const STEP_COMMANDS = {
  'hydraMigrate.validateMigration': validateCommand,
  'hydraMigrate.transferDump': transferCommand,
  'hydraMigrate.preflight': preflightCommand,
  'hydraMigrate.dumpDatabase': dumpCommand,
  'hydraMigrate.createDatabase': createDatabaseCommand,
  'hydraMigrate.restoreDump': restoreCommand,
  'hydraMigrate.migrateDatabase': migrateCommand,
} as const;


