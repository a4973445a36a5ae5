/**
 * The connection commands: add (URI or step by step), test, edit, rename, duplicate, remove,
 * move, copy the URI without the password, set the password, open psql.
 */
import { toServiceFile, type ImportSource } from '../core/importConnections.js';
import { importConnections } from './importCommands.js';
import * as vscode from 'vscode';
import {
  describeTarget,
  formatConnectionUri,
  libpqEnvironment,
  parseConnectionString,
  validateTarget,
  type ConnectionProfile,
  type ConnectionRole,
  type ConnectionTarget,
} from '../core/connection.js';
import { testConnection, type TestConnectionResult } from '../core/pg.js';
import { locateTool } from '../core/pgbin.js';
import { pickRole, promptDetails, promptName, promptUri } from './connectionForm.js';
import { UserError } from './errors.js';
import { databaseOf, profileOf, type ExplorerNode } from './explorer.js';
import type { Ctx } from './ctx.js';
import { settings, toolOptions } from './settings.js';

const t = vscode.l10n.t;

/** Options for adding a connection without prompts (automation, tests, walkthroughs). */
export interface AddConnectionArgs {
  uri?: string;
  role?: ConnectionRole;
  name?: string;
  password?: string;
  /** Test the connection after saving (default true). */
  test?: boolean;
}

export type ConnectionArg = ExplorerNode | { id: string } | string | undefined;

export async function resolveConnection(ctx: Ctx, arg: ConnectionArg, placeHolder: string): Promise<ConnectionProfile | undefined> {
  if (typeof arg === 'string') return ctx.store.get(arg) ?? raise(t('No connection with id {0}.', arg));
  if (arg && 'kind' in arg) {
    const p = profileOf(arg);
    return p ? (ctx.store.get(p.id) ?? p) : undefined;
  }
  if (arg && 'id' in arg) return ctx.store.get(arg.id) ?? raise(t('No connection with id {0}.', arg.id));
  const selected = ctx.view.selection[0];
  const fromSelection = profileOf(selected);
  const all = ctx.store.list();
  if (all.length === 0) {
    void vscode.window.showInformationMessage(t('There are no connections yet.'), t('Add Connection')).then((a) => {
      if (a) void vscode.commands.executeCommand('hydraMigrate.addConnection');
    });
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    all.map((p) => ({ label: p.name, description: `${p.role} · ${describeTarget(p)}`, profile: p, picked: p.id === fromSelection?.id })),
    { placeHolder, ignoreFocusOut: true },
  );
  return picked?.profile;
}

export function raise(message: string): never {
  throw new UserError(message);
}

function isAddArgs(arg: unknown): arg is AddConnectionArgs {
  return !!arg && typeof arg === 'object' && !('kind' in arg) && ('uri' in arg || 'role' in arg);
}

