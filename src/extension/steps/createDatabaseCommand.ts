/** Create Database…: like a source database (encoding, locale), optionally with its roles and extensions. */
import * as vscode from 'vscode';
import { ansi as style } from '../../core/present/style.js';
import { createDatabase, prepareTarget } from '../../core/createDatabase.js';
import { readDatabaseLocale } from '../../core/inspect.js';
import { profileOf, type ExplorerNode } from '../explorer.js';

import {
  ask,
  failureLines,
  pickConnection,
  pickFlags,
  profile,
  runRecorded,
  sideOf,
  type StepCommandResult,
  type StepCtx,
} from './stepCommand.js';
import type { CreateDatabaseArgs } from './args.js';

const t = vscode.l10n.t;

/** Asks what the step needs; undefined when the user dismissed a prompt. */
export async function promptCreateDatabase(ctx: StepCtx, arg?: ExplorerNode): Promise<CreateDatabaseArgs | undefined> {
  const p = profileOf(arg) ?? (await pickConnection(ctx, 'target', t('Create the database on which connection?')));
  const sources = ctx.store.list('source');
  let like: { connectionId: string; database: string } | undefined;
  if (sources.length) {
    const pick = await vscode.window.showQuickPick(
      [
        { label: t('Server defaults'), description: t('no source to copy encoding and locale from'), id: '' },
        ...sources.map((s) => ({
          label: t('Like {0}', `${s.name}/${s.database}`),
          description: t('same encoding, LC_COLLATE and LC_CTYPE'),
          id: s.id,
        })),
      ],
      { title: t('Create Database'), placeHolder: t('Copy encoding and locale from a source database?'), ignoreFocusOut: true },
    );
    if (!pick) return undefined;
    if (pick.id) {
      const s = profile(ctx, pick.id);
      like = { connectionId: s.id, database: await ask(t('Source database to copy encoding and locale from'), s.database) };
    }
  }
  const name = await ask(t('Name of the new database'), like?.database ?? '', (v) =>
    v.trim() === '' ? t('Enter a name.') : Buffer.byteLength(v, 'utf8') > 63 ? t('PostgreSQL names are at most 63 bytes.') : undefined,
  );
  let extras = new Set<string>();
  if (like) {
    extras = await pickFlags(t('Also prepare what the dump needs but does not carry'), [
      {
        id: 'roles',
        label: t('Create missing roles'),
        detail: t('roles that own objects or hold grants on the source, created NOLOGIN without passwords'),
        picked: false,
      },
      {
        id: 'extensions',
        label: t("Create the source's extensions"),
        detail: t('CREATE EXTENSION IF NOT EXISTS for each one the target offers'),
        picked: false,
      },
    ]);
  }
  return {
    connectionId: p.id,
    name,
    ...(like
      ? {
          likeConnectionId: like.connectionId,
          likeDatabase: like.database,
          createRoles: extras.has('roles'),
          createExtensions: extras.has('extensions'),
        }
      : {}),
  };
}

/** Runs the step with these arguments (after the prompts, from the API, on Re-run). */
export async function runCreateDatabase(ctx: StepCtx, args: CreateDatabaseArgs): Promise<StepCommandResult> {
  const p = profile(ctx, args.connectionId);
  const title = t('Create database {0}', `${p.name}/${args.name}`);
  return runRecorded(
    ctx,
    title,
    { step: 'create-database', title, target: `${p.name}/${args.name}`, rerun: { step: 'create-database', args: { ...args } } },
    async (io, _c, extra) => {
      let locale;
      if (args.likeConnectionId) {
        const s = profile(ctx, args.likeConnectionId);
        locale = await readDatabaseLocale(await sideOf(ctx, s, args.likeDatabase ?? s.database));
        io.line(
          `source ${s.name}/${args.likeDatabase ?? s.database}: ${locale.encoding}, LC_COLLATE ${locale.collate}, LC_CTYPE ${locale.ctype}`,
        );
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
        const prepared = await prepareTarget(await sideOf(ctx, s, args.likeDatabase ?? s.database), await sideOf(ctx, p, args.name), {
          roles: !!args.createRoles,
          extensions: !!args.createExtensions,
        });
        for (const c of prepared.created) io.line(style.green(`created ${c}`));
        for (const k of prepared.skipped) io.line(style.yellow(`skipped ${k}`));
        for (const f of prepared.failures) io.line(style.red(`failed: ${f}`));
        summary.push(
          `${prepared.created.length} role(s)/extension(s) created, ${prepared.skipped.length} skipped, ${prepared.failures.length} failed`,
        );
        if (prepared.failures.length) {
          extra.errorSummary = prepared.failures[0];
          return { ok: false, summary };
        }
      }
      return { ok: true, summary };
    },
  );
}

export async function createDatabaseCommand(ctx: StepCtx, arg?: ExplorerNode): Promise<StepCommandResult | undefined> {
  const args = await promptCreateDatabase(ctx, arg);
  return args ? runCreateDatabase(ctx, args) : undefined;
}
