/**
 * Before a restore asks for anything else: is the target database there and empty? When it is not
 * empty, the user decides, with the database's name typed (never a default): restore on top of it
 * anyway, or drop it and create it again empty. The drop happens only when the restore starts (a
 * prompt dismissed later loses nothing). Also the tree's Drop Database… on a target database.
 */
import * as vscode from 'vscode';
import type { ConnectionProfile } from '../../core/connection.js';
import { dropDatabase } from '../../core/dropDatabase.js';
import { inspectDatabase } from '../../core/inspect.js';
import { Cancelled } from '../errors.js';
import { databaseOf, profileOf, type ExplorerNode } from '../explorer.js';
import type { StepCtx } from './stepCommand.js';
import { sideOf } from './stepCommand.js';

const t = vscode.l10n.t;

/** What the user chose for a target that is not empty. */
export interface TargetChoice {
  /** Restore on top of what is there (the typed name). */
  confirmNonEmpty?: string;
  /** Drop the database and create it again empty before restoring (its typed name). */
  recreate?: string;
}

/** Asks for the exact name; resolves when it was typed, throws Cancelled otherwise. */
async function typeName(database: string, prompt: string): Promise<void> {
  const typed = await vscode.window.showInputBox({
    title: prompt,
    prompt: t('Type the database name to confirm'),
    placeHolder: database,
    ignoreFocusOut: true,
    validateInput: (v) => (v === database ? undefined : t('Type "{0}" exactly', database)),
  });
  if (typed !== database) throw new Cancelled();
}

/** Checks the restore's target first: missing → offers to create it; not empty → restore anyway or drop and recreate. */
export async function checkRestoreTarget(ctx: StepCtx, p: ConnectionProfile, database: string): Promise<TargetChoice> {
  const contents = await inspectDatabase(await sideOf(ctx, p, database));
  if (!contents.exists) {
    const create = t('Create Database…');
    const answer = await vscode.window.showErrorMessage(
      t('The database "{0}" does not exist on "{1}".', database, p.name),
      { modal: true, detail: t("Create it first (with the source's encoding and locale, from template0), then restore into it.") },
      create,
    );
    if (answer === create) void vscode.commands.executeCommand('hydraMigrate.createDatabase', { kind: 'connection', profile: p });
    throw new Cancelled();
  }
  if (contents.objects === 0 && contents.schemas === 0) return {};
  const anyway = t('Restore Anyway…');
  const recreate = t('Drop and Recreate…');
  const answer = await vscode.window.showWarningMessage(
    t('"{0}" on "{1}" is not empty', database, p.name),
    {
      modal: true,
      detail: [
        t('It holds {0} object(s) in {1} schema(s) of its own.', contents.objects, contents.schemas),
        t('Restoring on top fails on each object that exists already and duplicates the rows of tables without a primary key.'),
        '',
        t(
          'Drop and Recreate: drops "{0}" with all its data and creates it again empty (same encoding, locale and owner; its grants and ALTER DATABASE settings are not kept).',
          database,
        ),
        t('Restore Anyway: restores on top of what is there.'),
      ].join('\n'),
    },
    recreate,
    anyway,
  );
  if (answer === anyway) {
    await typeName(database, t('Restore on top of the contents of "{0}"', database));
    return { confirmNonEmpty: database };
  }
  if (answer === recreate) {
    await typeName(database, t('Drop "{0}" with all its data and create it again empty', database));
    return { recreate: database };
  }
  throw new Cancelled();
}

/** Drop Database… on a target database of the tree: the name typed, then DROP DATABASE … WITH (FORCE). */
export async function dropDatabaseCommand(ctx: StepCtx, node?: ExplorerNode): Promise<void> {
  const p = profileOf(node);
  const database = databaseOf(node);
  if (!p || !database) throw new Error(t('Right-click a database of a target connection to drop it.'));
  if (p.role !== 'target') throw new Error(t('Databases are dropped only on target connections: "{0}" is a source.', p.name));
  const go = t('Drop Database…');
  const answer = await vscode.window.showWarningMessage(
    t('Drop "{0}" on "{1}"?', database, p.name),
    {
      modal: true,
      detail: t('All of its data is removed, and the sessions connected to it are ended. This cannot be undone.'),
    },
    go,
  );
  if (answer !== go) return;
  await typeName(database, t('Drop "{0}" with all its data', database));
  const r = await dropDatabase(await sideOf(ctx, p, 'postgres'), database);
  if (!r.ok) throw new Error(`${r.failure.message} ${r.failure.hint}`);
  ctx.log.info(`Dropped ${p.name}/${database}: ${r.sql.join('; ')}`);
  ctx.explorer.refresh({ kind: 'connection', profile: p });
  void vscode.window.showInformationMessage(t('Dropped "{0}" on "{1}".', database, p.name));
}