export async function addConnection(
  ctx: Ctx,
  arg?: AddConnectionArgs | ExplorerNode,
  fixedRole?: ConnectionRole,
): Promise<string | undefined> {
  const options: AddConnectionArgs = isAddArgs(arg) ? arg : {};
  const nodeRole = arg && 'kind' in arg && arg.kind === 'group' ? arg.role : undefined;
  let role = options.role ?? fixedRole ?? nodeRole;
  let target: ConnectionTarget;
  let password: string | undefined;
  let ignored: string[] = [];
  const title = role === 'target' ? t('Add Target Connection') : role === 'source' ? t('Add Source Connection') : t('Add Connection');

  if (options.uri !== undefined) {
    const parsed = parseConnectionString(options.uri);
    target = parsed.target;
    password = options.password ?? parsed.password;
    ignored = parsed.ignored;
  } else {
    const how = await vscode.window.showQuickPick(
      [
        { label: '$(link) ' + t('Paste a connection URI'), description: 'postgresql://user@host:5432/db', id: 'uri' },
        {
          label: '$(list-flat) ' + t('Enter the details step by step'),
          description: t('host, port, database, user, password, SSL'),
          id: 'form',
        },
      ],
      { title, placeHolder: t('How do you want to add the connection?'), ignoreFocusOut: true },
    );
    if (!how) return undefined;
    if (how.id === 'uri') {
      const parsed = await promptUri(title);
      if (!parsed) return undefined;
      target = parsed.target;
      password = parsed.password;
      ignored = parsed.ignored;
      if (password === undefined) {
        const typed = await vscode.window.showInputBox({
          title,
          prompt: t('Password for {0} (stored in the system keychain; leave empty if the server needs none)', target.user),
          password: true,
          ignoreFocusOut: true,
        });
        if (typed === undefined) return undefined;
        if (typed !== '') password = typed;
      }
    } else {
      const form = await promptDetails(title, {}, 'new');
      if (!form) return undefined;
      target = form.target;
      password = form.password;
    }
  }
  if (!role) {
    role = await pickRole();
    if (!role) return undefined;
  }
  // Two servers on one host differ by their port: the name says it when it is not the default.
  const defaultName = ctx.store.uniqueName(
    options.name ?? `${target.database} @ ${target.host}${target.port !== 5432 ? `:${target.port}` : ''}`,
  );
  const name =
    options.name !== undefined || options.uri !== undefined
      ? defaultName
      : await promptName(defaultName, (v) =>
          ctx.store.list().some((c) => c.name === v) ? t('A connection named "{0}" exists already.', v) : undefined,
        );
  if (!name) return undefined;
  const profile = await ctx.store.add({ ...target, name, role }, password);
  if (ignored.length > 0) {
    ctx.log.info(`Connection "${name}": parameters not kept: ${ignored.join(', ')}.`);
  }
  const node: ExplorerNode = { kind: 'connection', profile };
  void ctx.view.reveal(node, { select: true, focus: false, expand: false }).then(undefined, () => undefined);
  if (options.test !== false) await runTest(ctx, profile, { quietSuccess: false });
  return profile.id;
}

export async function runTest(ctx: Ctx, profile: ConnectionProfile, opts: { quietSuccess: boolean }): Promise<TestConnectionResult> {
  const cfg = settings();
  const credentials = await ctx.store.credentials(profile);
  if (credentials.problem) {
    void vscode.window.showErrorMessage(credentials.problem);
    const failed: TestConnectionResult = {
      ok: false,
      elapsedMs: 0,
      error: {
        problem: 'auth_failed',
        message: credentials.problem,
        hint: 'Fix the password file, or store the password (Edit Connection).',
        detail: credentials.passfile ?? '',
      },
    };
    return failed;
  }
  const password = credentials.password;
  const result = await vscode.window.withProgress(
    { location: { viewId: 'hydraMigrate.connections' }, title: t('Testing {0}…', profile.name) },
    () => testConnection(profile, { password, connectTimeoutSeconds: cfg.connectTimeoutSeconds }),
  );
  if (result.ok) {
    const i = result.info;
    const ssl = i.ssl ? t('on') + (i.sslVersion ? ` (${i.sslVersion})` : '') : t('off');
    // The facts a toast may cut stay in the connection's tooltip.
    ctx.explorer.setStatus(profile.id, {
      state: 'ok',
      serverVersion: i.serverVersion,
      tested: { user: i.currentUser, superuser: i.superuser, ssl, ms: Math.round(result.elapsedMs), at: new Date().toLocaleTimeString() },
    });
    const text = t(
      'Connected to "{0}": PostgreSQL {1}, user {2}{3}, SSL {4}, {5} ms.',
      profile.name,
      i.serverVersion,
      i.currentUser,
      i.superuser ? t(' (superuser)') : t(' (not superuser)'),
      ssl,
      Math.round(result.elapsedMs),
    );
    ctx.log.info(text);
    if (!opts.quietSuccess) void vscode.window.showInformationMessage(text);
  } else {
    ctx.explorer.setStatus(profile.id, { state: 'error', message: result.error.message });
    ctx.log.error(`Test of "${profile.name}" failed [${result.error.problem}]: ${result.error.detail}`);
    void vscode.window
      .showErrorMessage(`${result.error.message} ${result.error.hint}`, t('Edit Connection'), t('Show Log'))
      .then((action) => {
        if (action === t('Edit Connection')) void editConnection(ctx, { id: profile.id }).catch((e: unknown) => ctx.log.error(String(e)));
        if (action === t('Show Log')) ctx.log.show();
      });
  }
  ctx.explorer.refresh({ kind: 'group', role: profile.role });
  return result;
}

