/**
 * Import Connections… (from pg_service.conf, .pgpass, Microsoft's PostgreSQL extension, SQLTools)
 * and Export Connections as pg_service.conf. Never a password: none is read from another
 * extension (its settings or its secret store), .pgpass passwords stay in .pgpass (used from there,
 * as libpq does), the others are asked for on first use.
 */
import { existsSync, readFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { ConnectionRole } from '../core/connection.js';
import { describeTarget } from '../core/connection.js';
import {
  fromPgpass,
  fromPgsqlSettings,
  fromServiceFile,
  fromSqltoolsSettings,
  toServiceFile,
  type ImportCandidate,
  type ImportSource,
} from '../core/importConnections.js';
import { passwordFile, serviceFiles } from '../core/libpqFiles.js';
import type { Ctx } from './ctx.js';
import { Cancelled } from './errors.js';

const t = vscode.l10n.t;

/** What each source offers now (empty when it has nothing). */
export function importCandidates(source: ImportSource): { label: string; candidates: ImportCandidate[] } {
  switch (source) {
    case 'serviceFile': {
      const file = serviceFiles().find((f) => existsSync(f));
      return { label: file ?? 'pg_service.conf', candidates: file ? fromServiceFile(readFileSync(file, 'utf8')) : [] };
    }
    case 'pgpass': {
      const file = passwordFile();
      return { label: file, candidates: existsSync(file) ? fromPgpass(readFileSync(file, 'utf8')) : [] };
    }
    case 'pgsql':
      return {
        label: t("Microsoft's PostgreSQL extension (pgsql.connections)"),
        candidates: fromPgsqlSettings(setting('pgsql', 'connections')),
      };
    case 'sqltools':
      return { label: t('SQLTools (sqltools.connections)'), candidates: fromSqltoolsSettings(setting('sqltools', 'connections')) };
  }
}

function setting(section: string, key: string): unknown {
  // Only the user's and the workspace's values: what the other extension shows (no password is taken from them).
  const i = vscode.workspace.getConfiguration(section).inspect(key);
  return i?.workspaceValue ?? i?.globalValue;
}

/** Adds the chosen candidates with the role; skips the ones the explorer has already (same server, database, user, role). */
export async function importConnections(ctx: Ctx, source: ImportSource, role: ConnectionRole, names?: string[]): Promise<string[]> {
  const { candidates } = importCandidates(source);
  const chosen = candidates.filter((c) => !c.problem && (!names || names.includes(c.name)));
  const ids: string[] = [];
  for (const c of chosen) {
    const same = ctx.store
      .list(role)
      .find((p) => p.host === c.target.host && p.port === c.target.port && p.database === c.target.database && p.user === c.target.user);
    if (same) continue;
    const created = await ctx.store.add({ ...c.target, role, name: ctx.store.uniqueName(c.name) }, undefined);
    ids.push(created.id);
  }
  return ids;
}

export async function importConnectionsCommand(ctx: Ctx): Promise<string[] | undefined> {
  const sources: Array<{ source: ImportSource; label: string; description: string; count: number }> = (
    ['serviceFile', 'pgpass', 'pgsql', 'sqltools'] as const
  ).map((source) => {
    const { label, candidates } = importCandidates(source);
    return { source, label, description: t('{0} connection(s)', candidates.filter((c) => !c.problem).length), count: candidates.length };
  });
  const from = await vscode.window.showQuickPick(
    sources.filter((s) => s.count > 0),
    { title: t('Import Connections'), placeHolder: t('Import from where? (no password is imported)'), ignoreFocusOut: true },
  );
  if (!from) {
    if (!sources.some((s) => s.count > 0))
      void vscode.window.showInformationMessage(
        t(
          'Nothing to import: no pg_service.conf ({0}), no .pgpass, no saved connections of the PostgreSQL extension or SQLTools.',
          serviceFiles()[0]!,
        ),
      );
    return undefined;
  }
  const { candidates } = importCandidates(from.source);
  const picked = await vscode.window.showQuickPick(
    candidates.map((c) => ({
      label: c.name,
      description: c.problem ? t('not importable: {0}', c.problem) : describeTarget(c.target),
      picked: !c.problem,
      c,
    })),
    { title: t('Import Connections from {0}', from.label), canPickMany: true, ignoreFocusOut: true },
  );
  if (!picked?.length) throw new Cancelled();
  const role = await vscode.window.showQuickPick(
    [
      { label: t('Sources'), role: 'source' as const },
      { label: t('Targets'), role: 'target' as const },
    ],
    { title: t('Import {0} connection(s) as', picked.length), ignoreFocusOut: true },
  );
  if (!role) throw new Cancelled();
  const ids = await importConnections(
    ctx,
    from.source,
    role.role,
    picked.filter((p) => !p.c.problem).map((p) => p.c.name),
  );
  void vscode.window.showInformationMessage(
    t(
      'Imported {0} connection(s) ({1} already there). Passwords: from .pgpass where it has them, else asked on first use; none was read from another extension.',
      ids.length,
      picked.length - ids.length,
    ),
  );
  return ids;
}

/** The explorer's connections as pg_service.conf sections, in a new editor (nothing written to disk). */
export async function exportConnectionsCommand(ctx: Ctx): Promise<string> {
  const text = toServiceFile(ctx.store.list());
  const doc = await vscode.workspace.openTextDocument({ language: 'ini', content: text });
  await vscode.window.showTextDocument(doc);
  return text;
}