export async function editConnection(
  ctx: Ctx,
  arg?: ConnectionArg,
  changes?: { target?: Partial<ConnectionTarget>; password?: string | null },
): Promise<boolean> {
  // Programmatic form: editConnection({id}, {target: {...}, password})
  const profile = await resolveConnection(ctx, arg, t('Choose the connection to edit'));
  if (!profile) return false;
  let target: ConnectionTarget;
  let password: string | null | undefined;
  if (changes) {
    target = { ...pickTarget(profile), ...changes.target };
    password = changes.password;
  } else {
    const how = await vscode.window.showQuickPick(
      [
        { label: '$(list-flat) ' + t('Edit the details step by step'), id: 'form' },
        { label: '$(link) ' + t('Replace with a connection URI'), id: 'uri' },
      ],
      { title: t('Edit "{0}"', profile.name), ignoreFocusOut: true },
    );
    if (!how) return false;
    if (how.id === 'uri') {
      const parsed = await promptUri(t('Edit "{0}"', profile.name));
      if (!parsed) return false;
      target = parsed.target;
      password = parsed.password;
    } else {
      const form = await promptDetails(t('Edit "{0}"', profile.name), profile, 'edit');
      if (!form) return false;
      target = form.target;
      password = form.password;
    }
  }
  const problems = validateTarget(target);
  if (problems.length > 0) raise(problems.join(' '));
  const updated: ConnectionProfile = { id: profile.id, name: profile.name, role: profile.role, ...target };
  if (!target.sslrootcert) delete updated.sslrootcert;
  await ctx.store.update(updated, password);
  await ctx.explorer.reset(profile.id);
  return true;
}

function pickTarget(p: ConnectionProfile): ConnectionTarget {
  const target: ConnectionTarget = { host: p.host, port: p.port, database: p.database, user: p.user, sslmode: p.sslmode };
  if (p.sslrootcert) target.sslrootcert = p.sslrootcert;
  return target;
}

export async function openPsql(ctx: Ctx, arg?: ConnectionArg): Promise<string | undefined> {
  const profile = await resolveConnection(ctx, arg, t('Open psql on which connection?'));
  if (!profile) return undefined;
  const database = (arg && typeof arg === 'object' && 'kind' in arg ? databaseOf(arg) : undefined) ?? profile.database;
  const cfg = settings();
  const psql = await locateTool('psql', toolOptions(cfg));
  const credentials = await ctx.store.credentials(profile);
  if (credentials.problem) throw new Error(credentials.problem);
  // A password from the password file stays there: psql reads PGPASSFILE itself.
  const password = credentials.from === 'pgpass' ? undefined : credentials.password;
  const env: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(
    libpqEnvironment(profile, password, {
      database,
      connectTimeoutSeconds: cfg.connectTimeoutSeconds,
      applicationName: 'hydra-migrate psql',
    }),
  )) {
    env[k] = v ?? null;
  }
  if (credentials.from === 'pgpass' && credentials.passfile) env.PGPASSFILE = credentials.passfile;
  const name = `psql: ${profile.name}/${database}`;
  const terminal = vscode.window.createTerminal({
    name,
    shellPath: psql.path,
    shellArgs: [],
    env,
    iconPath: new vscode.ThemeIcon('terminal'),
    // Not revived after a reload: a revived terminal would not get the password again.
    isTransient: true,
  });
  terminal.show();
  ctx.log.info(`Opened psql ${psql.version} (${psql.path}) on ${describeTarget(profile, database)}.`);
  return name;
}

export async function removeConnection(ctx: Ctx, arg?: ConnectionArg, opts?: { skipConfirmation?: boolean }): Promise<boolean> {
  const profile = await resolveConnection(ctx, arg, t('Choose the connection to remove'));
  if (!profile) return false;
  if (!opts?.skipConfirmation) {
    const answer = await vscode.window.showWarningMessage(
      t('Remove the connection "{0}"?', profile.name),
      { modal: true, detail: t('Its stored password is deleted from the keychain too. Databases on the server are not touched.') },
      t('Remove'),
    );
    if (answer !== t('Remove')) return false;
  }
  await ctx.store.remove(profile.id);
  await ctx.explorer.reset(profile.id);
  return true;
}

export async function renameConnection(ctx: Ctx, arg?: ConnectionArg, newName?: string): Promise<boolean> {
  const profile = await resolveConnection(ctx, arg, t('Choose the connection to rename'));
  if (!profile) return false;
  const taken = (v: string) =>
    ctx.store.list().some((c) => c.name === v && c.id !== profile.id) ? t('A connection named "{0}" exists already.', v) : undefined;
  const name = newName?.trim() ?? (await promptName(profile.name, taken));
  if (!name) return false;
  const problem = taken(name);
  if (problem) raise(problem);
  await ctx.store.update({ ...profile, name });
  return true;
}

export async function duplicateConnection(ctx: Ctx, arg?: ConnectionArg): Promise<string | undefined> {
  const profile = await resolveConnection(ctx, arg, t('Choose the connection to duplicate'));
  if (!profile) return undefined;
  const password = await ctx.store.getPassword(profile.id);
  const { id: _id, ...rest } = profile;
  const copy = await ctx.store.add({ ...rest, name: ctx.store.uniqueName(t('{0} (copy)', profile.name)) }, password);
  return copy.id;
}

export async function moveConnection(ctx: Ctx, arg: ConnectionArg, role: ConnectionRole): Promise<boolean> {
  const profile = await resolveConnection(
    ctx,
    arg,
    role === 'source' ? t('Choose the connection to make a source') : t('Choose the connection to make a target'),
  );
  if (!profile || profile.role === role) return false;
  await ctx.store.update({ ...profile, role });
  ctx.explorer.refresh();
  return true;
}

export async function copyUri(ctx: Ctx, arg?: ConnectionArg): Promise<string | undefined> {
  const profile = await resolveConnection(ctx, arg, t('Copy the URI of which connection?'));
  if (!profile) return undefined;
  const database = arg && typeof arg === 'object' && 'kind' in arg ? databaseOf(arg) : undefined;
  const uri = formatConnectionUri(profile, database ?? profile.database);
  await vscode.env.clipboard.writeText(uri);
  void vscode.window.showInformationMessage(t('Copied {0} (without password).', uri));
  return uri;
}

export async function setPassword(ctx: Ctx, arg?: ConnectionArg, password?: string): Promise<boolean> {
  const profile = await resolveConnection(ctx, arg, t('Set the password of which connection?'));
  if (!profile) return false;
  let value = password;
  if (value === undefined) {
    value = await vscode.window.showInputBox({
      title: t('Password for "{0}"', profile.name),
      prompt: t('Stored in the system keychain. Leave empty to remove the stored password.'),
      password: true,
      ignoreFocusOut: true,
    });
    if (value === undefined) return false;
  }
  await ctx.store.setPassword(profile.id, value);
  await ctx.explorer.reset(profile.id);
  return true;
}

/** The connection commands without prompts, for automation (the extension's exported API). Errors are thrown. */
export function connectionApi(ctx: Ctx) {
  const byId = (id: string) => ({ id });
  return {
    /** Adds a connection from a URI (the password, if any, moves to SecretStorage); resolves to its id. */
    add: async (args: AddConnectionArgs): Promise<string> => {
      const id = await addConnection(ctx, args);
      if (id === undefined) throw new Error('The connection was not added.');
      return id;
    },
    test: async (id: string) => runTest(ctx, (await resolveConnection(ctx, byId(id), ''))!, { quietSuccess: true }),
    edit: (id: string, changes: { target?: Partial<ConnectionTarget>; password?: string | null }) => editConnection(ctx, byId(id), changes),
    rename: (id: string, name: string) => renameConnection(ctx, byId(id), name),
    duplicate: (id: string) => duplicateConnection(ctx, byId(id)),
    remove: (id: string) => removeConnection(ctx, byId(id), { skipConfirmation: true }),
    copyUri: (id: string) => copyUri(ctx, byId(id)),
    move: (id: string, role: ConnectionRole) => moveConnection(ctx, byId(id), role),
    /** Imports the named candidates of a source (all when no names) with the role; the new ids. */
    import: (source: ImportSource, role: ConnectionRole, names?: string[]) => importConnections(ctx, source, role, names),
    /** The explorer's connections as pg_service.conf sections (the text the export command opens). */
    exportServiceFile: () => toServiceFile(ctx.store.list()),
    setPassword: (id: string, password: string) => setPassword(ctx, byId(id), password),
  };
}

export type ConnectionApi = ReturnType<typeof connectionApi>;
